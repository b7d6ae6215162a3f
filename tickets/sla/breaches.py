"""Recording what the SLA clocks reached: warnings and breaches, one event row each, with
their notifications, and the first escalation level of a breach scheduled.

Shared by the periodic sweep (``sweeper``) and by the ticket services, whose clock updates
(``clocks.ticket_clocks_sync``) record a breach when a clock stops after its due time.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import F

from csplatform.bulk import RowWriter
from tickets.choices import ClockStatus
from tickets.models import (
    BusinessCalendar,
    EscalationRule,
    Notification,
    SlaClock,
    SlaEvent,
    SlaEventKind,
    Ticket,
)
from tickets.notifications import TEXTS
from tickets.signals import sla_breached

from .policies import work_calendar_of
from .steps import breach_escalation

ACTIVE, BREACHED = ClockStatus.ACTIVE, ClockStatus.BREACHED

# Who hears of a clock's event: user ids, None for nobody.
Recipients = Callable[["DueClock"], Iterable[int | None]]


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
    ticket_number: str | None
    ticket_kind: str
    assignee_id: int | None  # None as well when the assignee's account is inactive
    supervisor_id: int | None  # the team supervisor, likewise
    hold_calendar_id: int | None  # the calendar its notifications wait for, if any
    holds: bool  # the target holds notifications outside business hours
    status: str = ACTIVE
    escalation_level: int = 0
    next_escalation_at: datetime | None = None


def _due_detail(clock: DueClock) -> dict[str, Any]:
    """When the clock was due: its due time, or for a clock that stopped late (its due time
    already cleared) the time it breached at."""
    due = clock.due_at or clock.breached_at
    return {"due_at": due.isoformat() if due else None}


def metric_label(clock: DueClock | SlaClock) -> str:
    """The metric as the notifications name it."""
    return clock.metric.replace("_", " ")


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
            calendar = work_calendar_of(BusinessCalendar.objects.get(pk=clock.hold_calendar_id))
            at = calendar.next_opening(self.now) if calendar.has_open_time else self.now
            self.by_calendar[clock.hold_calendar_id] = at
        return at


def _notifications(
    clocks: list[DueClock],
    event_ids: list[int],
    recipients: Recipients,
    kind: str,
    now: datetime,
) -> list[dict[str, Any]]:
    """One notification per distinct recipient of each clock's event, as rows to insert."""
    deliveries = _Deliveries(now)
    rows = []
    for clock, event_id in zip(clocks, event_ids, strict=True):
        text = TEXTS[kind].format(number=clock.ticket_number, metric=metric_label(clock))[:300]
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


def alerts_write(clocks: list[DueClock], kind: str, recipients: Recipients, now: datetime) -> None:
    """Insert one ``kind`` event per clock and its notifications: two COPYs on PostgreSQL."""
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


def escalation_ladders(
    clocks: Iterable[DueClock | SlaClock],
) -> dict[tuple[int | None, str], list[EscalationRule]]:
    """The escalation rules of each (policy, metric) of the clocks, level by level."""
    keys = {(c.policy_id, c.metric) for c in clocks if c.policy_id}
    rules: dict = {key: [] for key in keys}
    if keys:
        for rule in EscalationRule.objects.filter(policy_id__in={k[0] for k in keys}):
            if (rule.policy_id, rule.metric) in rules:
                rules[(rule.policy_id, rule.metric)].append(rule)
    return rules


def breaches_record(clocks: list[SlaClock], *, ticket: Ticket, now: datetime) -> None:
    """Record the breaches of clocks a ticket service stopped late (``ticket``, which it
    holds locked, as it stands in that service): one event each, notify, schedule
    escalations. The clocks are saved as breached already."""
    if not clocks:
        return
    team = ticket.team
    supervisor_id = team.supervisor_id if team else None
    active = set(
        get_user_model()
        .objects.filter(
            pk__in={pk for pk in (ticket.assignee_id, supervisor_id) if pk is not None},
            is_active=True,
        )
        .values_list("pk", flat=True)
    )
    breaches_write(
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


def breaches_write(clocks: list[DueClock], now: datetime) -> None:
    """One breach event per clock (status and breach time set), its notifications to the
    assignee and the team supervisor, and the first escalation level scheduled."""
    if not clocks:
        return
    alerts_write(clocks, SlaEventKind.BREACH.value, lambda c: [c.assignee_id, c.supervisor_id], now)
    rules = escalation_ladders(clocks)
    for clock in clocks:
        ladder = rules.get((clock.policy_id, clock.metric), [])
        clock.escalation_level = 0
        first = ladder[0].minutes_after_breach if ladder else None
        clock.next_escalation_at = breach_escalation(clock, first)
    _breach_fields_save(clocks)
    breached = [(c.ticket_id, c.pk, c.metric, c.ticket_kind) for c in clocks]
    transaction.on_commit(lambda: _breaches_announce(breached, now))


def _breaches_announce(breached: list[tuple[int, int, str, str]], now: datetime) -> None:
    for ticket_id, clock_id, metric, kind in breached:
        sla_breached.send(
            sender=Ticket,
            ticket_id=ticket_id,
            ticket_kind=kind,
            clock_id=clock_id,
            metric=metric,
            at=now,
        )


def _breach_fields_save(clocks: list[DueClock]) -> None:
    """Write status, breached_at, escalation level and next escalation of breached clocks.

    Clocks breached at their stored due time and escalating after the same delay share one
    UPDATE that reads ``due_at``: a batch takes a few statements, where ``bulk_update``
    would build a CASE branch per clock and field.
    """
    groups: dict[tuple[Any, ...], list[int]] = defaultdict(list)
    for c in clocks:
        at_due = c.due_at is not None and c.breached_at == c.due_at
        delay = (
            c.next_escalation_at - c.breached_at if c.next_escalation_at and c.breached_at else None
        )
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
