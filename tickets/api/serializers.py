from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from csplatform.api.strict import StrictSerializer
from csplatform.privacy import mask_phone
from csplatform.uploads import MAX_PER_MESSAGE
from orders.api.serializers import CustomerInputSerializer
from orders.choices import Channel
from tickets.choices import Priority, TicketKind, TicketStatus
from tickets.models import Attachment, Message, SlaClock, Ticket, TicketEvent
from tickets.transitions import allowed_next

# --- Input -----------------------------------------------------------------------------------


class TicketCreateInputSerializer(StrictSerializer):
    customer = CustomerInputSerializer()
    order_number = serializers.CharField(max_length=40, required=False, allow_blank=True)
    kind = serializers.ChoiceField(choices=TicketKind.choices)
    channel = serializers.ChoiceField(choices=Channel.choices)
    subject = serializers.CharField(max_length=200)
    body = serializers.CharField(max_length=20000)


class MessageInputSerializer(StrictSerializer):
    body = serializers.CharField(max_length=20000)
    internal = serializers.BooleanField(required=False, default=False)
    status = serializers.ChoiceField(
        choices=[
            (TicketStatus.PENDING, "pending"),
            (TicketStatus.ON_HOLD, "on_hold"),
            (TicketStatus.SOLVED, "solved"),
        ],
        required=False,
        help_text="Agents: set this status with the reply (reply and set pending / solve).",
    )
    as_plan = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Agents, after-sales tickets: this public reply is the handling plan "
        "(处理方案); it stops the plan timer (and the acceptance timer, if still running). "
        "409 `milestone_not_on_ticket` on other kinds, `plan_recorded` when given already.",
    )


class MessageMultipartInputSerializer(MessageInputSerializer):
    """The same message sent as multipart/form-data, with files attached."""

    attachments = serializers.ListField(
        child=serializers.FileField(),
        required=False,
        max_length=MAX_PER_MESSAGE,
        help_text=f"Up to {MAX_PER_MESSAGE} files: JPEG, PNG, GIF, WebP or PDF, decided by "
        "their content (not their name or declared type), each at most the configured size "
        "(10 MB by default). 400 `attachment_type`, `attachment_too_large`, "
        "`attachment_empty` or `too_many_attachments` otherwise.",
    )


class TicketPatchInputSerializer(StrictSerializer):
    status = serializers.ChoiceField(choices=TicketStatus.choices, required=False)
    priority = serializers.ChoiceField(choices=Priority.choices, required=False)
    kind = serializers.ChoiceField(choices=TicketKind.choices, required=False)
    assignee = serializers.CharField(
        max_length=150,
        required=False,
        allow_null=True,
        help_text="A username, `me`, or null to unassign.",
    )
    team = serializers.CharField(max_length=100, required=False, help_text="The team's name.")
    tags = serializers.ListField(
        child=serializers.CharField(max_length=50), required=False, max_length=20
    )


class TicketMergeInputSerializer(StrictSerializer):
    into = serializers.CharField(max_length=16, help_text="The ticket number to merge into.")


# --- Output ----------------------------------------------------------------------------------


class TicketCreatedSerializer(serializers.ModelSerializer):
    class Meta:
        model = Ticket
        fields = ["number", "status", "priority", "kind", "channel", "created_at"]


class AttachmentSerializer(serializers.ModelSerializer):
    content_type = serializers.CharField(help_text="The type the file's content showed.")

    class Meta:
        model = Attachment
        fields = ["id", "name", "content_type", "size"]


class PublicMessageSerializer(serializers.ModelSerializer):
    author = serializers.CharField(source="author_kind")
    attachments = AttachmentSerializer(many=True)

    class Meta:
        model = Message
        fields = ["author", "body", "channel", "created_at", "attachments"]


class StorefrontTicketSerializer(serializers.ModelSerializer):
    """What the storefront may show the customer: no notes, no agent names, no priority."""

    order_number = serializers.CharField(source="order.number", default=None, allow_null=True)
    messages = serializers.SerializerMethodField()

    class Meta:
        model = Ticket
        fields = [
            "number",
            "subject",
            "kind",
            "channel",
            "status",
            "order_number",
            "created_at",
            "updated_at",
            "solved_at",
            "messages",
        ]

    def get_messages(self, obj) -> list[dict]:
        public = [m for m in obj.messages.all() if not m.internal]
        return PublicMessageSerializer(public, many=True).data


class StorefrontTicketListSerializer(serializers.ModelSerializer):
    order_number = serializers.CharField(source="order.number", default=None, allow_null=True)

    class Meta:
        model = Ticket
        fields = [
            "number",
            "subject",
            "kind",
            "channel",
            "status",
            "order_number",
            "created_at",
            "updated_at",
        ]


class MessageDeliverySerializer(serializers.Serializer):
    way = serializers.ChoiceField(
        choices=["email", "webhook"],
        help_text="E-mail to the customer, or the storefront's webhook.",
    )
    state = serializers.ChoiceField(choices=["sent", "queued", "failed", "received", "not_sent"])
    at = serializers.DateTimeField(
        allow_null=True, help_text="When it was sent (or received); null otherwise."
    )
    reason = serializers.CharField(
        help_text="Why it failed, is being retried, or was not sent; empty otherwise."
    )


class AgentMessageSerializer(serializers.ModelSerializer):
    author = serializers.CharField(source="author_kind")
    author_name = serializers.SerializerMethodField()
    attachments = AttachmentSerializer(many=True)
    delivery = serializers.SerializerMethodField(
        help_text="Where a public message went and whether it got there; empty for notes."
    )

    class Meta:
        model = Message
        fields = [
            "author",
            "author_name",
            "internal",
            "automated",
            "body",
            "channel",
            "created_at",
            "attachments",
            "delivery",
        ]

    def get_author_name(self, obj) -> str:
        if obj.author_user_id:
            return obj.author_user.get_full_name() or obj.author_user.get_username()
        return ""

    @extend_schema_field(MessageDeliverySerializer(many=True))
    def get_delivery(self, obj) -> list[dict]:
        # The ticket's deliveries, read for all its messages at once (tickets.deliveries).
        found = self.context.get("deliveries", {}).get(obj.pk, [])
        return MessageDeliverySerializer(found, many=True).data


class TicketEventSerializer(serializers.ModelSerializer):
    actor = serializers.SerializerMethodField()

    class Meta:
        model = TicketEvent
        fields = ["type", "old_value", "new_value", "actor", "at"]

    def get_actor(self, obj) -> dict:
        return {"kind": obj.actor_kind, "name": obj.actor_label}


class SlaClockSerializer(serializers.ModelSerializer):
    class Meta:
        model = SlaClock
        fields = [
            "metric",
            "cycle",
            "status",
            "target_minutes",
            "started_at",
            "due_at",
            "warn_at",
            "breached_at",
            "stopped_at",
        ]


class AgentCustomerSerializer(serializers.Serializer):
    external_id = serializers.CharField()
    name = serializers.CharField()
    tier = serializers.CharField()
    phone = serializers.SerializerMethodField()

    def get_phone(self, obj) -> str:
        return mask_phone(obj.phone)


def _username(user) -> str | None:
    return user.get_username() if user else None


class AgentTicketListSerializer(serializers.ModelSerializer):
    customer = AgentCustomerSerializer()
    order_number = serializers.CharField(source="order.number", default=None, allow_null=True)
    team = serializers.CharField(source="team.name", default=None, allow_null=True)
    assignee = serializers.SerializerMethodField()
    tags = serializers.SerializerMethodField()

    class Meta:
        model = Ticket
        fields = [
            "number",
            "subject",
            "kind",
            "channel",
            "status",
            "priority",
            "customer",
            "order_number",
            "team",
            "assignee",
            "tags",
            "created_at",
            "updated_at",
            "next_due_at",
        ]

    def get_assignee(self, obj) -> str | None:
        return _username(obj.assignee)

    def get_tags(self, obj) -> list[str]:
        return [t.name for t in obj.tags.all()]


class AgentTicketSerializer(AgentTicketListSerializer):
    owner = serializers.SerializerMethodField()
    allowed_next_statuses = serializers.SerializerMethodField()
    linked_from = serializers.CharField(source="linked_from.number", default=None, allow_null=True)
    merged_into = serializers.CharField(source="merged_into.number", default=None, allow_null=True)
    messages = AgentMessageSerializer(many=True)
    timeline = TicketEventSerializer(source="events", many=True)
    sla = SlaClockSerializer(source="sla_clocks", many=True)

    class Meta(AgentTicketListSerializer.Meta):
        fields = [
            *AgentTicketListSerializer.Meta.fields,
            "owner",
            "allowed_next_statuses",
            "first_response_at",
            "solved_at",
            "closed_at",
            "reopen_count",
            "linked_from",
            "merged_into",
            "sla",
            "messages",
            "timeline",
        ]

    def get_owner(self, obj) -> str | None:
        return _username(obj.owner)

    def get_allowed_next_statuses(self, obj) -> list[str]:
        return allowed_next(obj.status)
