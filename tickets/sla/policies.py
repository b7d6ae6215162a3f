"""Which SLA policy governs a ticket, and the calendars its targets count on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db.models import Prefetch

from tickets.models import BusinessCalendar, SlaPolicy, SlaTarget

from .calendar import WorkCalendar

if TYPE_CHECKING:
    from tickets.models import BusinessCalendar, SlaPolicy, SlaTarget, Ticket


@dataclass(frozen=True)
class LoadedPolicy:
    policy: SlaPolicy
    team_ids: frozenset[int]
    targets: dict[str, SlaTarget]  # by metric

    def matches(self, ticket: Ticket) -> bool:
        p = self.policy
        return (
            (not p.kinds or ticket.kind in p.kinds)
            and (not p.priorities or ticket.priority in p.priorities)
            and (not p.channels or ticket.channel in p.channels)
            and (not p.customer_tiers or ticket.customer.tier in p.customer_tiers)
            and (not self.team_ids or ticket.team_id in self.team_ids)
        )


def active_policies() -> list[LoadedPolicy]:
    """The active policies in order, with their targets and calendars: one query each for the
    policies, teams, targets, calendars and the calendars' hours, holidays and make-up days."""
    calendars = BusinessCalendar.objects.prefetch_related("hours", "holidays", "workdays")
    policies = SlaPolicy.objects.filter(active=True).prefetch_related(
        "teams",
        Prefetch(
            "targets",
            queryset=SlaTarget.objects.prefetch_related(Prefetch("calendar", queryset=calendars)),
        ),
    )
    return [
        LoadedPolicy(
            policy=p,
            team_ids=frozenset(t.id for t in p.teams.all()),
            targets={t.metric: t for t in p.targets.all()},
        )
        for p in policies
    ]


def policy_for(ticket: Ticket, policies: list[LoadedPolicy]) -> LoadedPolicy | None:
    """The first active policy whose conditions match the ticket."""
    return next((p for p in policies if p.matches(ticket)), None)


_calendar_cache: dict[tuple[int, object], WorkCalendar] = {}


def calendar_for(target: SlaTarget | None) -> WorkCalendar:
    """The target's calendar; calendar time (always open) when it has none."""
    calendar = target.calendar if target is not None else None  # no query when it has none
    if calendar is None:
        return WorkCalendar.always_open()
    return work_calendar_of(calendar)


def work_calendar_of(cal: BusinessCalendar) -> WorkCalendar:
    """The ``WorkCalendar`` of a ``BusinessCalendar`` row, kept until the row changes."""
    key = (cal.pk, cal.updated_at)
    if key not in _calendar_cache:
        if len(_calendar_cache) > 256:
            _calendar_cache.clear()
        _calendar_cache[key] = cal.work_calendar()
    return _calendar_cache[key]
