"""The periodic scan of due clocks: warnings, breaches, escalations.

Nothing waits on a task scheduled hours ahead: due times live on the clock rows, and every
sweep reads the ones that are due. Rows are locked with ``SKIP LOCKED`` so several sweepers
share the work, and each warning, breach and escalation level is a unique ``SlaEvent`` row,
so a retried or concurrent sweep never alerts twice. A breach is never undone.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from csplatform.bulk import RowWriter
from tickets.signals import sla_breached

from .policies import calendar_for, work_calendar_of

ACTIVE, BREACHED = "active", "breached"


@dataclass
class SweepResult:
    warned: int = 0
    breached: int = 0
    escalated: int = 0


def sla_sweep(*, now: datetime | None = None, batch_size: int = 500) -> SweepResult:
    """Warn, breach and escalate what is due. The notifications it writes are e-mailed by
    their own periodic task (``notifications_send_due``), so a burst of e-mails never holds
    up the next breach."""
    now = now or timezone.now()
    result = SweepResult()
    result.breached = _in_batches(_breaches_batch, now, batch_size)
    result.warned = _in_batches(_warnings_batch, now, batch_size)
    result.escalated = _escalations(now, batch_size)
    return result


def _in_batches(step, now: datetime, batch_size: int) -> int:
    total = 0
    while True:
        with transaction.atomic():
            done = step(now, batch_size)
        total += done
        if done < batch_size:
            return total


@dataclass(slots=True)
class DueClock:
    """What a warning or breach needs of a clock, its ticket and its recipients, read as
    plain values (a batch of model instances with five related rows each costs more to build
    than the statements that write the batch)."""

    pk: int
    ticket_id: int
    metric: str
    due_at: datetime | None
    breached_at: datetime | None
    stopped_at: datetime | None
    policy_id: int | None
    ticket_number: str
    ticket_kind: str
    assignee_id: int | None  # None as well when the assignee's account is inactive
    supervisor_id: int | None  # the team supervisor, likewise
    hold_calendar_id: int | None  # the calendar its notifications wait for, if any
    holds: bool  # the target holds notifications outside business hours
    status: str = ACTIVE
    escalation_level: int = 0
    next_escalation_at: datetime | None = None


_DUE_FIELDS = (
    "id",
    "ticket_id",
    "metric",
    "due_at",
    "breached_at",
    "stopped_at",
    "policy_id",
    "ticket__number",
    "ticket__kind",
    "ticket__assignee_id",
    "ticket__assignee__is_active",
    "ticket__team__supervisor_id",
    "ticket__team__supervisor__is_active",
    "ticket__team__calendar_id",
    "target__hold_notifications_outside_hours",
    "target__calendar_id",
)


def _due_clocks(queryset) -> list[DueClock]:
    return [
        DueClock(
            pk=pk,
            ticket_id=ticket_id,
            metric=metric,
            due_at=due_at,
            breached_at=breached_at,
            stopped_at=stopped_at,
            policy_id=policy_id,
            ticket_number=number,
            ticket_kind=kind,
            assignee_id=assignee_id if assignee_active else None,
            supervisor_id=supervisor_id if supervisor_active else None,
            # The team's hours, else the target's calendar (none: calendar time, no wait).
            hold_calendar_id=team_calendar_id or target_calendar_id,
            holds=bool(holds),
        )
        for (
            pk,
            ticket_id,
            metric,
            due_at,
            breached_at,
            stopped_at,
            policy_id,
            number,
            kind,
            assignee_id,
            assignee_active,
            supervisor_id,
            supervisor_active,
            team_calendar_id,
            holds,
            target_calendar_id,
        ) in queryset.values_list(*_DUE_FIELDS)
    ]


def _locked(queryset, batch_size: int, due_field: str) -> list[DueClock]:
    """Lock a batch of due clocks with their tickets, skipping rows others hold; then read
    what the batch needs as values.

    The ticket is locked with its clock, as the ticket services lock it (ticket, then
    clocks): a clock whose ticket a service holds waits for the next sweep instead of
    deadlocking on the notification rows that reference the ticket. The most overdue first,
    in the order of the partial index the filter uses: a batch is read off the index, where
    ordering by id would join and sort every due clock.
    """
    from tickets.models import SlaClock

    ids = [
        clock.pk
        for clock in queryset.select_for_update(
            skip_locked=True, of=("self", "ticket"), no_key=True
        )
        .select_related("ticket")
        .only("id", "ticket__id")
        .order_by(due_field, "id")[:batch_size]
    ]
    return _due_clocks(SlaClock.objects.filter(pk__in=ids).order_by(due_field, "id"))


def _due_detail(clock) -> dict:
    """When the clock was due: its due time, or for a clock that stopped late (its due time
    already cleared) the time it breached at."""
    due = clock.due_at or clock.breached_at
    return {"due_at": due.isoformat() if due else None}


def _metric_label(clock) -> str:
    return clock.metric.replace("_", " ")


def _hold_calendar(clock):
    """The hours the clock's notifications wait for: the team's, else the target's calendar."""
    target = clock.target
    if target is None or not target.hold_notifications_outside_hours:
        return None
    team = clock.ticket.team
    if team is not None and team.calendar_id is not None:
        return work_calendar_of(team.calendar)
    return calendar_for(target)


class _Deliveries:
    """When a batch's notifications are delivered: now, or for a target that holds them
    outside business hours the next opening of the calendar; one lookup per calendar."""

    def __init__(self, now: datetime):
        self.now = now
        self.by_calendar: dict[int, datetime] = {}

    def after(self, clock: DueClock) -> datetime:
        if not clock.holds or clock.hold_calendar_id is None:
            return self.now
        at = self.by_calendar.get(clock.hold_calendar_id)
        if at is None:
            from tickets.models import BusinessCalendar

            calendar = work_calendar_of(BusinessCalendar.objects.get(pk=clock.hold_calendar_id))
            at = calendar.next_opening(self.now) if calendar.has_open_time else self.now
            self.by_calendar[clock.hold_calendar_id] = at
        return at


def _notifications(clocks, event_ids, recipients, kind: str, now: datetime) -> list[dict]:
    """One notification per distinct recipient of each clock's event, as rows to insert."""
    from tickets.notifications import TEXTS

    deliveries = _Deliveries(now)
    rows = []
    for clock, event_id in zip(clocks, event_ids, strict=True):
        text = TEXTS[kind].format(number=clock.ticket_number, metric=_metric_label(clock))[:300]
        deliver_after = deliveries.after(clock)
        for user_id in dict.fromkeys(u for u in recipients(clock) if u is not None):
            rows.append(
                {
                    "user": user_id,
                    "ticket": clock.ticket_id,
                    "kind": kind,
                    "text": text,
                    "created_at": now,
                    "deliver_after": deliver_after,
                    "sla_event": event_id,
                }
            )
    return rows


def _events_and_notifications(clocks, kind: str, recipients, now: datetime) -> None:
    """Insert one ``kind`` event per clock and its notifications: two COPYs on PostgreSQL."""
    from tickets.models import Notification, SlaEvent

    writer = RowWriter(now, SlaEvent)
    event_ids = writer.insert(
        SlaEvent,
        [{"clock": c.pk, "kind": kind, "at": now, "detail": _due_detail(c)} for c in clocks],
        with_ids=True,
    )
    notification_kind = f"sla_{kind}"
    writer.insert(
        Notification, _notifications(clocks, event_ids, recipients, notification_kind, now)
    )


def _warnings_batch(now: datetime, batch_size: int) -> int:
    """Warn the clocks that reached their warning share and are not yet due: one that is
    already due gets its breach instead (the breaches run first), not two alerts at once."""
    from tickets.models import SlaClock, SlaEventKind

    clocks = _locked(
        SlaClock.objects.filter(
            status=ACTIVE, warned_at__isnull=True, warn_at__lte=now, due_at__gt=now
        ),
        batch_size,
        "warn_at",
    )
    # The assignee, else the team's supervisor.
    _events_and_notifications(
        clocks, SlaEventKind.WARNING.value, lambda c: [c.assignee_id or c.supervisor_id], now
    )
    # The whole batch in one UPDATE (warned now, all of them).
    SlaClock.objects.filter(pk__in=[c.pk for c in clocks]).update(warned_at=now)
    return len(clocks)


def _breaches_batch(now: datetime, batch_size: int) -> int:
    from tickets.models import SlaClock

    clocks = _locked(SlaClock.objects.filter(status=ACTIVE, due_at__lte=now), batch_size, "due_at")
    for clock in clocks:
        clock.status = BREACHED
        clock.breached_at = clock.due_at
    _breaches_write(clocks, now=now)
    return len(clocks)


def _rules_for(clocks) -> dict:
    from tickets.models import EscalationRule

    keys = {(c.policy_id, c.metric) for c in clocks if c.policy_id}
    rules: dict = {key: [] for key in keys}
    if keys:
        for rule in EscalationRule.objects.filter(policy_id__in={k[0] for k in keys}):
            if (rule.policy_id, rule.metric) in rules:
                rules[(rule.policy_id, rule.metric)].append(rule)
    return rules


def breaches_record(clocks, *, ticket, now: datetime) -> None:
    """Record the breaches of clocks a ticket service stopped late (``ticket``, which it
    holds locked, as it stands in that service): one event each, notify, schedule
    escalations. The clocks are saved as breached already."""
    from django.contrib.auth import get_user_model

    if not clocks:
        return
    team = ticket.team
    supervisor_id = team.supervisor_id if team else None
    active = set(
        get_user_model()
        .objects.filter(pk__in={ticket.assignee_id, supervisor_id} - {None}, is_active=True)
        .values_list("pk", flat=True)
    )
    _breaches_write(
        [
            DueClock(
                pk=c.pk,
                ticket_id=ticket.pk,
                metric=c.metric,
                due_at=c.due_at,
                breached_at=c.breached_at,
                stopped_at=c.stopped_at,
                policy_id=c.policy_id,
                ticket_number=ticket.number,
                ticket_kind=ticket.kind,
                assignee_id=ticket.assignee_id if ticket.assignee_id in active else None,
                supervisor_id=supervisor_id if supervisor_id in active else None,
                hold_calendar_id=(team.calendar_id if team else None)
                or (c.target.calendar_id if c.target else None),
                holds=bool(c.target and c.target.hold_notifications_outside_hours),
                status=c.status,
            )
            for c in clocks
        ],
        now,
    )


def _breaches_write(clocks: list[DueClock], now: datetime) -> None:
    """One breach event per clock (status and breach time set), its notifications to the
    assignee and the team supervisor, and the first escalation level scheduled."""
    from tickets.models import SlaEventKind

    if not clocks:
        return
    _events_and_notifications(
        clocks, SlaEventKind.BREACH.value, lambda c: [c.assignee_id, c.supervisor_id], now
    )
    rules = _rules_for(clocks)
    for clock in clocks:
        ladder = rules.get((clock.policy_id, clock.metric), [])
        clock.escalation_level = 0
        clock.next_escalation_at = (
            clock.breached_at + timedelta(minutes=ladder[0].minutes_after_breach)
            if ladder and clock.stopped_at is None
            else None
        )
    _breach_fields_save(clocks)
    breached = [(c.ticket_id, c.pk, c.metric, c.ticket_kind) for c in clocks]
    transaction.on_commit(lambda: _breaches_announce(breached, now))


def _breaches_announce(breached: list[tuple[int, int, str, str]], now: datetime) -> None:
    from tickets.models import Ticket

    for ticket_id, clock_id, metric, kind in breached:
        sla_breached.send(
            sender=Ticket,
            ticket_id=ticket_id,
            ticket_kind=kind,
            clock_id=clock_id,
            metric=metric,
            at=now,
        )


def _breach_fields_save(clocks) -> None:
    """Write status, breached_at, escalation level and next escalation of breached clocks.

    Clocks breached at their stored due time and escalating after the same delay share one
    UPDATE that reads ``due_at``: a batch takes a few statements, where ``bulk_update``
    would build a CASE branch per clock and field.
    """
    from tickets.models import SlaClock

    groups: dict[tuple, list[int]] = defaultdict(list)
    for c in clocks:
        at_due = c.due_at is not None and c.breached_at == c.due_at
        delay = c.next_escalation_at - c.breached_at if c.next_escalation_at else None
        key = (c.status, c.escalation_level, None if at_due else c.breached_at, delay)
        groups[key].append(c.pk)
    for (status, level, breached_at, delay), ids in groups.items():
        breached = F("due_at") if breached_at is None else breached_at
        SlaClock.objects.filter(pk__in=ids).update(
            status=status,
            escalation_level=level,
            breached_at=breached,
            next_escalation_at=None if delay is None else breached + delay,
        )


def _escalations(now: datetime, batch_size: int) -> int:
    """Run due escalation levels, one ticket at a time (actions may change the ticket)."""
    from tickets.models import SlaClock

    due = list(
        SlaClock.objects.filter(
            next_escalation_at__lte=now, stopped_at__isnull=True, status=BREACHED
        )
        .order_by("next_escalation_at")
        .values_list("id", "ticket_id")[:batch_size]
    )
    done = 0
    for clock_id, ticket_id in due:
        with transaction.atomic():
            done += _escalate(clock_id, ticket_id, now)
    return done


def _escalate(clock_id: int, ticket_id: int, now: datetime) -> int:
    from tickets.models import SlaClock, SlaEvent, SlaEventKind, Ticket

    # Ticket before clock, the order every ticket service locks in.
    ticket = (
        Ticket.objects.select_for_update(skip_locked=True, no_key=True).filter(pk=ticket_id).first()
    )
    if ticket is None:
        return 0
    clock = (
        SlaClock.objects.select_for_update(of=("self",), no_key=True)
        .filter(pk=clock_id, next_escalation_at__lte=now, stopped_at__isnull=True, status=BREACHED)
        .select_related("target__calendar")
        .first()
    )
    if clock is None:
        return 0
    ladder = _rules_for([clock]).get((clock.policy_id, clock.metric), [])
    steps = 0
    while clock.next_escalation_at and clock.next_escalation_at <= now:
        level = clock.escalation_level + 1
        if level > len(ladder):
            clock.next_escalation_at = None
            break
        rule = ladder[level - 1]
        try:
            with transaction.atomic():
                event = SlaEvent.objects.create(
                    clock=clock,
                    kind=SlaEventKind.ESCALATION,
                    level=level,
                    at=now,
                    detail={"action": rule.action},
                )
        except IntegrityError:
            event = None  # recorded by another sweep already: do not act twice
        if event is not None:
            _escalation_action(rule, ticket, clock, event, now)
            steps += 1
        clock.escalation_level = level
        clock.next_escalation_at = (
            clock.breached_at + timedelta(minutes=ladder[level].minutes_after_breach)
            if level < len(ladder)
            else None
        )
    SlaClock.objects.filter(pk=clock.pk).update(
        escalation_level=clock.escalation_level, next_escalation_at=clock.next_escalation_at
    )
    return steps


def _escalation_action(rule, ticket, clock, event, now: datetime) -> None:
    from tickets.models import EscalationAction
    from tickets.notifications import notify
    from tickets.services import ticket_escalate

    action = rule.action
    recipients = []
    if action == EscalationAction.NOTIFY_ASSIGNEE:
        recipients = [ticket.assignee]
    elif action == EscalationAction.NOTIFY_SUPERVISOR:
        recipients = [ticket.team.supervisor if ticket.team_id else None]
    elif action == EscalationAction.NOTIFY_USER:
        recipients = [rule.user]
    elif action == EscalationAction.RAISE_PRIORITY:
        ticket_escalate(ticket=ticket, raise_priority=True, level=event.level, now=now)
    elif action == EscalationAction.MOVE_TO_TEAM and rule.team_id:
        ticket_escalate(ticket=ticket, team=rule.team, level=event.level, now=now)
    if recipients:
        notify(
            users=recipients,
            ticket=ticket,
            kind="sla_escalation",
            now=now,
            sla_event=event,
            hold_until_open=_hold_calendar(clock),
            metric=_metric_label(clock),
            level=event.level,
        )
