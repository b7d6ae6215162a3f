"""The periodic scan of due clocks: warnings, breaches, escalations.

Nothing waits on a task scheduled hours ahead: due times live on the clock rows, and every
sweep reads the ones that are due. Rows are locked with ``SKIP LOCKED`` so several sweepers
share the work, and each warning, breach and escalation level is a unique ``SlaEvent`` row,
so a retried or concurrent sweep never alerts twice. A breach is never undone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from tickets.models import (
    EscalationAction,
    EscalationRule,
    SlaClock,
    SlaEvent,
    SlaEventKind,
    Ticket,
)
from tickets.notifications import notify
from tickets.services import ticket_escalate

from .breaches import (
    ACTIVE,
    BREACHED,
    DueClock,
    alerts_write,
    breaches_write,
    escalation_ladders,
    metric_label,
)
from .calendar import WorkCalendar
from .policies import calendar_for, work_calendar_of
from .steps import escalations_due


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


def _in_batches(step: Callable[[datetime, int], int], now: datetime, batch_size: int) -> int:
    total = 0
    while True:
        with transaction.atomic():
            done = step(now, batch_size)
        total += done
        if done < batch_size:
            return total


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


def _due_clocks(queryset: QuerySet[SlaClock]) -> list[DueClock]:
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


def _locked(queryset: QuerySet[SlaClock], batch_size: int, due_field: str) -> list[DueClock]:
    """Lock a batch of due clocks with their tickets, skipping rows others hold; then read
    what the batch needs as values.

    The ticket is locked with its clock, as the ticket services lock it (ticket, then
    clocks): a clock whose ticket a service holds waits for the next sweep instead of
    deadlocking on the notification rows that reference the ticket. The most overdue first,
    in the order of the partial index the filter uses: a batch is read off the index, where
    ordering by id would join and sort every due clock.
    """
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


def _hold_calendar(clock: SlaClock) -> WorkCalendar | None:
    """The hours the clock's notifications wait for: the team's, else the target's calendar."""
    target = clock.target
    if target is None or not target.hold_notifications_outside_hours:
        return None
    team = clock.ticket.team
    if team is not None and team.calendar is not None:
        return work_calendar_of(team.calendar)
    return calendar_for(target)


def _warnings_batch(now: datetime, batch_size: int) -> int:
    """Warn the clocks that reached their warning share and are not yet due: one that is
    already due gets its breach instead (the breaches run first), not two alerts at once."""
    clocks = _locked(
        SlaClock.objects.filter(
            status=ACTIVE, warned_at__isnull=True, warn_at__lte=now, due_at__gt=now
        ),
        batch_size,
        "warn_at",
    )
    # The assignee, else the team's supervisor.
    alerts_write(
        clocks, SlaEventKind.WARNING.value, lambda c: [c.assignee_id or c.supervisor_id], now
    )
    # The whole batch in one UPDATE (warned now, all of them).
    SlaClock.objects.filter(pk__in=[c.pk for c in clocks]).update(warned_at=now)
    return len(clocks)


def _breaches_batch(now: datetime, batch_size: int) -> int:
    clocks = _locked(SlaClock.objects.filter(status=ACTIVE, due_at__lte=now), batch_size, "due_at")
    for clock in clocks:
        clock.status = BREACHED
        clock.breached_at = clock.due_at
    breaches_write(clocks, now=now)
    return len(clocks)


def _escalations(now: datetime, batch_size: int) -> int:
    """Run due escalation levels, one ticket at a time (actions may change the ticket)."""
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
    ladder = escalation_ladders([clock]).get((clock.policy_id, clock.metric), [])
    minutes = [rule.minutes_after_breach for rule in ladder]
    levels, next_at = escalations_due(clock, clock.escalation_level, minutes, now)
    steps = 0
    for level in levels:
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
    clock.next_escalation_at = next_at
    SlaClock.objects.filter(pk=clock.pk).update(
        escalation_level=clock.escalation_level, next_escalation_at=clock.next_escalation_at
    )
    return steps


def _escalation_action(
    rule: EscalationRule, ticket: Ticket, clock: SlaClock, event: SlaEvent, now: datetime
) -> None:
    action = rule.action
    recipients = []
    if action == EscalationAction.NOTIFY_ASSIGNEE:
        recipients = [ticket.assignee]
    elif action == EscalationAction.NOTIFY_SUPERVISOR:
        recipients = [ticket.team.supervisor if ticket.team else None]
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
            metric=metric_label(clock),
            level=event.level,
        )
