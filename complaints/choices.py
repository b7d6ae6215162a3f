from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from tickets.choices import Priority


class ComplaintCategory(models.TextChoices):
    PRODUCT_QUALITY = "product_quality", _("Product quality")
    LOGISTICS = "logistics", _("Logistics")
    AFTER_SALES_SERVICE = "after_sales_service", _("After-sales service")
    SERVICE_ATTITUDE = "service_attitude", _("Service attitude")
    PRICE_DISPUTE = "price_dispute", _("Price dispute")
    PRIVACY = "privacy", pgettext_lazy("complaint category", "Privacy")
    OTHER = "other", pgettext_lazy("complaint category", "Other")


class Severity(models.TextChoices):
    MINOR = "minor", _("Minor")
    MAJOR = "major", _("Major")
    CRITICAL = "critical", _("Critical")


SEVERITY_RANK = {Severity.MINOR: 0, Severity.MAJOR: 1, Severity.CRITICAL: 2}

# The ticket priority a complaint's severity asks for at least (never lowered).
SEVERITY_PRIORITY: dict[str, str] = {
    Severity.MINOR: Priority.NORMAL,
    Severity.MAJOR: Priority.HIGH,
    Severity.CRITICAL: Priority.URGENT,
}


class EscalationLevel(models.IntegerChoices):
    AGENT = 1, _("Agent")
    SENIOR_AGENT = 2, _("Senior agent")
    SUPERVISOR = 3, _("Supervisor")
    MANAGER = 4, _("Manager")


class ComplaintStatus(models.TextChoices):
    RECEIVED = "received", _("Received")
    ACCEPTED = "accepted", _("Accepted")
    INVESTIGATING = "investigating", _("Investigating")
    PLAN_PROPOSED = "plan_proposed", _("Plan proposed")
    AWAITING_CONFIRMATION = "awaiting_confirmation", _("Awaiting the customer's confirmation")
    RESOLVED = "resolved", _("Outcome resolved")
    CLOSED = "closed", pgettext_lazy("complaint status", "Closed")


OPEN_COMPLAINT_STATUSES = (
    ComplaintStatus.RECEIVED,
    ComplaintStatus.ACCEPTED,
    ComplaintStatus.INVESTIGATING,
    ComplaintStatus.PLAN_PROPOSED,
    ComplaintStatus.AWAITING_CONFIRMATION,
    ComplaintStatus.RESOLVED,
)


class ComplaintEventType(models.TextChoices):
    """What a row of a complaint's timeline records; a field's change is named after the field."""

    RECEIVED = "received", _("Received")
    STATUS = "status", _("Status")
    REOPENED = "reopened", _("Reopened")
    CATEGORY = "category", _("Category")
    SEVERITY = "severity", _("Severity")
    ESCALATED = "escalated", _("Escalated")
    NOTE = "note", _("Investigation note")
    ROOT_CAUSE = "root_cause", _("Root cause")
    RESPONSIBLE_PARTY = "responsible_party", _("Responsible party")
    REMEDY = "remedy", _("Remedy")
    CONFIRMATION = "confirmation", _("Customer confirmation")


class ClosedAs(models.TextChoices):
    CONFIRMED = "confirmed", _("Resolved, confirmed by the customer")
    UNCONFIRMED = "unconfirmed", _("Resolved, unconfirmed")


class Confirmation(models.TextChoices):
    ACCEPTED = "accepted", _("Accepted by the customer")
    REJECTED = "rejected", _("Rejected by the customer")


class ResponsibleParty(models.TextChoices):
    MERCHANT = "merchant", _("Merchant")
    CARRIER = "carrier", _("Carrier")
    PLATFORM = "platform", _("Platform")
    CUSTOMER = "customer", pgettext_lazy("responsible party", "Customer")
    UNKNOWN = "unknown", _("Unknown")


class RemedyType(models.TextChoices):
    REFUND = "refund", _("Refund")
    REPLACEMENT = "replacement", _("Replacement")
    REPAIR = "repair", _("Repair")
    COUPON = "coupon", _("Coupon")
    COMPENSATION = "compensation", _("Compensation")
    APOLOGY = "apology", _("Apology")


# Remedies that carry an amount of money.
REMEDIES_WITH_AMOUNT = (RemedyType.REFUND, RemedyType.COUPON, RemedyType.COMPENSATION)
