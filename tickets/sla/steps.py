"""The SLA clock rules as pure steps: plain values in, new values out, no database.

``ticket_clocks_sync`` applies them to the clock rows of a locked ticket; the demo seeder
applies them to the tickets it writes in batches, so a seeded year follows the engine's rules
because it runs them, not a copy of them. Calendars are ``WorkCalendar`` values.
"""

from __future__ import annotations

from collections.abc import Callable, Container, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from tickets.choices import MILESTONES, ClockStatus, SlaMetric, TicketStatus

from .calendar import WorkCalendar

ZERO = timedelta(0)
FIRST_RESPONSE, NEXT_RESPONSE = SlaMetric.FIRST_RESPONSE, SlaMetric.NEXT_RESPONSE
HANDLING, CLOSURE = SlaMetric.HANDLING, SlaMetric.CLOSURE
# Met when the owning case (complaint, return request) or an agent's explicit action on an
# after-sales ticket records the milestone of the same name on the ticket.
ACCEPTANCE, PLAN = MILESTONES
ACTIVE, PAUSED, MET = ClockStatus.ACTIVE, ClockStatus.PAUSED, ClockStatus.MET
BREACHED, CANCELLED = ClockStatus.BREACHED, ClockStatus.CANCELLED
# Ticket statuses the rules read.
PENDING, SOLVED, CLOSED = TicketStatus.PENDING, TicketStatus.SOLVED, TicketStatus.CLOSED
ENDED = (SOLVED, CLOSED)

# The clocks a reopen resumes with the time already used (sla.md rule 5); every other metric,
# once fulfilled, stays so.
RESUMED_ON_REOPEN = frozenset({CLOSURE})


@dataclass(frozen=True, slots=True)
class Target:
    """What a policy's target for one metric asks, with the calendar it counts on."""

    id: int | None
    policy_id: int | None
    minutes: int
    warning_share: float  # of the target's time, when the "breaching soon" warning is due
    pausing_statuses: frozenset[str]
    calendar: WorkCalendar


class ClockState(NamedTuple):
    """One clock of a ticket, as stored on its row (a tuple: a step makes many of them)."""

    metric: str
    cycle: int
    policy_id: int | None
    target_id: int | None
    target_minutes: int
    status: str
    started_at: datetime
    used: timedelta = ZERO
    running_since: datetime | None = None
    paused_at: datetime | None = None
    due_at: datetime | None = None
    warn_at: datetime | None = None
    breached_at: datetime | None = None
    stopped_at: datetime | None = None
    margin: timedelta | None = None
    next_escalation_at: datetime | None = None


class TicketFacts(NamedTuple):
    """What the clock rules read of a ticket."""

    status: str
    created_at: datetime
    responded: bool  # a public agent reply was ever written
    milestones: Mapping[str, object]  # those the owning case recorded


class ClocksStep(NamedTuple):
    """A ticket's clocks after one change.

    ``clocks``: the given clocks, in their order, as they are now; ``touched``: the positions of
    those the step brought up to date (their rows are saved); ``created``: clocks started by the
    step; ``breached``: positions in ``clocks + created`` of clocks that stopped past their due
    time before a sweep saw it; ``next_due_at``/``next_warn_at``: the ticket's.
    """

    clocks: tuple[ClockState, ...]
    touched: frozenset[int]
    created: tuple[ClockState, ...]
    breached: tuple[int, ...]
    next_due_at: datetime | None
    next_warn_at: datetime | None


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
    governing policy targets.
    """
    ended = status in ENDED
    if metric == FIRST_RESPONSE:
        return responded or ended
    if metric == NEXT_RESPONSE:
        return replied or ended
    if metric == HANDLING:
        # A solution or next step is with the customer: pending after a reply, or solved.
        # Where the policy does not measure acceptance, a recorded acceptance counts too.
        return (
            ended
            or (responded and status == PENDING)
            or (ACCEPTANCE in milestones and ACCEPTANCE not in targeted)
        )
    if metric in MILESTONES:
        return metric in milestones or ended
    return ended  # closure: solved (closed is bookkeeping after it)


def clock_start(metric: str, cycle: int, target: Target, at: datetime) -> ClockState:
    return ClockState(
        metric=metric,
        cycle=cycle,
        policy_id=target.policy_id,
        target_id=target.id,
        target_minutes=target.minutes,
        status=ACTIVE,
        started_at=at,
        running_since=at,
    )


def clock_bank(clock: ClockState, cal: WorkCalendar, now: datetime) -> ClockState:
    """Move the time run since ``running_since`` into ``used``."""
    if clock.running_since is not None and now > clock.running_since:
        used = clock.used + _between(cal, clock.running_since, now)
        return clock._replace(used=used, running_since=now)
    return clock


def clock_cancel(clock: ClockState, cal: WorkCalendar, now: datetime) -> ClockState:
    """The policy no longer applies: the time used is kept, nothing more is due."""
    return clock_bank(clock, cal, now)._replace(
        status=CANCELLED,
        running_since=None,
        paused_at=None,
        due_at=None,
        warn_at=None,
        next_escalation_at=None,
    )


def clock_stop(clock: ClockState, cal: WorkCalendar, now: datetime) -> tuple[ClockState, bool]:
    """The metric is fulfilled: met or breached by the time used. True when it breaches now,
    stopped past its due time before a sweep saw it."""
    clock = clock_bank(clock, cal, now)
    target = timedelta(minutes=clock.target_minutes)
    status, breached_at, late = clock.status, clock.breached_at, False
    if status != BREACHED:
        if clock.used <= target:
            status = MET
        else:
            status, breached_at, late = BREACHED, clock.due_at or now, True
    stopped = clock._replace(
        running_since=None,
        paused_at=None,
        stopped_at=now,
        margin=target - clock.used,
        status=status,
        breached_at=breached_at,
        next_escalation_at=None,
    )
    return stopped, late


def clock_pause(clock: ClockState, cal: WorkCalendar, now: datetime) -> ClockState:
    clock = clock_bank(clock, cal, now)
    status = PAUSED if clock.status == ACTIVE else clock.status
    return clock._replace(running_since=None, paused_at=now, status=status)


def clock_resume(clock: ClockState, now: datetime) -> ClockState:
    status = ACTIVE if clock.status == PAUSED else clock.status
    return clock._replace(running_since=now, paused_at=None, status=status)


def clock_reopen(clock: ClockState, now: datetime) -> ClockState:
    """A reopened ticket: a stopped closure clock resumes with the time already used."""
    status = ACTIVE if clock.status == MET else clock.status
    return clock_resume(clock._replace(stopped_at=None, margin=None, status=status), now)


def clock_schedule(clock: ClockState, target: Target) -> ClockState:
    """Due and warning times of a running clock; none while paused or stopped."""
    since = clock.running_since
    if since is None or clock.stopped_at is not None or clock.status in (MET, CANCELLED):
        escalation = clock.next_escalation_at if clock.status == BREACHED else None
        return _timed(clock, None, None, escalation)
    if clock.status == BREACHED:
        # Keeps the due time it breached at (a reopened ticket's closure clock too, whose
        # due time was cleared when it stopped); no further warnings.
        return _timed(clock, clock.due_at or clock.breached_at, None, clock.next_escalation_at)
    full = timedelta(minutes=clock.target_minutes)
    cal = target.calendar
    due = _point(cal, since, full - clock.used)
    warn = _point(cal, since, full * target.warning_share - clock.used)
    return _timed(clock, due, warn, clock.next_escalation_at)


def _timed(
    clock: ClockState,
    due_at: datetime | None,
    warn_at: datetime | None,
    next_escalation_at: datetime | None,
) -> ClockState:
    if (clock.due_at, clock.warn_at, clock.next_escalation_at) == (
        due_at,
        warn_at,
        next_escalation_at,
    ):
        return clock  # most steps move no deadline: no new value to make
    return clock._replace(due_at=due_at, warn_at=warn_at, next_escalation_at=next_escalation_at)


def _point(cal: WorkCalendar, since: datetime, remaining: timedelta) -> datetime:
    if remaining <= ZERO:
        return since
    # Calendar time needs no calendar: the same instant as ``cal.add``, in less time.
    return since + remaining if cal.tz is None else cal.add(since, remaining)


def _between(cal: WorkCalendar, start: datetime, end: datetime) -> timedelta:
    if cal.tz is None:
        return end - start if end > start else ZERO
    return cal.between(start, end)


def clocks_step(
    clocks: Sequence[ClockState],
    targets: Mapping[str, Target] | None,
    ticket: TicketFacts,
    *,
    now: datetime,
    calendar_of: Callable[[int], WorkCalendar],
    replied: bool = False,
    customer_message: bool = False,
) -> ClocksStep:
    """A ticket's clocks after a change (sla.md, "Lifecycle rules").

    ``clocks``: the ticket's clocks in cycle order; ``targets``: the governing policy's, by
    metric (None: no policy matches); ``calendar_of(i)``: the calendar of the target that
    governed clock ``i`` so far, which counts the time it ran; ``replied``: a public agent
    reply was just written; ``customer_message``: a public customer message just arrived
    (it may start a ``next_response`` cycle).
    """
    states = list(clocks)
    latest = {clock.metric: i for i, clock in enumerate(states)}  # last cycle of each metric
    targeted = targets or {}  # membership by metric is all the rules ask of it
    touched: set[int] = set()
    created: list[ClockState] = []
    breached: list[int] = []

    def fulfilled(metric: str) -> bool:
        return metric_fulfilled(
            metric,
            status=ticket.status,
            responded=ticket.responded,
            replied=replied,
            milestones=ticket.milestones,
            targeted=targeted,
        )

    # 1. Bank the time run so far on the calendar that counted it; follow a policy change.
    for metric, i in latest.items():
        clock = states[i]
        if clock.status == CANCELLED or (clock.stopped_at and metric not in RESUMED_ON_REOPEN):
            continue
        clock = clock_bank(clock, calendar_of(i), now)
        touched.add(i)
        target = targets.get(metric) if targets is not None else None
        if target is None:
            if clock.stopped_at is None:
                clock = clock_cancel(clock, calendar_of(i), now)
        elif (clock.policy_id, clock.target_id, clock.target_minutes) != (
            target.policy_id,
            target.id,
            target.minutes,
        ):
            clock = clock._replace(
                policy_id=target.policy_id, target_id=target.id, target_minutes=target.minutes
            )
        states[i] = clock

    # 2. Each target of the governing policy: start, stop, reopen, pause, resume, schedule.
    for metric, target in targets.items() if targets is not None else ():
        pos: int | None = latest.get(metric)
        last = None if pos is None else states[pos]
        live = last if last is not None and last.status != CANCELLED else None
        cycle = last.cycle + 1 if last else 1
        if metric == NEXT_RESPONSE:
            if live is None or live.stopped_at is not None:  # not waiting for a reply
                if not (customer_message and ticket.responded and ticket.status not in ENDED):
                    continue
                live, pos = clock_start(metric, cycle, target, now), None
        elif live is None:
            if fulfilled(metric):
                continue  # governed only after the fact: nothing left to measure
            start = ticket.created_at if last is None else now
            live, pos = clock_start(metric, cycle, target, start), None
        elif live.stopped_at is not None and metric not in RESUMED_ON_REOPEN:
            continue
        clock = live

        cal = target.calendar
        clock = clock_bank(clock, cal, now)
        done = fulfilled(metric)
        late = False
        if done and clock.stopped_at is None:
            clock, late = clock_stop(clock, cal, now)
        elif not done and clock.stopped_at is not None:
            clock = clock_reopen(clock, now)
        if clock.stopped_at is None:
            pausing = ticket.status in target.pausing_statuses
            if pausing and clock.paused_at is None:
                clock = clock_pause(clock, cal, now)
            elif not pausing and clock.running_since is None:
                clock = clock_resume(clock, now)
        clock = clock_schedule(clock, target)
        if pos is None:
            pos = len(clocks) + len(created)
            created.append(clock)
        else:
            states[pos] = clock
            touched.add(pos)
        if late:
            breached.append(pos)

    next_due_at, next_warn_at = due_times([*states, *created])
    return ClocksStep(
        clocks=tuple(states),
        touched=frozenset(touched),
        created=tuple(created),
        breached=tuple(breached),
        next_due_at=next_due_at,
        next_warn_at=next_warn_at,
    )


def due_times(clocks: Iterable[Any]) -> tuple[datetime | None, datetime | None]:
    """A ticket's next due and warning times: the earliest of its running clocks (clock
    states, or rows with the same fields)."""
    running = [c for c in clocks if c.stopped_at is None and c.running_since is not None]
    dues = [c.due_at for c in running if c.due_at and c.status in (ACTIVE, BREACHED)]
    warns = [c.warn_at for c in running if c.warn_at and c.status == ACTIVE]
    return min(dues, default=None), min(warns, default=None)


def breach_escalation(clock: Any, first_level_minutes: int | None) -> datetime | None:
    """When a breached clock's first escalation level is due: never for a stopped clock or a
    policy without escalation rules for its metric (a clock state, or a row alike)."""
    if first_level_minutes is None or clock.stopped_at is not None or clock.breached_at is None:
        return None
    return clock.breached_at + timedelta(minutes=first_level_minutes)


# What the periodic sweep records on a clock (the tickets app's SlaEventKind values).
WARNING, BREACH, ESCALATION = "warning", "breach", "escalation"


def sweep_due_at(clock: ClockState, *, warned: bool) -> datetime | None:
    """The first moment a sweep has something to record on the clock: its warning (once), its
    breach, or for a breached clock still running its next escalation level."""
    if clock.status == ACTIVE:
        due, warn = clock.due_at, None if warned else clock.warn_at
        # The earlier of the two that are set (the seeder asks this before every step).
        return due if warn is None or (due is not None and due < warn) else warn
    if clock.status == BREACHED and clock.stopped_at is None:
        return clock.next_escalation_at
    return None


def sweep_finding(clock: ClockState, *, warned: bool, now: datetime) -> str | None:
    """What a sweep at ``now`` records on the clock, as the sweeper's queries select them: a
    breach once it is past due (not also a warning, when first found so), a warning once its
    warning time has passed, the escalation levels of a breached clock once the next is due."""
    if clock.status == ACTIVE:
        if clock.due_at is not None and clock.due_at <= now:
            return BREACH
        if not warned and clock.warn_at is not None and clock.warn_at <= now:
            return WARNING
        return None
    escalation = clock.next_escalation_at if clock.stopped_at is None else None
    if clock.status == BREACHED and escalation is not None and escalation <= now:
        return ESCALATION
    return None


def escalations_due(
    clock: Any, level: int, ladder_minutes: Sequence[int], now: datetime
) -> tuple[list[int], datetime | None]:
    """The escalation levels of a breached clock (a state, or a row alike) due by ``now``
    after ``level``, and when the next one is due; ``ladder_minutes``: each level's minutes
    after the breach."""
    levels: list[int] = []
    next_at = clock.next_escalation_at
    while next_at is not None and next_at <= now:
        level += 1
        if level > len(ladder_minutes):
            return levels, None
        levels.append(level)
        later = level < len(ladder_minutes)
        next_at = clock.breached_at + timedelta(minutes=ladder_minutes[level]) if later else None
    return levels, next_at
