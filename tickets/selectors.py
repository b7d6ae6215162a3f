"""Reads of tickets that the desk, the API and the KPIs share."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Case, F, IntegerField, Prefetch, Q, QuerySet, Value, When

from csplatform.roles import ADMIN, SUPERVISOR, role_of
from orders.models import Order, OrderException, Shipment

from .access import tickets_visible_to
from .choices import OPEN_STATUSES, PRIORITY_RANK, TicketStatus
from .models import CannedReply, Message, SlaClock, Tag, Ticket, TicketEvent

# A ticket is "breaching soon" from its SLA clocks' warning time (``next_warn_at``: the
# policy's warning share of the target used, 80 % by default) until its due time.

QUEUE_VIEWS = ("mine", "unassigned", "team", "breaching_soon", "breached", "pending", "all")
ORDERINGS = ("next_due_at", "-next_due_at", "created_at", "-created_at", "priority", "-priority")


@dataclass
class QueueFilters:
    status: list[str] = field(default_factory=list)
    priority: list[str] = field(default_factory=list)
    kind: list[str] = field(default_factory=list)
    channel: list[str] = field(default_factory=list)
    team: int | None = None
    assignee: str = ""  # "me", "none" or a username
    tag: str = ""
    sla: str = ""  # "breaching_soon" or "breached"
    q: str = ""
    ordering: str = "next_due_at"


def queue_views_for(user) -> tuple[str, ...]:
    role = role_of(user)
    if role in (SUPERVISOR, ADMIN):
        return QUEUE_VIEWS
    return tuple(v for v in QUEUE_VIEWS if v != "all")


def ticket_queue(
    *, user, view: str = "team", filters: QueueFilters | None = None, now: datetime
) -> QuerySet:
    """The tickets of one queue view, filtered and ordered, with what a row shows.

    ``any`` (the API's default) is every ticket the user may see, in any status.
    """
    filters = filters or QueueFilters()
    tickets = tickets_visible_to(user)
    if view == "mine":
        tickets = tickets.filter(assignee=user, status__in=OPEN_STATUSES)
    elif view == "unassigned":
        tickets = tickets.filter(assignee__isnull=True, status__in=OPEN_STATUSES)
    elif view == "team":
        tickets = tickets.filter(status__in=OPEN_STATUSES)
    elif view == "breaching_soon":
        tickets = tickets.filter(
            status__in=OPEN_STATUSES, next_due_at__gt=now, next_warn_at__lte=now
        )
    elif view == "breached":
        tickets = tickets.filter(status__in=OPEN_STATUSES, next_due_at__lte=now)
    elif view == "pending":
        tickets = tickets.filter(status__in=(TicketStatus.PENDING, TicketStatus.ON_HOLD))
    elif view == "all" and "all" not in queue_views_for(user):
        tickets = tickets.none()  # the desk's "All" view is for supervisors and admins
    elif view not in ("all", "any"):
        tickets = tickets.none()
    return _apply_filters(tickets, filters, user=user, now=now).with_related()


def _apply_filters(tickets: QuerySet, f: QueueFilters, *, user, now: datetime) -> QuerySet:
    if f.status:
        tickets = tickets.filter(status__in=f.status)
    if f.priority:
        tickets = tickets.filter(priority__in=f.priority)
    if f.kind:
        tickets = tickets.filter(kind__in=f.kind)
    if f.channel:
        tickets = tickets.filter(channel__in=f.channel)
    if f.team:
        tickets = tickets.filter(team_id=f.team)
    if f.assignee == "me":
        tickets = tickets.filter(assignee=user)
    elif f.assignee == "none":
        tickets = tickets.filter(assignee__isnull=True)
    elif f.assignee:
        tickets = tickets.filter(assignee__username=f.assignee)
    if f.tag:
        # By id, not by a join on the name: the planner then knows how common the tag is and
        # reads a common one's tickets in queue order instead of sorting them all.
        tag_id = Tag.objects.filter(name=f.tag.strip().lower()).values_list("id", flat=True)
        tag_id = tag_id.first()
        tickets = tickets.filter(tags=tag_id) if tag_id is not None else tickets.none()
    if f.sla == "breaching_soon":
        tickets = tickets.filter(
            next_due_at__gt=now, next_warn_at__lte=now, status__in=OPEN_STATUSES
        )
    elif f.sla == "breached":
        tickets = tickets.filter(next_due_at__lte=now, status__in=OPEN_STATUSES)
    if f.q:
        tickets = tickets.search(f.q)
    return _order(tickets, f.ordering if f.ordering in ORDERINGS else "next_due_at")


def _order(tickets: QuerySet, ordering: str) -> QuerySet:
    descending = ordering.startswith("-")
    name = ordering.lstrip("-")
    if name == "priority":
        rank = Case(
            *(When(priority=p, then=Value(r)) for p, r in PRIORITY_RANK.items()),
            output_field=IntegerField(),
        )
        tickets = tickets.annotate(priority_rank=rank)
        # Highest priority first unless asked otherwise.
        first = F("priority_rank").asc() if descending else F("priority_rank").desc()
        return tickets.order_by(first, F("next_due_at").asc(nulls_last=True), "id")
    # NULLS LAST only where there are nulls: on a NOT NULL column it would keep PostgreSQL
    # from reading the column's index backwards for a descending order.
    nulls_last = True if Ticket._meta.get_field(name).null else None
    column = (
        F(name).desc(nulls_last=nulls_last) if descending else F(name).asc(nulls_last=nulls_last)
    )
    return tickets.order_by(column, "id")


def sla_state(ticket: Ticket, now: datetime) -> str:
    """'breached', 'breaching_soon', 'ok' or '' (no due time) for the row's badge."""
    if ticket.next_due_at is None or not ticket.is_open:
        return ""
    if ticket.next_due_at <= now:
        return "breached"
    if ticket.next_warn_at is not None and ticket.next_warn_at <= now:
        return "breaching_soon"
    return "ok"


def ticket_detail(*, user, number: str) -> Ticket | None:
    """One ticket the user may see, with its conversation, timeline and side panel data."""
    shipments = Shipment.objects.order_by("-shipped_at", "-id")
    return (
        tickets_visible_to(user)
        .select_related(
            "customer", "order", "team", "assignee", "owner", "linked_from", "merged_into"
        )
        .prefetch_related(
            "tags",
            Prefetch(
                "messages",
                queryset=Message.objects.select_related("author_user").prefetch_related(
                    "attachments"
                ),
            ),
            Prefetch("events", queryset=TicketEvent.objects.select_related("actor_user")),
            Prefetch("sla_clocks", queryset=SlaClock.objects.order_by("metric", "cycle")),
            Prefetch("order__shipments", queryset=shipments),
            Prefetch(
                "order__exceptions", queryset=OrderException.objects.select_related("resolved_by")
            ),
        )
        .filter(number=number)
        .first()
    )


def customer_context(ticket: Ticket, *, user=None, limit: int = 10) -> dict:
    """The side panel: the customer's lifetime orders and previous tickets.

    With ``user``, only the previous tickets that user may see: another team's ticket must not
    show its subject through the side panel either.
    """
    customer = ticket.customer
    previous = Ticket.objects.filter(customer=customer)
    if user is not None:
        previous = tickets_visible_to(user, previous)
    return {
        "lifetime_orders": Order.objects.filter(customer=customer).count(),
        "previous_tickets": list(
            previous.exclude(pk=ticket.pk)
            .only("number", "subject", "status", "created_at")
            .order_by("-created_at")[:limit]
        ),
    }


def storefront_tickets(*, storefront, customer_external_id: str) -> QuerySet:
    """The tickets of the storefront's customer with this external id, newest first."""
    return (
        Ticket.objects.of_storefront(storefront)
        .filter(customer__external_id=customer_external_id)
        .select_related("order")
        .order_by("-created_at", "-id")
    )


def canned_replies_for(team_id: int | None) -> QuerySet:
    """The active canned replies of a ticket's team plus the global ones, by title."""
    return CannedReply.objects.filter(Q(team__isnull=True) | Q(team_id=team_id), active=True)
