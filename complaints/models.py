from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .choices import (
    ClosedAs,
    ComplaintCategory,
    ComplaintEventType,
    ComplaintStatus,
    Confirmation,
    EscalationLevel,
    RemedyType,
    ResponsibleParty,
    Severity,
)
from .querysets import ComplaintQuerySet

MONEY = {"max_digits": 12, "decimal_places": 2}
User = settings.AUTH_USER_MODEL


def default_privacy_keywords() -> list[str]:
    return ["隐私", "泄露", "个人信息", "信息泄漏", "privacy", "data leak", "personal data"]


def default_safety_keywords() -> list[str]:
    return ["安全", "受伤", "起火", "爆炸", "漏电", "中毒", "injury", "injured", "fire", "unsafe"]


def default_legal_keywords() -> list[str]:
    return [
        "律师",
        "起诉",
        "法院",
        "消协",
        "12315",
        "工商",
        "媒体曝光",
        "lawyer",
        "sue",
        "court",
        "legal action",
    ]


class Complaint(models.Model):
    """A customer's complaint, handled on its own ticket (kind ``complaint``)."""

    number = models.CharField(_("number"), max_length=16, unique=True, null=True, editable=False)  # noqa: DJ001
    customer = models.ForeignKey(
        "orders.Customer", on_delete=models.PROTECT, related_name="complaints"
    )
    order = models.ForeignKey(
        "orders.Order", null=True, blank=True, on_delete=models.PROTECT, related_name="complaints"
    )
    ticket = models.OneToOneField(
        "tickets.Ticket",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="complaint",
    )
    category = models.CharField(_("category"), max_length=24, choices=ComplaintCategory.choices)
    channel = models.CharField(_("channel"), max_length=16)
    description = models.TextField(_("description"), max_length=5000)
    severity = models.CharField(
        _("severity"), max_length=8, choices=Severity.choices, default=Severity.MINOR
    )
    # Why the rules graded it so (rule codes, see rules.py); empty when an agent set it.
    severity_reasons = models.JSONField(default=list, blank=True)
    escalation_level = models.PositiveSmallIntegerField(
        _("escalation level"), choices=EscalationLevel.choices, default=EscalationLevel.AGENT
    )
    status = models.CharField(
        _("status"),
        max_length=24,
        choices=ComplaintStatus.choices,
        default=ComplaintStatus.RECEIVED,
    )
    # Earlier complaints of the customer this one repeats (same order, or same category
    # within the repeat window).
    repeat_of = models.ManyToManyField(
        "self", symmetrical=False, blank=True, related_name="repeated_by"
    )
    is_repeat = models.BooleanField(_("repeat complaint"), default=False)
    # Internal: never shown to the customer.
    investigation_notes = models.TextField(_("investigation notes"), blank=True)
    root_cause = models.CharField(_("root cause"), max_length=500, blank=True)
    responsible_party = models.CharField(
        _("responsible party"), max_length=10, choices=ResponsibleParty.choices, blank=True
    )
    # Shown to the customer.
    plan = models.TextField(_("handling plan"), blank=True, max_length=5000)
    remedy_type = models.CharField(
        _("remedy"), max_length=16, choices=RemedyType.choices, blank=True
    )
    remedy_amount = models.DecimalField(_("remedy amount"), **MONEY, null=True, blank=True)
    remedy_note = models.CharField(_("remedy note"), max_length=500, blank=True)
    remedy_return = models.ForeignKey(
        "refunds.ReturnRequest",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="complaints",
        help_text=_("The refund request a refund remedy went through."),
    )
    confirmation = models.CharField(
        _("customer confirmation"), max_length=10, choices=Confirmation.choices, blank=True
    )
    confirmation_comment = models.CharField(_("customer comment"), max_length=1000, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    rejections = models.PositiveSmallIntegerField(default=0)
    closed_as = models.CharField(max_length=12, choices=ClosedAs.choices, blank=True)
    reopen_count = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(_("created at"))
    updated_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    plan_proposed_at = models.DateTimeField(null=True, blank=True)
    confirmation_requested_at = models.DateTimeField(null=True, blank=True)
    # Not confirmed by then, the complaint closes as "resolved, unconfirmed".
    confirmation_due_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    objects = ComplaintQuerySet.as_manager()

    class Meta:
        verbose_name = _("complaint")
        verbose_name_plural = _("complaints")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["customer", "created_at"], name="complaint_customer"),
            models.Index(fields=["status", "confirmation_due_at"], name="complaint_confirm_due"),
            models.Index(fields=["status", "severity", "escalation_level"], name="complaint_queue"),
            # The KPIs: complaints filed in a period, and those changed since the last refresh.
            models.Index(fields=["created_at"], name="complaint_created"),
            models.Index(fields=["updated_at"], name="complaint_updated"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(escalation_level__gte=1, escalation_level__lte=4),
                name="complaint_escalation_level_1_to_4",
            ),
            models.CheckConstraint(
                condition=Q(remedy_amount__isnull=True) | Q(remedy_amount__gte=0),
                name="complaint_remedy_amount_min",
            ),
            models.CheckConstraint(
                condition=~Q(status=ComplaintStatus.CLOSED) | ~Q(closed_as=""),
                name="complaint_closed_has_outcome",
            ),
        ]

    def __str__(self) -> str:
        return self.number or f"complaint {self.pk}"

    @property
    def is_open(self) -> bool:
        return self.status != ComplaintStatus.CLOSED


class ComplaintEvent(models.Model):
    """The complaint's timeline: every change, who made it, old → new, when and why."""

    complaint = models.ForeignKey(Complaint, on_delete=models.CASCADE, related_name="events")
    type = models.CharField(max_length=32, choices=ComplaintEventType.choices)
    field = models.CharField(max_length=32, blank=True)
    old_value = models.CharField(max_length=200, blank=True)
    new_value = models.CharField(max_length=200, blank=True)
    reason = models.CharField(max_length=1000, blank=True)
    payload = models.JSONField(default=dict, blank=True)
    # The SLA clock whose breach this escalation answers: one escalation per breach.
    sla_clock_id = models.BigIntegerField(null=True, blank=True)
    actor_kind = models.CharField(max_length=16)
    actor_user = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=150, blank=True)
    at = models.DateTimeField()

    class Meta:
        ordering = ["at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["sla_clock_id"],
                condition=Q(sla_clock_id__isnull=False),
                name="complaint_event_once_per_breach",
            )
        ]

    def __str__(self) -> str:
        return f"{self.complaint_id} {self.type}"


class SeniorAgent(models.Model):
    """A desk user who handles complaints at escalation level 2 (senior agent) for the teams
    they are a member of."""

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="complaint_senior")

    class Meta:
        verbose_name = _("senior agent")
        verbose_name_plural = _("senior agents")

    def __str__(self) -> str:
        return str(self.user)


class SeverityRules(models.Model):
    """How a new complaint is graded; one row, edited in admin."""

    amount_limit = models.DecimalField(
        _("major above this order amount"), **MONEY, default=Decimal("500.00")
    )
    privacy_keywords = models.JSONField(
        _("privacy keywords"), default=default_privacy_keywords, blank=True
    )
    safety_keywords = models.JSONField(
        _("safety keywords"), default=default_safety_keywords, blank=True
    )
    legal_keywords = models.JSONField(
        _("legal threat keywords"), default=default_legal_keywords, blank=True
    )
    repeat_window_days = models.PositiveSmallIntegerField(_("repeat window (days)"), default=30)
    critical_complaint_count = models.PositiveSmallIntegerField(
        _("critical from this complaint within the window (e.g. the third)"), default=3
    )
    confirmation_hours = models.PositiveSmallIntegerField(
        _("close as unconfirmed after (hours)"), default=72
    )
    reopen_days = models.PositiveSmallIntegerField(_("reopen within (days)"), default=15)

    class Meta:
        verbose_name = _("complaint rules")
        verbose_name_plural = _("complaint rules")

    def __str__(self) -> str:
        return str(_("Complaint rules"))

    @classmethod
    def load(cls) -> "SeverityRules":
        return cls.objects.get_or_create(pk=1)[0]
