from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from orders.choices import Channel
from tickets.choices import TicketKind

from .choices import (
    SCALES,
    DeliveryChannel,
    InvitationReason,
    InvitationStatus,
    SurveyKind,
    SurveyLanguage,
)
from .querysets import SurveyInvitationQuerySet, SurveyResponseQuerySet

User = settings.AUTH_USER_MODEL


class SurveySettings(models.Model):
    """When surveys go out, how long they stay open, how often a customer is asked; one row."""

    csat_delay_hours = models.PositiveIntegerField(
        _("send CSAT after the ticket is solved (hours)"), default=24
    )
    nps_delay_hours = models.PositiveIntegerField(
        _("send NPS after the order completes (hours)"), default=24
    )
    complaint_delay_hours = models.PositiveIntegerField(
        _("send the complaint survey after the complaint closes (hours)"), default=0
    )
    expiry_days = models.PositiveIntegerField(
        _("a survey link expires after (days)"), default=7, validators=[MinValueValidator(1)]
    )
    csat_cooldown_days = models.PositiveIntegerField(
        _("at most one CSAT survey per customer in (days)"), default=7
    )
    nps_cooldown_days = models.PositiveIntegerField(
        _("at most one NPS survey per customer in (days)"), default=90
    )
    spam_tag = models.CharField(
        _("spam tag"),
        max_length=50,
        default="spam",
        help_text=_("Tickets with this tag are spam and get no survey."),
    )
    default_language = models.CharField(
        _("default language"),
        max_length=8,
        choices=SurveyLanguage.choices,
        default=SurveyLanguage.ZH_HANS,
        help_text=_("Used when the customer's language cannot be told from their messages."),
    )
    csat_question_zh = models.CharField(
        _("CSAT question (Chinese)"), max_length=300, default="您对本次客服服务满意吗？"
    )
    csat_question_en = models.CharField(
        _("CSAT question (English)"),
        max_length=300,
        default="How satisfied are you with the help you received?",
    )
    nps_question_zh = models.CharField(
        _("NPS question (Chinese)"),
        max_length=300,
        default="您有多大可能向朋友或同事推荐我们的店铺？",
    )
    nps_question_en = models.CharField(
        _("NPS question (English)"),
        max_length=300,
        default="How likely are you to recommend our shop to a friend or colleague?",
    )
    complaint_question_zh = models.CharField(
        _("complaint survey question (Chinese)"),
        max_length=300,
        default="您对我们处理您投诉的方式满意吗？",
    )
    complaint_question_en = models.CharField(
        _("complaint survey question (English)"),
        max_length=300,
        default="How satisfied are you with how we handled your complaint?",
    )

    class Meta:
        verbose_name = _("survey settings")
        verbose_name_plural = _("survey settings")

    def __str__(self) -> str:
        return str(_("Survey settings"))

    @classmethod
    def load(cls) -> "SurveySettings":
        return cls.objects.get_or_create(pk=1)[0]

    def question(self, kind: str, language: str) -> str:
        suffix = "en" if language == SurveyLanguage.EN else "zh"
        return getattr(self, f"{kind}_question_{suffix}")


class Attribution(models.Model):
    """Who and what a survey is about, as they were when the ticket was solved (CSAT and
    complaint surveys): kept on the invitation, and copied to the response."""

    agent = models.ForeignKey(
        User,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("agent"),
    )
    team = models.ForeignKey(
        "tickets.Team",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("team"),
    )
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices, blank=True)
    ticket_kind = models.CharField(
        _("ticket kind"), max_length=16, choices=TicketKind.choices, blank=True
    )

    class Meta:
        abstract = True


class SurveyInvitation(Attribution):
    """One survey for one ticket, order or complaint: scheduled, then sent, answered or not.

    The link's token is never stored: it is an HMAC of ``token_nonce`` under the server's
    secret, so it can be given again to the storefront, and requests are looked up by the
    SHA-256 of the token they present.
    """

    kind = models.CharField(_("kind"), max_length=10, choices=SurveyKind.choices)
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=InvitationStatus.choices,
        default=InvitationStatus.SCHEDULED,
    )
    reason = models.CharField(
        _("reason"), max_length=12, choices=InvitationReason.choices, blank=True
    )
    customer = models.ForeignKey(
        "orders.Customer",
        on_delete=models.PROTECT,
        related_name="survey_invitations",
        verbose_name=_("customer"),
    )
    ticket = models.ForeignKey(
        "tickets.Ticket",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="survey_invitations",
        verbose_name=_("ticket"),
    )
    order = models.ForeignKey(
        "orders.Order",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="survey_invitations",
        verbose_name=_("order"),
    )
    # Not a foreign key: the complaints app is optional for this one (see services).
    complaint_id = models.PositiveBigIntegerField(_("complaint id"), null=True, blank=True)
    complaint_number = models.CharField(_("complaint number"), max_length=40, blank=True)
    language = models.CharField(
        _("language"), max_length=8, choices=SurveyLanguage.choices, default=SurveyLanguage.ZH_HANS
    )
    token_nonce = models.CharField(max_length=32, unique=True, editable=False)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)

    created_at = models.DateTimeField(_("created at"))
    trigger_at = models.DateTimeField(
        _("trigger time"), help_text=_("When the ticket was solved, the order completed, ...")
    )
    send_after = models.DateTimeField(_("send after"))
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    sent_via = models.CharField(
        _("sent via"), max_length=8, choices=DeliveryChannel.choices, blank=True
    )
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("cancelled, skipped or expired at"), null=True, blank=True)

    objects = SurveyInvitationQuerySet.as_manager()

    class Meta:
        verbose_name = _("survey invitation")
        verbose_name_plural = _("survey invitations")
        constraints = [
            # One survey per ticket, per completed order, per closed complaint.
            models.UniqueConstraint(
                fields=["ticket"], condition=Q(kind="csat"), name="survey_one_csat_per_ticket"
            ),
            models.UniqueConstraint(
                fields=["order"], condition=Q(kind="nps"), name="survey_one_nps_per_order"
            ),
            models.UniqueConstraint(
                fields=["complaint_id"],
                condition=Q(kind="complaint"),
                name="survey_one_per_complaint",
            ),
            models.CheckConstraint(
                condition=(Q(kind="csat") & Q(ticket__isnull=False))
                | (Q(kind="nps") & Q(order__isnull=False))
                | (Q(kind="complaint") & Q(complaint_id__isnull=False)),
                name="survey_invitation_has_its_subject",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["scheduled", "cancelled", "skipped"])
                | Q(sent_at__isnull=False, expires_at__isnull=False)
                | Q(status="expired", sent_at__isnull=True),
                name="survey_sent_invitation_has_sent_and_expiry",
            ),
        ]
        indexes = [
            # The sweeper reads due rows off these two partial indexes.
            models.Index(
                fields=["send_after"],
                condition=Q(status="scheduled"),
                name="survey_scheduled_due",
            ),
            models.Index(
                fields=["expires_at"], condition=Q(status="sent"), name="survey_sent_expiry"
            ),
            models.Index(fields=["customer", "kind", "sent_at"], name="survey_customer_sent"),
        ]

    def __str__(self) -> str:
        subject = self.ticket or self.order or self.complaint_number or self.complaint_id
        return f"{self.get_kind_display()} · {subject}"

    @property
    def scale(self) -> tuple[int, int]:
        return SCALES[self.kind]


class SurveyResponse(Attribution):
    """A customer's answer. Attribution is copied from the invitation, frozen at solve time."""

    invitation = models.OneToOneField(
        SurveyInvitation,
        on_delete=models.PROTECT,
        related_name="response",
        verbose_name=_("invitation"),
    )
    kind = models.CharField(_("kind"), max_length=10, choices=SurveyKind.choices)
    score = models.SmallIntegerField(
        _("score"), validators=[MinValueValidator(0), MaxValueValidator(10)]
    )
    comment = models.TextField(_("comment"), max_length=2000, blank=True)
    language = models.CharField(_("language"), max_length=8, choices=SurveyLanguage.choices)
    answered_at = models.DateTimeField(_("answered at"))
    customer = models.ForeignKey(
        "orders.Customer", on_delete=models.PROTECT, related_name="+", verbose_name=_("customer")
    )
    ticket = models.ForeignKey(
        "tickets.Ticket",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="survey_responses",
        verbose_name=_("ticket"),
    )
    order = models.ForeignKey(
        "orders.Order",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("order"),
    )
    complaint_id = models.PositiveBigIntegerField(_("complaint id"), null=True, blank=True)
    needs_follow_up = models.BooleanField(_("needs follow-up"), default=False)
    follow_up_ticket = models.OneToOneField(
        "tickets.Ticket",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="survey_follow_up_of",
        verbose_name=_("follow-up ticket"),
    )

    objects = SurveyResponseQuerySet.as_manager()

    class Meta:
        verbose_name = _("survey response")
        verbose_name_plural = _("survey responses")
        constraints = [
            models.CheckConstraint(
                condition=(Q(kind__in=["csat", "complaint"]) & Q(score__gte=1) & Q(score__lte=5))
                | (Q(kind="nps") & Q(score__gte=0) & Q(score__lte=10)),
                name="survey_response_score_in_range",
            ),
        ]
        indexes = [
            models.Index(fields=["kind", "answered_at"], name="survey_response_kind_time"),
            models.Index(fields=["team", "answered_at"], name="survey_response_team_time"),
            models.Index(fields=["agent", "answered_at"], name="survey_response_agent_time"),
            models.Index(
                fields=["answered_at"],
                condition=Q(needs_follow_up=True, follow_up_ticket__isnull=True),
                name="survey_follow_up_missing",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.score}"


class SurveyCooldown(models.Model):
    """When a customer was last sent a survey of a family (CSAT, NPS).

    The row is locked while an invitation is sent, so two sweepers sending to the same
    customer at once queue up here and the second sees the first's send.
    """

    customer = models.ForeignKey("orders.Customer", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=10, choices=SurveyKind.choices)
    last_sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("survey cooldown")
        verbose_name_plural = _("survey cooldowns")
        constraints = [
            models.UniqueConstraint(fields=["customer", "kind"], name="survey_cooldown_unique")
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.last_sent_at}"
