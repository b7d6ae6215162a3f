"""Reads of complaints that the API and the desk share."""

from __future__ import annotations

from django.db.models import Case, F, IntegerField, Prefetch, QuerySet, Value, When

from csplatform.roles import ADMIN, SUPERVISOR, role_of
from tickets.access import tickets_visible_to
from tickets.choices import TicketKind

from .choices import (
    SEVERITY_RANK,
    ComplaintCategory,
    EscalationLevel,
    RemedyType,
    ResponsibleParty,
    Severity,
)
from .models import Complaint, ComplaintEvent

SEVERITY_ORDER = Case(
    *[When(severity=s, then=Value(rank)) for s, rank in SEVERITY_RANK.items()],
    output_field=IntegerField(),
)


def complaints_visible_to(user) -> QuerySet:
    """Admins see every complaint; agents and supervisors those whose ticket is in their
    teams (another team's complaint is a 404 like one that does not exist)."""
    complaints = Complaint.objects.all()
    if role_of(user) == ADMIN:
        return complaints
    return complaints.filter(ticket__in=tickets_visible_to(user).values("id"))


def complaint_queue(
    *,
    user,
    statuses: list[str] | None = None,
    severities: list[str] | None = None,
    levels: list[int] | None = None,
    include_closed: bool = False,
) -> QuerySet:
    """The complaints a desk user works on: gravest first (severity, then escalation level),
    then the nearest due time of the ticket's timers. Supervisors (and admins) see the
    escalated complaints of their teams before all others."""
    complaints = complaints_visible_to(user).with_related().annotate(severity_rank=SEVERITY_ORDER)
    if statuses:
        complaints = complaints.filter(status__in=statuses)
    elif not include_closed:
        complaints = complaints.open()
    if severities:
        complaints = complaints.filter(severity__in=severities)
    if levels:
        complaints = complaints.filter(escalation_level__in=levels)
    ordering = [
        F("severity_rank").desc(),
        F("escalation_level").desc(),
        F("ticket__next_due_at").asc(nulls_last=True),
        "created_at",
        "id",
    ]
    if role_of(user) in (SUPERVISOR, ADMIN):
        complaints = complaints.annotate(
            escalated=Case(
                When(escalation_level__gt=EscalationLevel.AGENT, then=Value(1)),
                default=Value(0),
                output_field=IntegerField(),
            )
        )
        ordering.insert(0, F("escalated").desc())
    return complaints.order_by(*ordering)


def complaint_detail(*, number: str, user=None) -> Complaint | None:
    """One complaint with its timeline: any for the storefront (``user`` None), the visible
    ones for desk users."""
    queryset = Complaint.objects.all() if user is None else complaints_visible_to(user)
    return (
        queryset.with_related()
        .select_related("remedy_return")
        .prefetch_related(
            Prefetch("events", queryset=ComplaintEvent.objects.order_by("at", "id")),
            Prefetch("repeat_of", queryset=Complaint.objects.order_by("created_at")),
        )
        .filter(number=number)
        .first()
    )


def customer_complaints(customer_id: int, *, limit: int = 20) -> list[Complaint]:
    """The customer's complaints, newest first: the history on the desk."""
    return list(
        Complaint.objects.filter(customer_id=customer_id)
        .select_related("ticket", "order")
        .order_by("-created_at", "-id")[:limit]
    )


def desk_complaint_panel(ticket) -> dict:
    """What the ticket page shows of the ticket's complaint, in a fixed number of queries.

    Complaints open their tickets with kind ``complaint``: other tickets cost no query.
    """
    if ticket.kind != TicketKind.COMPLAINT:
        return {"complaint": None, "complaint_categories": ComplaintCategory.choices}
    complaint = (
        Complaint.objects.filter(ticket_id=ticket.pk)
        .select_related("remedy_return", "order")
        .prefetch_related(
            Prefetch("events", queryset=ComplaintEvent.objects.order_by("-at", "-id")),
            Prefetch(
                "repeat_of",
                queryset=Complaint.objects.select_related("ticket").order_by("created_at"),
            ),
        )
        .first()
    )
    if complaint is None:
        return {"complaint": None, "complaint_categories": ComplaintCategory.choices}
    return {
        "complaint": complaint,
        "complaint_history": [
            c for c in customer_complaints(complaint.customer_id) if c.pk != complaint.pk
        ],
        "categories": ComplaintCategory.choices,
        "severities": Severity.choices,
        "remedy_types": RemedyType.choices,
        "responsible_parties": ResponsibleParty.choices,
    }
