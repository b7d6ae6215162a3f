from decimal import Decimal

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from complaints.choices import (
    ComplaintCategory,
    ComplaintStatus,
    EscalationLevel,
    RemedyType,
    ResponsibleParty,
    Severity,
)
from complaints.models import Complaint, ComplaintEvent
from complaints.selectors import complaint_detail
from complaints.transitions import allowed_next
from csplatform.api.strict import StrictSerializer
from csplatform.privacy import mask_name, mask_phone
from orders.api.serializers import CustomerInputSerializer
from orders.choices import Channel

MONEY = {"max_digits": 12, "decimal_places": 2}

# --- Input -----------------------------------------------------------------------------------


class ComplaintCreateInputSerializer(StrictSerializer):
    customer = CustomerInputSerializer()
    order_number = serializers.CharField(max_length=40, required=False, allow_blank=True)
    category = serializers.ChoiceField(choices=ComplaintCategory.choices)
    channel = serializers.ChoiceField(choices=Channel.choices)
    description = serializers.CharField(max_length=5000)


class ComplaintConfirmInputSerializer(StrictSerializer):
    accepted = serializers.BooleanField(
        help_text="true: the customer accepts the outcome (the complaint closes); false: not "
        "(it goes back to investigating, one escalation level higher; a closed complaint "
        "reopens within the reopen window)."
    )
    comment = serializers.CharField(max_length=1000, required=False, allow_blank=True, default="")


class ComplaintPatchInputSerializer(StrictSerializer):
    category = serializers.ChoiceField(choices=ComplaintCategory.choices, required=False)
    severity = serializers.ChoiceField(choices=Severity.choices, required=False)
    escalation_level = serializers.ChoiceField(choices=EscalationLevel.choices, required=False)
    escalation_reason = serializers.CharField(
        max_length=1000, required=False, allow_blank=True, default=""
    )
    note = serializers.CharField(
        max_length=5000,
        required=False,
        allow_blank=True,
        default="",
        help_text="An internal investigation note; with status `closed`, how the customer "
        "confirmed; with a reopen, why.",
    )
    root_cause = serializers.CharField(max_length=500, required=False, allow_blank=True)
    responsible_party = serializers.ChoiceField(choices=ResponsibleParty.choices, required=False)
    plan = serializers.CharField(max_length=5000, required=False, allow_blank=True)
    remedy_type = serializers.ChoiceField(choices=RemedyType.choices, required=False)
    remedy_amount = serializers.DecimalField(
        **MONEY, min_value=Decimal("0.01"), required=False, allow_null=True
    )
    remedy_note = serializers.CharField(
        max_length=500, required=False, allow_blank=True, default=""
    )
    status = serializers.ChoiceField(choices=ComplaintStatus.choices, required=False)

    def validate(self, data):
        if "escalation_level" in data and not data.get("escalation_reason", "").strip():
            raise serializers.ValidationError(
                {"escalation_reason": ["Say why the complaint is escalated."]}
            )
        return data


# --- Output ----------------------------------------------------------------------------------


class ComplaintCreatedSerializer(serializers.ModelSerializer):
    ticket_number = serializers.CharField(source="ticket.number", allow_null=True)

    class Meta:
        model = Complaint
        fields = ["number", "ticket_number", "status", "severity", "category", "created_at"]


class RemedyPublicSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=RemedyType.choices, source="remedy_type")
    amount = serializers.DecimalField(**MONEY, source="remedy_amount", allow_null=True)
    currency = serializers.SerializerMethodField()
    note = serializers.CharField(source="remedy_note")
    refund_request = serializers.CharField(
        source="remedy_return.public_id", allow_null=True, default=None
    )

    def get_currency(self, obj) -> str:
        return obj.order.currency if obj.order_id else "CNY"


class ProgressStepSerializer(serializers.Serializer):
    """A step of the complaint's progress, as the customer sees it: which status, when."""

    status = serializers.ChoiceField(choices=ComplaintStatus.choices, source="new_value")
    previous_status = serializers.CharField(source="old_value")
    at = serializers.DateTimeField()


class ConfirmationSerializer(serializers.Serializer):
    requested_at = serializers.DateTimeField(source="confirmation_requested_at", allow_null=True)
    due_at = serializers.DateTimeField(source="confirmation_due_at", allow_null=True)
    answer = serializers.CharField(source="confirmation")
    comment = serializers.CharField(source="confirmation_comment")
    answered_at = serializers.DateTimeField(source="confirmed_at", allow_null=True)


class ComplaintPublicSerializer(serializers.ModelSerializer):
    """The complaint as the customer may see it: progress, the plan, the remedy and the
    confirmation — never the investigation notes, root cause, responsible party, escalation
    or who on the desk did what."""

    ticket_number = serializers.CharField(source="ticket.number", allow_null=True)
    order_number = serializers.CharField(source="order.number", allow_null=True, default=None)
    remedy = serializers.SerializerMethodField()
    confirmation = ConfirmationSerializer(source="*")
    can_confirm = serializers.SerializerMethodField()
    progress = serializers.SerializerMethodField()

    class Meta:
        model = Complaint
        fields = [
            "number",
            "ticket_number",
            "order_number",
            "status",
            "category",
            "severity",
            "description",
            "created_at",
            "accepted_at",
            "plan",
            "plan_proposed_at",
            "remedy",
            "confirmation",
            "can_confirm",
            "closed_as",
            "closed_at",
            "progress",
        ]

    @extend_schema_field(RemedyPublicSerializer(allow_null=True))
    def get_remedy(self, obj) -> dict | None:
        return RemedyPublicSerializer(obj).data if obj.remedy_type else None

    def get_can_confirm(self, obj) -> bool:
        return obj.status == ComplaintStatus.AWAITING_CONFIRMATION

    @extend_schema_field(ProgressStepSerializer(many=True))
    def get_progress(self, obj) -> list[dict]:
        steps = [e for e in obj.events.all() if e.field == "status"]
        return ProgressStepSerializer(steps, many=True).data


class ComplaintEventSerializer(serializers.ModelSerializer):
    actor = serializers.SerializerMethodField()

    class Meta:
        model = ComplaintEvent
        fields = ["type", "field", "old_value", "new_value", "reason", "payload", "actor", "at"]

    def get_actor(self, obj) -> dict:
        return {"kind": obj.actor_kind, "label": obj.actor_label}


class AgentComplaintListSerializer(serializers.ModelSerializer):
    ticket_number = serializers.CharField(source="ticket.number", allow_null=True, default=None)
    order_number = serializers.CharField(source="order.number", allow_null=True, default=None)
    customer = serializers.SerializerMethodField()
    assignee = serializers.CharField(
        source="ticket.assignee.username", allow_null=True, default=None
    )
    team = serializers.CharField(source="ticket.team.name", allow_null=True, default=None)
    due_at = serializers.DateTimeField(source="ticket.next_due_at", allow_null=True, default=None)

    class Meta:
        model = Complaint
        fields = [
            "number",
            "ticket_number",
            "order_number",
            "customer",
            "status",
            "category",
            "severity",
            "escalation_level",
            "is_repeat",
            "assignee",
            "team",
            "due_at",
            "created_at",
        ]

    def get_customer(self, obj) -> dict:
        return {
            "external_id": obj.customer.external_id,
            "name": mask_name(obj.customer.name),
            "phone": mask_phone(obj.customer.phone),
            "tier": obj.customer.tier,
        }


class AgentComplaintSerializer(AgentComplaintListSerializer):
    remedy = serializers.SerializerMethodField()
    confirmation = ConfirmationSerializer(source="*")
    repeat_of = serializers.SerializerMethodField()
    events = ComplaintEventSerializer(many=True)
    allowed_next_statuses = serializers.SerializerMethodField()

    class Meta(AgentComplaintListSerializer.Meta):
        fields = [
            *AgentComplaintListSerializer.Meta.fields,
            "description",
            "channel",
            "severity_reasons",
            "investigation_notes",
            "root_cause",
            "responsible_party",
            "plan",
            "remedy",
            "confirmation",
            "rejections",
            "reopen_count",
            "closed_as",
            "accepted_at",
            "plan_proposed_at",
            "closed_at",
            "repeat_of",
            "events",
            "allowed_next_statuses",
        ]

    @extend_schema_field(RemedyPublicSerializer(allow_null=True))
    def get_remedy(self, obj) -> dict | None:
        return RemedyPublicSerializer(obj).data if obj.remedy_type else None

    def get_repeat_of(self, obj) -> list[str]:
        return [c.number for c in obj.repeat_of.all()]

    def get_allowed_next_statuses(self, obj) -> list[str]:
        return allowed_next(obj.status)


def complaint_storefront_data(number: str) -> dict:
    """The complaint as ``GET /api/v1/complaints/{number}/`` shows it to the storefront, read
    afresh (the ``complaint.updated`` webhook event carries it)."""
    return dict(ComplaintPublicSerializer(complaint_detail(number=number)).data)
