import secrets
from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .choices import RefundStatus, ReturnEventType, ReturnReason, ReturnStatus, ReturnType

MONEY = {"max_digits": 12, "decimal_places": 2}
User = settings.AUTH_USER_MODEL


def new_public_id() -> str:
    """An unguessable public id: it reveals neither volume nor database ids."""
    return "R" + secrets.token_hex(6).upper()


class ReturnRequest(models.Model):
    """A return, refund or exchange request (RMA) on one order."""

    public_id = models.CharField(max_length=16, unique=True, default=new_public_id, editable=False)
    order = models.ForeignKey("orders.Order", on_delete=models.PROTECT, related_name="returns")
    type = models.CharField(_("type"), max_length=16, choices=ReturnType.choices)
    reason = models.CharField(_("reason"), max_length=24, choices=ReturnReason.choices)
    status = models.CharField(
        _("status"), max_length=16, choices=ReturnStatus.choices, default=ReturnStatus.REQUESTED
    )
    description = models.TextField(_("description"), blank=True, max_length=5000)
    requested_amount = models.DecimalField(_("requested amount"), **MONEY)
    ticket = models.OneToOneField(
        "tickets.Ticket",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="return_request",
    )
    # Who decided, when and why: the customer sees the reason.
    decided_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.CharField(_("decision reason"), max_length=500, blank=True)
    # The agent who proposed approving an amount above the supervisor limit.
    proposed_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    appeals = models.PositiveSmallIntegerField(default=0)
    return_carrier = models.CharField(_("return carrier"), max_length=64, blank=True)
    return_tracking_number = models.CharField(
        _("return tracking number"), max_length=64, blank=True
    )
    return_shipped_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(null=True, blank=True)
    inspected_at = models.DateTimeField(null=True, blank=True)
    inspection_passed = models.BooleanField(null=True, blank=True)
    inspection_notes = models.CharField(max_length=500, blank=True)
    # Timers, read by the sweeper: the merchant's answer, the goods coming back, the refund.
    respond_due_at = models.DateTimeField(null=True, blank=True)
    return_due_at = models.DateTimeField(null=True, blank=True)
    refund_due_at = models.DateTimeField(null=True, blank=True)
    refund_breached_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        verbose_name = _("return request")
        verbose_name_plural = _("return requests")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "respond_due_at"], name="return_respond_due"),
            models.Index(fields=["status", "return_due_at"], name="return_goods_due"),
            models.Index(fields=["status", "refund_due_at"], name="return_refund_due"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(requested_amount__gte=0), name="return_amount_min")
        ]

    def __str__(self) -> str:
        return self.public_id


class ReturnLine(models.Model):
    request = models.ForeignKey(ReturnRequest, on_delete=models.CASCADE, related_name="lines")
    order_line = models.ForeignKey("orders.OrderLine", on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField(validators=[MinValueValidator(1)])

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=1), name="return_line_quantity_min"),
            models.UniqueConstraint(
                fields=["request", "order_line"], name="return_line_once_per_order_line"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.order_line_id} × {self.quantity}"


class ReturnEvidence(models.Model):
    request = models.ForeignKey(ReturnRequest, on_delete=models.CASCADE, related_name="evidence")
    file = models.FileField(upload_to="returns/%Y/%m/")
    name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=50)
    size = models.PositiveIntegerField()
    uploaded_at = models.DateTimeField()

    def __str__(self) -> str:
        return self.name


class ReturnEvent(models.Model):
    """The request's timeline: every decision and change, who, when, why."""

    request = models.ForeignKey(ReturnRequest, on_delete=models.CASCADE, related_name="events")
    type = models.CharField(max_length=32, choices=ReturnEventType.choices)
    old_status = models.CharField(max_length=16, blank=True)
    new_status = models.CharField(max_length=16, blank=True)
    reason = models.CharField(max_length=500, blank=True)
    payload = models.JSONField(default=dict, blank=True)
    actor_kind = models.CharField(max_length=16)
    actor_user = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=150, blank=True)
    at = models.DateTimeField()

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.request_id} {self.type}"


class Refund(models.Model):
    """Money going back to the customer; paid out exactly once through the gateway."""

    request = models.ForeignKey(
        ReturnRequest, null=True, blank=True, on_delete=models.PROTECT, related_name="refunds"
    )
    order = models.ForeignKey("orders.Order", on_delete=models.PROTECT, related_name="refunds")
    amount = models.DecimalField(_("amount"), **MONEY)
    currency = models.CharField(max_length=3, default="CNY")
    status = models.CharField(
        max_length=10, choices=RefundStatus.choices, default=RefundStatus.PENDING
    )
    provider_reference = models.CharField(max_length=100, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    # While a worker's gateway call is in flight, no other worker calls (services.py).
    payout_lease_until = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    # A failed payout waits here for a supervisor (retry or settle by other means).
    needs_attention = models.BooleanField(default=False)
    # A supervisor's retry of a payout that failed for good is a new refund (a new gateway
    # key: a provider may remember the failed one), linked to the one it retries.
    retry_of = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="retried_by"
    )
    created_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()
    settled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["status", "created_at"], name="refund_status")]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_positive"),
            # Paid means the provider gave us its reference; only a failed payout waits for
            # a supervisor.
            models.CheckConstraint(
                condition=~Q(status=RefundStatus.SUCCEEDED) | ~Q(provider_reference=""),
                name="refund_succeeded_has_reference",
            ),
            models.CheckConstraint(
                condition=Q(needs_attention=False) | Q(status=RefundStatus.FAILED),
                name="refund_attention_only_failed",
            ),
        ]

    def __str__(self) -> str:
        return f"refund {self.pk} {self.amount} {self.status}"

    @property
    def idempotency_key(self) -> str:
        """The key the gateway sees: the refund's own id, so a retried payout pays once."""
        return f"refund-{self.pk}"


class RefundRules(models.Model):
    """The merchant's return and refund rules; one row, edited in admin."""

    no_reason_days = models.PositiveSmallIntegerField(
        _("no-reason return window (days after delivery)"), default=7
    )
    warranty_days = models.PositiveIntegerField(_("default warranty (days)"), default=30)
    auto_approve_limit = models.DecimalField(
        _("auto-approve up to"), **MONEY, default=Decimal("200.00")
    )
    auto_approve_reasons = models.JSONField(
        _("reasons approved automatically"),
        default=list,
        blank=True,
        help_text=_("Requests with these reasons up to the limit are approved at once."),
    )
    supervisor_limit = models.DecimalField(
        _("amounts above this need a supervisor"), **MONEY, default=Decimal("1000.00")
    )
    response_timeout_hours = models.PositiveIntegerField(
        _("approve automatically when not answered within (hours)"), default=48
    )
    return_shipping_days = models.PositiveIntegerField(
        _("close approved returns whose goods are not sent back within (days)"), default=7
    )
    refund_working_days = models.PositiveIntegerField(
        _("refund within (working days) of receiving the goods"), default=3
    )
    appeal_days = models.PositiveIntegerField(_("appeal within (days) of a rejection"), default=5)
    working_calendar = models.ForeignKey(
        "tickets.BusinessCalendar",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("The working days of the refund deadline; empty: Monday to Friday."),
    )

    class Meta:
        verbose_name = _("refund rules")
        verbose_name_plural = _("refund rules")

    def __str__(self) -> str:
        return str(_("Refund rules"))

    @classmethod
    def load(cls) -> "RefundRules":
        return cls.objects.get_or_create(
            pk=1,
            defaults={
                "auto_approve_reasons": [
                    ReturnReason.NO_REASON_7D,
                    ReturnReason.QUALITY,
                    ReturnReason.WRONG_ITEM,
                    ReturnReason.DAMAGED_IN_TRANSIT,
                ]
            },
        )[0]


class CategoryRule(models.Model):
    """Per product category: its own no-reason window (or none) and warranty."""

    category = models.CharField(_("category"), max_length=64, unique=True)
    no_reason_returns = models.BooleanField(_("no-reason returns allowed"), default=True)
    no_reason_days = models.PositiveSmallIntegerField(
        _("no-reason window (days)"), null=True, blank=True
    )
    warranty_days = models.PositiveIntegerField(_("warranty (days)"), null=True, blank=True)

    class Meta:
        verbose_name = _("category rule")
        verbose_name_plural = _("category rules")
        ordering = ["category"]

    def __str__(self) -> str:
        return self.category


class GatewayPayout(models.Model):
    """The simulated gateway's own ledger: one payout per idempotency key, like a real PSP."""

    idempotency_key = models.CharField(max_length=64, unique=True)
    reference = models.CharField(max_length=40, unique=True)
    amount = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3)
    created_at = models.DateTimeField()

    def __str__(self) -> str:
        return self.reference
