"""Background recompute of open tickets' clocks after a policy or calendar edit.

Each batch is its own transaction: it takes the configuration's lock (shared) before it reads
the policies, so it counts with the configuration as committed when it started, and a policy
or calendar write waits for it rather than deadlocking with it. A recompute that was running
when the configuration changed counts its later batches with the new configuration; the write
queues a fresh recompute for the batches before. Running it again gives the same clocks.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from csplatform.enqueue import enqueue
from csplatform.locks import retry_on_deadlock
from tickets.choices import OPEN_STATUSES, ClockStatus
from tickets.models import SlaClock, Ticket, TicketSettings
from tickets.signals import sla_clocks_recomputed

from .clocks import CLOCK_FIELDS, clock_cancel, ticket_clocks_sync, ticket_due_times_set
from .locks import sla_config_lock
from .policies import active_policies, calendar_for

RUNNING = (ClockStatus.ACTIVE, ClockStatus.PAUSED, ClockStatus.BREACHED)


def sla_recompute_after_commit(
    *, policy_ids: list[int] | None = None, calendar_ids: list[int] | None = None
) -> None:
    """Resync the clocks of these policies or calendars in the background once the edit has
    committed. When the broker cannot take the task, every running clock is resynced by the
    minute's ``sla-recompute-requested`` beat instead (more work, nothing lost)."""
    ids = {"policy_ids": policy_ids} if policy_ids is not None else {}
    if calendar_ids is not None:
        ids["calendar_ids"] = calendar_ids

    def queue() -> None:
        if not enqueue("tickets.tasks.sla_recompute_task", **ids):
            TicketSettings.load()  # the settings row exists
            TicketSettings.objects.filter(pk=1).update(sla_recompute_requested_at=timezone.now())

    transaction.on_commit(queue)


@transaction.atomic
def sla_policy_deactivated(*, policy_id: int, now: datetime | None = None) -> int:
    """Cancel the running clocks of a deactivated policy: no further warnings for them."""
    now = now or timezone.now()
    running = SlaClock.objects.filter(
        policy_id=policy_id,
        status__in=(ClockStatus.ACTIVE, ClockStatus.PAUSED),
        stopped_at__isnull=True,
    )
    # The tickets' nearest due and warning times came from these clocks: recount them from
    # the clocks still running, or the desk shows the tickets as due. Ticket before clock,
    # the order every ticket service locks in.
    tickets = list(
        Ticket.objects.select_for_update(no_key=True)
        .filter(pk__in=running.values("ticket_id"))
        .order_by("pk")
    )
    # Each clock banks the time it ran until now before it stops, so that the stored used
    # time (what the KPIs read) is right to the second.
    stopping = list(running.select_related("target__calendar").select_for_update(of=("self",)))
    for clock in stopping:
        clock_cancel(clock, calendar_for(clock.target), now)
    SlaClock.objects.bulk_update(stopping, CLOCK_FIELDS)
    cancelled = len(stopping)
    clocks: dict[int, list] = {ticket.pk: [] for ticket in tickets}
    for clock in SlaClock.objects.filter(ticket_id__in=clocks):
        clocks[clock.ticket_id].append(clock)
    for ticket in tickets:
        ticket_due_times_set(ticket, clocks[ticket.pk])
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
    everything: bool = False,
    now: datetime | None = None,
    batch_size: int = 500,
) -> int:
    """Resync every open ticket governed by these policies or counting on these calendars;
    with ``everything``, every open ticket and every ticket with a clock still running.

    Works in batches, each its own transaction; returns how many tickets were resynced. A
    solved or closed ticket whose clock still runs (the rules changed under it) is resynced as
    of its solve, so the clock stops where the current rules stop it; breaches already
    recorded stay recorded.
    """
    now = now or timezone.now()
    if everything:
        running = SlaClock.objects.filter(status__in=RUNNING, stopped_at__isnull=True)
        ticket_ids = sorted(
            set(Ticket.objects.filter(status__in=OPEN_STATUSES).values_list("pk", flat=True))
            | set(running.values_list("ticket_id", flat=True))
        )
    else:
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
    for start in range(0, len(ticket_ids), batch_size):
        _recompute_batch(ticket_ids[start : start + batch_size], now)
    return len(ticket_ids)


@retry_on_deadlock
@transaction.atomic
def _recompute_batch(ticket_ids: list[int], now: datetime) -> None:
    sla_config_lock(shared=True)
    # Read under the lock, batch by batch: a policy deleted since the last batch is gone here.
    policies = active_policies()
    tickets = list(
        Ticket.objects.select_for_update(of=("self",), no_key=True)
        .select_related("customer")
        .filter(pk__in=ticket_ids, merged_into__isnull=True)
        .order_by("pk")
    )
    for ticket in tickets:
        moment = now
        if ticket.status not in OPEN_STATUSES and ticket.solved_at:
            moment = min(ticket.solved_at, now)
        ticket_clocks_sync(ticket, now=moment, policies=policies)
    Ticket.objects.bulk_update(tickets, ["next_due_at", "next_warn_at"])


def sla_recompute_requested(*, now: datetime | None = None, batch_size: int = 500) -> int | None:
    """Run the recompute of every running clock an upgrade requested, if one is waiting.

    The request is cleared only after the run, and only if no newer one came meanwhile, so a
    run cut short (worker killed) is simply done again by the next beat. Returns the number of
    tickets resynced, or None when nothing was requested.
    """
    requested = TicketSettings.load().sla_recompute_requested_at
    if requested is None:
        return None
    count = sla_recompute(everything=True, now=now, batch_size=batch_size)
    TicketSettings.objects.filter(pk=1, sla_recompute_requested_at=requested).update(
        sla_recompute_requested_at=None
    )
    transaction.on_commit(lambda: sla_clocks_recomputed.send(sender=TicketSettings, count=count))
    return count
