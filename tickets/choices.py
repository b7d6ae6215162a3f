from django.db import models
from django.utils.translation import gettext_lazy as _

from orders.choices import (
    Channel,  # noqa: F401 - tickets share the order channels
    NoticeChannel,  # noqa: F401 - and the ways a notice goes out
)


class TicketKind(models.TextChoices):
    INQUIRY = "inquiry", _("Inquiry")
    ORDER_ISSUE = "order_issue", _("Order issue")
    AFTER_SALES = "after_sales", _("After-sales")
    RETURN_REFUND = "return_refund", _("Return / refund")
    COMPLAINT = "complaint", _("Complaint")


class TicketStatus(models.TextChoices):
    NEW = "new", _("New")
    OPEN = "open", _("Open")
    PENDING = "pending", _("Pending")
    ON_HOLD = "on_hold", _("On hold")
    SOLVED = "solved", _("Solved")
    CLOSED = "closed", _("Closed")


OPEN_STATUSES = (TicketStatus.NEW, TicketStatus.OPEN, TicketStatus.PENDING, TicketStatus.ON_HOLD)


class Priority(models.TextChoices):
    LOW = "low", _("Low")
    NORMAL = "normal", _("Normal")
    HIGH = "high", _("High")
    URGENT = "urgent", _("Urgent")


# Lowest first: escalation raises a ticket's priority one step along it.
PRIORITY_ORDER: tuple[Priority, ...] = tuple(Priority)
PRIORITY_RANK: dict[str, int] = {priority: rank for rank, priority in enumerate(PRIORITY_ORDER)}


class AuthorKind(models.TextChoices):
    CUSTOMER = "customer", _("Customer")
    AGENT = "agent", _("Agent")
    SYSTEM = "system", _("System")


class Presence(models.TextChoices):
    ONLINE = "online", _("Online")
    AWAY = "away", _("Away")
    OFFLINE = "offline", _("Offline")


class TicketEventType(models.TextChoices):
    CREATED = "created", _("Created")
    STATUS = "status", _("Status changed")
    PRIORITY = "priority", _("Priority changed")
    KIND = "kind", _("Kind changed")
    ASSIGNEE = "assignee", _("Assignee changed")
    TEAM = "team", _("Team changed")
    TAGS = "tags", _("Tags changed")
    OWNER = "owner", _("Owner set")
    REPLIED = "replied", _("Public reply")
    NOTE = "note", _("Internal note")
    CUSTOMER_MESSAGE = "customer_message", _("Customer message")
    REOPENED = "reopened", _("Reopened")
    MERGED = "merged", _("Merged")
    FOLLOW_UP = "follow_up", _("Follow-up ticket opened")
    MILESTONE = "milestone", _("Milestone reached")
    # An agent resolved an exception of the ticket's order from the ticket: old the exception
    # type, new the outcome.
    EXCEPTION_RESOLVED = "exception_resolved", _("Order exception resolved")
    # A notice (return approved, complaint plan proposed, …) went out to the customer: new the
    # notice type, the payload its label and the channels it took (``NoticeChannel``).
    CUSTOMER_NOTIFIED = "customer_notified", _("Customer notified")


class SlaMetric(models.TextChoices):
    FIRST_RESPONSE = "first_response", _("First response")
    NEXT_RESPONSE = "next_response", _("Next response")
    HANDLING = "handling", _("Handling")
    CLOSURE = "closure", _("Closure")
    # Milestones another app records on the ticket (complaints: accepted, plan proposed).
    ACCEPTANCE = "acceptance", _("Acceptance")
    PLAN = "plan", _("Handling plan")


# Met when the owning case (complaint, return request) or an agent's explicit action on an
# after-sales ticket records the milestone of the same name on the ticket.
MILESTONES = (SlaMetric.ACCEPTANCE, SlaMetric.PLAN)


class ClockStatus(models.TextChoices):
    ACTIVE = "active", _("Running")
    PAUSED = "paused", _("Paused")
    MET = "met", _("Met")
    BREACHED = "breached", _("Breached")
    CANCELLED = "cancelled", _("Cancelled")
