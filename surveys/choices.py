from django.db import models
from django.utils.translation import gettext_lazy as _


class SurveyKind(models.TextChoices):
    CSAT = "csat", _("CSAT (ticket)")
    NPS = "nps", _("NPS (order)")
    COMPLAINT = "complaint", _("Complaint satisfaction")


# The score range of each kind: CSAT and complaint satisfaction 1–5 (满分5分), NPS 0–10.
SCALES: dict[str, tuple[int, int]] = {
    SurveyKind.CSAT: (1, 5),
    SurveyKind.COMPLAINT: (1, 5),
    SurveyKind.NPS: (0, 10),
}

# Scores that open a follow-up (回访) ticket for the team supervisor.
FOLLOW_UP_AT_MOST: dict[str, int] = {
    SurveyKind.CSAT: 2,
    SurveyKind.COMPLAINT: 2,
    SurveyKind.NPS: 6,
}


class InvitationStatus(models.TextChoices):
    SCHEDULED = "scheduled", _("Scheduled")
    SENT = "sent", _("Sent")
    ANSWERED = "answered", _("Answered")
    EXPIRED = "expired", _("Expired")
    CANCELLED = "cancelled", _("Cancelled")
    SKIPPED = "skipped", _("Skipped")


class InvitationReason(models.TextChoices):
    """Why an invitation was cancelled, skipped or expired without being sent."""

    REOPENED = "reopened", _("Ticket reopened before sending")
    MERGED = "merged", _("Ticket merged into another")
    SPAM = "spam", _("Ticket marked as spam")
    COOLDOWN = "cooldown", _("Customer surveyed recently")
    NO_CONTACT = "no_contact", _("No e-mail address or phone number")
    STALE = "stale", _("Not sent before it would have expired")


class DeliveryChannel(models.TextChoices):
    EMAIL = "email", _("E-mail")
    SMS = "sms", _("SMS")


class SurveyLanguage(models.TextChoices):
    ZH_HANS = "zh-hans", "简体中文"
    EN = "en", "English"
