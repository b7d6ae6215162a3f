"""Clock updates: one function brings a ticket's SLA clocks in line with the ticket.

Called by the ticket services inside the transaction of every change that matters to the
SLA (creation, replies, customer messages, status, priority, kind, channel, team, merge),
with the ticket row locked. Time already used is banked at every update, in the calendar of
the target that governed it, so a policy change keeps it and only the remaining time is
counted on the new target's calendar.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from tickets.models import SlaClock, SlaTarget, Ticket

from . import steps
from .breaches import breaches_record
from .calendar import WorkCalendar
from .policies import LoadedPolicy, active_policies, calendar_for, policy_for
from .steps import (
    ACCEPTANCE,
    ACTIVE,
    BREACHED,
    CANCELLED,
    CLOSURE,
    FIRST_RESPONSE,
    HANDLING,
    MET,
    MILESTONES,
    NEXT_RESPONSE,
    PAUSED,
    PLAN,
    RESUMED_ON_REOPEN,
    ClockState,
    Target,
    TicketFacts,
    clocks_step,
    due_times,
    metric_fulfilled,
)

__all__ = [
    "ACCEPTANCE",
    "ACTIVE",
    "BREACHED",
    "CANCELLED",
    "CLOSURE",
    "FIRST_RESPONSE",
    "HANDLING",
    "MET",
    "MILESTONES",
    "NEXT_RESPONSE",
    "PAUSED",
    "PLAN",
    "RESUMED_ON_REOPEN",
    "clock_cancel",
    "metric_fulfilled",
    "target_plain",
    "ticket_clocks_cancel",
    "ticket_clocks_sync",
    "ticket_due_times_set",
]


def target_plain(target: SlaTarget) -> Target:
    """The plain value of an ``SlaTarget`` row that the clock steps read."""
    return Target(
        id=target.pk,
        policy_id=target.policy_id,
        minutes=target.minutes,
        warning_share=target.warning_percent / 100,
        pausing_statuses=frozenset(target.pausing_statuses or ()),
        calendar=calendar_for(target),
    )


def _state(clock: SlaClock) -> ClockState:
    return ClockState._make(getattr(clock, name) for name in STATE_FIELDS)


def _apply(clock: SlaClock, state: ClockState) -> None:
    for name in STATE_FIELDS:
        setattr(clock, name, getattr(state, name))


def _new_clock(ticket: Ticket, state: ClockState, loaded: LoadedPolicy) -> SlaClock:
    clock = SlaClock(ticket=ticket, policy=loaded.policy, target=loaded.targets[state.metric])
    _apply(clock, state)
    return clock


def ticket_clocks_sync(
    ticket: Ticket,
    *,
    now: datetime,
    replied: bool = False,
    customer_message: bool = False,
    policies: list[LoadedPolicy] | None = None,
) -> None:
    """Bring the ticket's clocks and its ``next_due_at``/``next_warn_at`` up to date.

    ``replied``: a public agent reply was just written; ``customer_message``: a public
    customer message just arrived (it may start a ``next_response`` cycle). The caller holds
    the ticket's row lock and saves the ticket afterwards. A clock that stops past its due
    time before a sweep saw it is recorded as a breach here, like the sweeper would.
    """
    policies = active_policies() if policies is None else policies
    loaded = policy_for(ticket, policies)
    clocks = list(
        SlaClock.objects.select_for_update(no_key=True).filter(ticket=ticket).order_by("cycle")
    )
    step = clocks_step(
        [_state(clock) for clock in clocks],
        {m: target_plain(t) for m, t in loaded.targets.items()} if loaded else None,
        TicketFacts(
            status=ticket.status,
            created_at=ticket.created_at,
            responded=ticket.first_response_at is not None,
            milestones=ticket.milestones or {},
        ),
        now=now,
        calendar_of=lambda i: calendar_for(clocks[i].target),
        replied=replied,
        customer_message=customer_message,
    )
    for i in sorted(step.touched):
        clock, state = clocks[i], step.clocks[i]
        if loaded and state.metric in loaded.targets:
            clock.policy, clock.target = loaded.policy, loaded.targets[state.metric]
        _apply(clock, state)
    created = [_new_clock(ticket, state, loaded) for state in step.created if loaded]
    if created:
        SlaClock.objects.bulk_create(created)
    if step.touched:
        SlaClock.objects.bulk_update([clocks[i] for i in sorted(step.touched)], CLOCK_FIELDS)
    ticket.next_due_at, ticket.next_warn_at = step.next_due_at, step.next_warn_at
    if step.breached:
        every = [*clocks, *created]
        breaches_record([every[i] for i in step.breached], ticket=ticket, now=now)


# The columns of a clock row that the steps read and write.
STATE_FIELDS = ClockState._fields

CLOCK_FIELDS = [
    "policy",
    "target",
    "target_minutes",
    "status",
    "used",
    "running_since",
    "paused_at",
    "due_at",
    "warn_at",
    "breached_at",
    "stopped_at",
    "margin",
    "next_escalation_at",
]


def ticket_due_times_set(ticket: Ticket, clocks: Iterable[SlaClock]) -> None:
    """The ticket's nearest due and warning times, from those of its clocks that run."""
    ticket.next_due_at, ticket.next_warn_at = due_times(clocks)


def clock_cancel(clock: SlaClock, cal: WorkCalendar, now: datetime) -> None:
    """Call the clock off, keeping the time it ran (what the KPIs read)."""
    _apply(clock, steps.clock_cancel(_state(clock), cal, now))


def ticket_clocks_cancel(ticket: Ticket, *, now: datetime) -> None:
    """Call off every running clock of the ticket (a duplicate merged into another)."""
    clocks = list(
        SlaClock.objects.select_for_update(no_key=True).filter(
            ticket=ticket, stopped_at__isnull=True
        )
    )
    for clock in clocks:
        if clock.status != CANCELLED:
            clock_cancel(clock, calendar_for(clock.target), now)
    SlaClock.objects.bulk_update(clocks, CLOCK_FIELDS)
    ticket.next_due_at = ticket.next_warn_at = None
