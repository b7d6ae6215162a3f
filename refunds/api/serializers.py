from datetime import timedelta
from decimal import Decimal

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from csplatform.api.strict import StrictSerializer
from csplatform.uploads import MAX_PER_RETURN_REQUEST
from refunds.choices import RefundStatus, ReturnEventType, ReturnReason, ReturnStatus, ReturnType
from refunds.models import Refund, RefundRules, ReturnEvent, ReturnEvidence, ReturnRequest
from refunds.selectors import return_detail
from refunds.transitions import allowed_next

MONEY = {"max_digits": 12, "decimal_places": 2}

# The timeline the customer sees: decisions and progress, not the desk's internal steps
# (proposals to a supervisor, overdue alarms, payout errors).
CUSTOMER_EVENT_TYPES = frozenset(
    {
        ReturnEventType.REQUESTED,
        ReturnEventType.STATUS,
        ReturnEventType.APPEALED,
        ReturnEventType.SHIPPED_BACK,
        ReturnEventType.REFUND_ADDED,
        ReturnEventType.REFUND_PAID,
        ReturnEventType.EVIDENCE_ADDED,
    }
)

# --- Input -----------------------------------------------------------------------------------


class ReturnLineInputSerializer(StrictSerializer):
    sku = serializers.CharField(max_length=64)
    quantity = serializers.IntegerField(min_value=1, max_value=1_000_000)


class ReturnCreateInputSerializer(StrictSerializer):
    order_number = serializers.CharField(max_length=40)
    type = serializers.ChoiceField(choices=ReturnType.choices)
    reason = serializers.ChoiceField(choices=ReturnReason.choices)
    lines = ReturnLineInputSerializer(many=True, allow_empty=False, max_length=100)
    amount = serializers.DecimalField(
        **MONEY,
        min_value=Decimal("0.01"),
        required=False,
        allow_null=True,
        help_text="The refund asked for; default: what the lines are worth, at most what is "
        "still refundable. Ignored for an exchange.",
    )
    description = serializers.CharField(
        max_length=5000, required=False, allow_blank=True, default=""
    )

    def validate_lines(self, lines):
        skus = [line["sku"] for line in lines]
        if len(set(skus)) != len(skus):
            raise serializers.ValidationError("Each SKU may appear once.")
        return lines


class ReturnShipmentInputSerializer(StrictSerializer):
    carrier = serializers.CharField(max_length=64)
    tracking_number = serializers.CharField(max_length=64)


class ReturnAppealInputSerializer(StrictSerializer):
    description = serializers.CharField(
        max_length=5000, help_text="What is new: evidence or an explanation."
    )


class ReturnEvidenceInputSerializer(StrictSerializer):
    """multipart/form-data: the evidence files (photos, PDFs)."""

    files = serializers.ListField(
        child=serializers.FileField(),
        min_length=1,
        max_length=MAX_PER_RETURN_REQUEST,
        help_text=f"JPEG, PNG, GIF, WebP or PDF, decided by their content (not their name or "
        f"declared type), each at most the configured size (10 MB by default); at most "
        f"{MAX_PER_RETURN_REQUEST} per request in all. 400 `attachment_type`, "
        "`attachment_too_large`, `attachment_empty` or `too_many_attachments` otherwise.",
    )


class ReturnApproveInputSerializer(StrictSerializer):
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class ReturnRejectInputSerializer(StrictSerializer):
    reason = serializers.CharField(max_length=500, help_text="Shown to the customer.")


class ReturnInspectInputSerializer(StrictSerializer):
    passed = serializers.BooleanField()
    notes = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class RefundCreateInputSerializer(StrictSerializer):
    amount = serializers.DecimalField(**MONEY, min_value=Decimal("0.01"))


# --- Output ----------------------------------------------------------------------------------


class ReturnEvidenceSerializer(serializers.ModelSerializer):
    content_type = serializers.CharField(help_text="The type the file's content showed.")

    class Meta:
        model = ReturnEvidence
        fields = ["id", "name", "content_type", "size", "uploaded_at"]


class ReturnLineOutputSerializer(serializers.Serializer):
    sku = serializers.CharField(source="order_line.sku")
    name = serializers.CharField(source="order_line.name")
    quantity = serializers.IntegerField()
    unit_price = serializers.DecimalField(**MONEY, source="order_line.unit_price")


class RefundPublicSerializer(serializers.ModelSerializer):
    """A refund as the customer sees it: no provider reference, no errors."""

    class Meta:
        model = Refund
        fields = ["amount", "currency", "status", "created_at", "settled_at"]


class ReturnEventPublicSerializer(serializers.ModelSerializer):
    """A timeline entry for the customer: what changed and why, never who on the desk."""

    class Meta:
        model = ReturnEvent
        fields = ["type", "old_status", "new_status", "reason", "at"]


class DecisionSerializer(serializers.Serializer):
    outcome = serializers.ChoiceField(
        choices=[ReturnStatus.APPROVED, ReturnStatus.REJECTED], allow_null=True
    )
    by = serializers.ChoiceField(
        choices=["merchant", "system"],
        allow_null=True,
        help_text="`system`: approved automatically (within the limit, or not answered).",
    )
    reason = serializers.CharField()
    decided_at = serializers.DateTimeField(allow_null=True)


class ReturnShipmentOutputSerializer(serializers.Serializer):
    carrier = serializers.CharField()
    tracking_number = serializers.CharField()
    shipped_at = serializers.DateTimeField()


class RefundStaffSerializer(serializers.ModelSerializer):
    class Meta:
        model = Refund
        fields = [
            "id",
            "amount",
            "currency",
            "status",
            "attempts",
            "last_error",
            "needs_attention",
            "provider_reference",
            "created_at",
            "settled_at",
        ]


class ActorSerializer(serializers.Serializer):
    kind = serializers.CharField()
    name = serializers.CharField()


class ReturnEventStaffSerializer(serializers.ModelSerializer):
    actor = serializers.SerializerMethodField()

    class Meta:
        model = ReturnEvent
        fields = ["type", "old_status", "new_status", "reason", "payload", "actor", "at"]

    @extend_schema_field(ActorSerializer)
    def get_actor(self, obj) -> dict:
        return {"kind": obj.actor_kind, "name": obj.actor_label}


class InspectionSerializer(serializers.Serializer):
    passed = serializers.BooleanField(allow_null=True)
    notes = serializers.CharField()
    at = serializers.DateTimeField(allow_null=True)


class ReturnStaffSerializer(serializers.Serializer):
    """What only desk users see: names, deadlines, payout details, the whole timeline."""

    decided_by = serializers.CharField(allow_null=True)
    proposed_by = serializers.CharField(allow_null=True)
    allowed_next_statuses = serializers.ListField(child=serializers.CharField())
    respond_due_at = serializers.DateTimeField(allow_null=True)
    return_due_at = serializers.DateTimeField(allow_null=True)
    refund_due_at = serializers.DateTimeField(allow_null=True)
    refund_breached_at = serializers.DateTimeField(allow_null=True)
    inspection = InspectionSerializer()
    refunds = RefundStaffSerializer(many=True)
    events = ReturnEventStaffSerializer(many=True)


def _username(user) -> str | None:
    return user.get_username() if user else None


def _decision_event(obj):
    decisions = [
        e
        for e in obj.events.all()
        if e.type == ReturnEventType.STATUS
        and e.new_status in (ReturnStatus.APPROVED, ReturnStatus.REJECTED)
    ]
    return decisions[-1] if decisions else None


class ReturnOutputSerializer(serializers.ModelSerializer):
    """A return request: the storefront gets ``staff: null``, desk users the staff block."""

    # Expects the ``with_detail`` prefetches; ``context["staff"]``: a desk user asks;
    # ``context["appeal_days"]``: the rules' appeal window.

    id = serializers.CharField(source="public_id")
    order_number = serializers.CharField(source="order.number")
    ticket_number = serializers.CharField(source="ticket.number", default=None, allow_null=True)
    refund_amount = serializers.DecimalField(**MONEY, source="requested_amount")
    refunded_amount = serializers.SerializerMethodField()
    currency = serializers.CharField(source="order.currency")
    lines = ReturnLineOutputSerializer(many=True)
    decision = serializers.SerializerMethodField()
    return_shipment = serializers.SerializerMethodField()
    appeal_until = serializers.SerializerMethodField()
    refunds = RefundPublicSerializer(many=True)
    evidence = ReturnEvidenceSerializer(many=True)
    timeline = serializers.SerializerMethodField()
    staff = serializers.SerializerMethodField()

    class Meta:
        model = ReturnRequest
        fields = [
            "id",
            "order_number",
            "ticket_number",
            "type",
            "reason",
            "status",
            "description",
            "currency",
            "refund_amount",
            "refunded_amount",
            "lines",
            "decision",
            "appeals",
            "appeal_until",
            "return_shipment",
            "received_at",
            "refunds",
            "evidence",
            "timeline",
            "created_at",
            "updated_at",
            "staff",
        ]

    @extend_schema_field(serializers.DecimalField(**MONEY))
    def get_refunded_amount(self, obj) -> Decimal:
        """What has gone (or is going) back: every refund that did not fail."""
        total = sum(
            (r.amount for r in obj.refunds.all() if r.status != RefundStatus.FAILED),
            Decimal("0.00"),
        )
        return serializers.DecimalField(**MONEY).to_representation(total)

    @extend_schema_field(DecisionSerializer)
    def get_decision(self, obj) -> dict:
        event = _decision_event(obj)
        return {
            "outcome": event.new_status if event else None,
            "by": (
                None
                if obj.decided_at is None
                else ("merchant" if obj.decided_by_id is not None else "system")
            ),
            "reason": obj.decision_reason,
            "decided_at": serializers.DateTimeField().to_representation(obj.decided_at)
            if obj.decided_at
            else None,
        }

    @extend_schema_field(ReturnShipmentOutputSerializer(allow_null=True))
    def get_return_shipment(self, obj) -> dict | None:
        if obj.return_shipped_at is None:
            return None
        return ReturnShipmentOutputSerializer(
            {
                "carrier": obj.return_carrier,
                "tracking_number": obj.return_tracking_number,
                "shipped_at": obj.return_shipped_at,
            }
        ).data

    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_appeal_until(self, obj) -> str | None:
        days = self.context.get("appeal_days")
        if obj.status != ReturnStatus.REJECTED or obj.decided_at is None or days is None:
            return None
        return serializers.DateTimeField().to_representation(obj.decided_at + timedelta(days=days))

    @extend_schema_field(ReturnEventPublicSerializer(many=True))
    def get_timeline(self, obj) -> list[dict]:
        events = [e for e in obj.events.all() if e.type in CUSTOMER_EVENT_TYPES]
        return ReturnEventPublicSerializer(events, many=True).data

    @extend_schema_field(ReturnStaffSerializer(allow_null=True))
    def get_staff(self, obj) -> dict | None:
        if not self.context.get("staff"):
            return None
        return ReturnStaffSerializer(
            {
                "decided_by": _username(obj.decided_by),
                "proposed_by": _username(obj.proposed_by),
                "allowed_next_statuses": allowed_next(obj.status),
                "respond_due_at": obj.respond_due_at,
                "return_due_at": obj.return_due_at,
                "refund_due_at": obj.refund_due_at,
                "refund_breached_at": obj.refund_breached_at,
                "inspection": {
                    "passed": obj.inspection_passed,
                    "notes": obj.inspection_notes,
                    "at": obj.inspected_at,
                },
                "refunds": obj.refunds.all(),
                "events": obj.events.all(),
            }
        ).data


class ReturnListItemSerializer(serializers.ModelSerializer):
    """A row of the desk's return queue (``return_queue`` loads what it needs)."""

    id = serializers.CharField(source="public_id")
    order_number = serializers.CharField(source="order.number")
    ticket_number = serializers.CharField(source="ticket.number", default=None, allow_null=True)
    refund_amount = serializers.DecimalField(**MONEY, source="requested_amount")
    currency = serializers.CharField(source="order.currency")
    proposed_by = serializers.SerializerMethodField()
    payout_needs_attention = serializers.BooleanField(
        help_text="A payout failed for good and waits for a supervisor."
    )

    class Meta:
        model = ReturnRequest
        fields = [
            "id",
            "order_number",
            "ticket_number",
            "type",
            "reason",
            "status",
            "refund_amount",
            "currency",
            "proposed_by",
            "payout_needs_attention",
            "respond_due_at",
            "refund_due_at",
            "refund_breached_at",
            "created_at",
            "updated_at",
        ]

    def get_proposed_by(self, obj) -> str | None:
        return _username(obj.proposed_by)


class RefundCreatedSerializer(serializers.ModelSerializer):
    return_id = serializers.CharField(source="request.public_id")
    return_status = serializers.CharField(source="request.status")

    class Meta:
        model = Refund
        fields = [
            "return_id",
            "return_status",
            "amount",
            "currency",
            "status",
            "created_at",
            "settled_at",
        ]


def return_storefront_data(public_id: str) -> dict:
    """The request as ``GET /api/v1/returns/{id}/`` shows it to the storefront, read afresh
    (the ``return.updated`` webhook event carries it)."""
    found = return_detail(public_id=public_id)
    context = {"staff": False, "appeal_days": RefundRules.load().appeal_days}
    return dict(ReturnOutputSerializer(found, context=context).data)
