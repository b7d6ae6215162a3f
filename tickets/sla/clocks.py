"""Clock updates: one function brings a ticket's SLA clocks in line with the ticket.

Called by the ticket services inside the transaction of every change that matters to the
SLA (creation, replies, customer messages, status, priority, kind, channel, team, merge),
with the ticket row locked. Time already used is banked at every update, in the calendar of
the target that governed it, so a policy change keeps it and only the remaining time is
counted on the new target's calendar.
"""

from __future__ import annotations

from collections.abc import Container, Iterable
from datetime import datetime, timedelta

from tickets.choices import TicketStatus
from tickets.models import SlaClock, Ticket

from .breaches import breaches_record
from .calendar import WorkCalendar
from .policies import LoadedPolicy, active_policies, calendar_for, policy_for

ZERO = timedelta(0)
FIRST_RESPONSE, NEXT_RESPONSE, HANDLING, CLOSURE = (
    "first_response",
    "next_response",
    "handling",
    "closure",
)
# Met when the owning case (complaint, return request) or an agent's explicit action on an
# after-sales ticket records the milestone of the same name on the ticket.
ACCEPTANCE, PLAN = "acceptance", "plan"
MILESTONES = (ACCEPTANCE, PLAN)
ACTIVE, PAUSED, MET, BREACHED, CANCELLED = "active", "paused", "met", "breached", "cancelled"


# The clocks a reopen resumes with the time already used (sla.md rule 5); every other metric,
# once fulfilled, stays so.
RESUMED_ON_REOPEN = frozenset({CLOSURE})


def metric_fulfilled(
    metric: str,
    *,
    status: str,
    responded: bool,
    replied: bool,
    milestones: Container[str],
    targeted: Container[str],
) -> bool:
    """Whether ``metric`` is fulfilled for a ticket in this state (sla.md, "Metrics").

    ``responded``: a public agent reply was ever written; ``replied``: one was just written;
    ``milestones``: the milestones the owning case recorded; ``targeted``: the metrics the
    governing policy targets. Plain values only, so the demo seeder asks the same question.
    """
    ended = status in (TicketStatus.SOLVED, TicketStatus.CLOSED)
    if metric == FIRST_RESPONSE:
        return responded or ended
    if metric == NEXT_RESPONSE:
        return replied or ended
    if metric == HANDLING:
        # A solution or next step is with the customer: pending after a reply, or solved.
        # Where the policy does not measure acceptance, a recorded acceptance counts too.
        return (
            ended
            or (responded and status == TicketStatus.PENDING)
            or (ACCEPTANCE in milestones and ACCEPTANCE not in targeted)
        )
    if metric in MILESTONES:
        return metric in milestones or ended
    return ended  # closure: solved (closed is bookkeeping after it)


def _fulfilled(metric: str, ticket: Ticket, *, replied: bool, targeted: Container[str]) -> bool:
    return metric_fulfilled(
        metric,
        status=ticket.status,
        responded=ticket.first_response_at is not None,
        replied=replied,
        milestones=ticket.milestones or {},
        targeted=targeted,
    )


def _bank(clock: SlaClock, cal: WorkCalendar, now: datetime) -> None:
    """Move the time run since ``running_since`` into ``used``."""
    if clock.running_since is not None and now > clock.running_since:
        clock.used += cal.between(clock.running_since, now)
        clock.running_since = now


def _point(cal: WorkCalendar, since: datetime, remaining: timedelta) -> datetime:
    return cal.add(since, remaining) if remaining > ZERO else since


def schedule(clock: SlaClock, cal: WorkCalendar, *, warning_share: float | None = None) -> None:
    """Due and warning times of a running clock; none while paused or stopped.

    ``warning_share``: of the target, when the warning comes (by default the clock's target's).
    """
    target = timedelta(minutes=clock.target_minutes)
    since = clock.running_since
    if since is None or clock.stopped_at is not None or clock.status in (MET, CANCELLED):
        clock.due_at = clock.warn_at = None
        if clock.status != BREACHED:
            clock.next_escalation_at = None
        return
    if clock.status == BREACHED:
        # Keeps the due time it breached at (a reopened ticket's closure clock too, whose
        # due time was cleared when it stopped); no further warnings.
        clock.due_at = clock.due_at or clock.breached_at
        clock.warn_at = None
        return
    clock.due_at = _point(cal, since, target - clock.used)
    share = warning_share
    if share is None:
        share = (clock.target.warning_percent if clock.target is not None else 80) / 100
    clock.warn_at = _point(cal, since, target * share - clock.used)


def _stop(clock: SlaClock, cal: WorkCalendar, now: datetime, breaches: list[SlaClock]) -> None:
    _bank(clock, cal, now)
    clock.running_since = None
    clock.paused_at = None
    clock.stopped_at = now
    target = timedelta(minutes=clock.target_minutes)
    clock.margin = target - clock.used
    if clock.status != BREACHED:
        if clock.used <= target:
            clock.status = MET
        else:
            # Stopped past its due time before a sweep saw it: a breach all the same.
            clock.status = BREACHED
            clock.breached_at = clock.due_at or now
            breaches.append(clock)
    clock.next_escalation_at = None


def _pause(clock: SlaClock, cal: WorkCalendar, now: datetime) -> None:
    _bank(clock, cal, now)
    clock.running_since = None
    clock.paused_at = now
    if clock.status == ACTIVE:
        clock.status = PAUSED


def _resume(clock: SlaClock, now: datetime) -> None:
    clock.running_since = now
    clock.paused_at = None
    if clock.status == PAUSED:
        clock.status = ACTIVE


def clock_cancel(clock: SlaClock, cal: WorkCalendar, now: datetime) -> None:
    """Call the clock off, keeping the time it ran (what the KPIs read)."""
    _bank(clock, cal, now)
    clock.status = CANCELLED
    clock.running_since = None
    clock.paused_at = None
    clock.due_at = clock.warn_at = clock.next_escalation_at = None


def _new_clock(
    ticket: Ticket, metric: str, cycle: int, loaded: LoadedPolicy, started_at: datetime
) -> SlaClock:
    target = loaded.targets[metric]
    return SlaClock(
        ticket=ticket,
        metric=metric,
        cycle=cycle,
        policy=loaded.policy,
        target=target,
        target_minutes=target.minutes,
        status=ACTIVE,
        started_at=started_at,
        running_since=started_at,
    )


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
    latest = {clock.metric: clock for clock in clocks}  # the last cycle of each metric
    targeted = frozenset(loaded.targets) if loaded else frozenset()
    touched: dict[int, SlaClock] = {}
    created: list[SlaClock] = []
    breaches: list[SlaClock] = []

    # 1. Bank the time run so far on the calendar that counted it; follow a policy change.
    for metric, clock in latest.items():
        if clock.status == CANCELLED or (clock.stopped_at and metric not in RESUMED_ON_REOPEN):
            continue
        _bank(clock, calendar_for(clock.target), now)
        touched[clock.pk] = clock
        target = loaded.targets.get(metric) if loaded else None
        if loaded is None or target is None:
            if clock.stopped_at is None:
                clock_cancel(clock, calendar_for(clock.target), now)
            continue
        clock.policy, clock.target, clock.target_minutes = loaded.policy, target, target.minutes

    # 2. Each target of the governing policy: start, stop, reopen, pause, resume, schedule.
    for metric, target in loaded.targets.items() if loaded else ():
        assert loaded is not None  # for the type checker: the loop runs under a policy only
        last = latest.get(metric)
        live = last if last is not None and last.status != CANCELLED else None
        cycle = last.cycle + 1 if last else 1
        if metric == NEXT_RESPONSE:
            if live is None or live.stopped_at is not None:  # not waiting for a reply
                if not (
                    customer_message
                    and ticket.first_response_at is not None
                    and ticket.status not in (TicketStatus.SOLVED, TicketStatus.CLOSED)
                ):
                    continue
                live = _new_clock(ticket, metric, cycle, loaded, now)
                created.append(live)
        elif live is None:
            if _fulfilled(metric, ticket, replied=replied, targeted=targeted):
                continue  # governed only after the fact: nothing left to measure
            start = ticket.created_at if last is None else now
            live = _new_clock(ticket, metric, cycle, loaded, start)
            created.append(live)
        elif live.stopped_at is not None and metric not in RESUMED_ON_REOPEN:
            continue
        clock = live

        cal = calendar_for(target)
        _bank(clock, cal, now)
        fulfilled = _fulfilled(metric, ticket, replied=replied, targeted=targeted)
        if fulfilled and clock.stopped_at is None:
            _stop(clock, cal, now, breaches)
        elif not fulfilled and clock.stopped_at is not None:
            # A reopened ticket: closure resumes with the time already used.
            clock.stopped_at = None
            clock.margin = None
            if clock.status == MET:
                clock.status = ACTIVE
            _resume(clock, now)
        if clock.stopped_at is None:
            pausing = ticket.status in (target.pausing_statuses or ())
            if pausing and clock.paused_at is None:
                _pause(clock, cal, now)
            elif not pausing and clock.running_since is None:
                _resume(clock, now)
        schedule(clock, cal, warning_share=target.warning_percent / 100)
        if clock.pk:
            touched[clock.pk] = clock

    if created:
        SlaClock.objects.bulk_create(created)
    if touched:
        SlaClock.objects.bulk_update(list(touched.values()), CLOCK_FIELDS)
    ticket_due_times_set(ticket, [*clocks, *created])
    if breaches:
        breaches_record(breaches, ticket=ticket, now=now)


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
    running = [c for c in clocks if c.stopped_at is None and c.running_since is not None]
    dues = [c.due_at for c in running if c.due_at and c.status in (ACTIVE, BREACHED)]
    warns = [c.warn_at for c in running if c.warn_at and c.status == ACTIVE]
    ticket.next_due_at = min(dues, default=None)
    ticket.next_warn_at = min(warns, default=None)


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
