"""Background recompute of open tickets' clocks after a policy or calendar edit."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from .clocks import CLOCK_FIELDS, _cancel, _ticket_due_times, ticket_clocks_sync
from .policies import active_policies, calendar_for

RUNNING = ("active", "paused", "breached")


@transaction.atomic
def sla_policy_deactivated(*, policy_id: int, now: datetime | None = None) -> int:
    """Cancel the running clocks of a deactivated policy: no further warnings for them."""
    from ..models import SlaClock, Ticket

    now = now or timezone.now()
    running = SlaClock.objects.filter(
        policy_id=policy_id, status__in=("active", "paused"), stopped_at__isnull=True
    )
    # The tickets' nearest due and warning times came from these clocks: recount them from
    # the clocks still running, or the desk shows the tickets as due. Ticket before clock,
    # the order every ticket service locks in.
    tickets = list(
        Ticket.objects.select_for_update().filter(pk__in=running.values("ticket_id")).order_by("pk")
    )
    # Each clock banks the time it ran until now before it stops, so that the stored used
    # time (what the KPIs read) is right to the second.
    stopping = list(running.select_related("target__calendar").select_for_update(of=("self",)))
    for clock in stopping:
        _cancel(clock, calendar_for(clock.target), now)
    SlaClock.objects.bulk_update(stopping, CLOCK_FIELDS)
    cancelled = len(stopping)
    clocks: dict[int, list] = {ticket.pk: [] for ticket in tickets}
    for clock in SlaClock.objects.filter(ticket_id__in=clocks):
        clocks[clock.ticket_id].append(clock)
    for ticket in tickets:
        _ticket_due_times(ticket, clocks[ticket.pk])
    Ticket.objects.bulk_update(tickets, ["next_due_at", "next_warn_at"])
    # Breached clocks stay breached, but a deactivated policy escalates nothing further.
    SlaClock.objects.filter(policy_id=policy_id, next_escalation_at__isnull=False).update(
        next_escalation_at=None
    )
    return cancelled


def sla_recompute(
    *,
    policy_ids: list[int] | None = None,
    calendar_ids: list[int] | None = None,
    now: datetime | None = None,
    batch_size: int = 500,
) -> int:
    """Resync every open ticket governed by these policies or counting on these calendars.

    Works in batches, each its own transaction; returns how many tickets were resynced.
    """
    from ..choices import OPEN_STATUSES
    from ..models import SlaClock, Ticket

    now = now or timezone.now()
    governed = Q(policy__isnull=True) & Q(stopped_at__isnull=True)
    if policy_ids:
        governed |= Q(policy_id__in=policy_ids)
    if calendar_ids:
        governed |= Q(target__calendar_id__in=calendar_ids)
    ticket_ids = list(
        SlaClock.objects.filter(governed, status__in=RUNNING, ticket__status__in=OPEN_STATUSES)
        .values_list("ticket_id", flat=True)
        .distinct()
        .order_by("ticket_id")
    )
    policies = active_policies()
    for start in range(0, len(ticket_ids), batch_size):
        with transaction.atomic():
            tickets = list(
                Ticket.objects.select_for_update(of=("self",))
                .select_related("customer")
                .filter(pk__in=ticket_ids[start : start + batch_size])
                .order_by("pk")
            )
            for ticket in tickets:
                ticket_clocks_sync(ticket, now=now, policies=policies)
            Ticket.objects.bulk_update(tickets, ["next_due_at", "next_warn_at"])
    return len(ticket_ids)
