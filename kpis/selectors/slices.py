"""The slice a KPI request reads: whole local days and the team, agent, channel, kind and tier
filters, as conditions on tickets and on the rollups; and the names shown for a dimension's
keys."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.contrib.auth import get_user_model
from django.db.models import Q

from kpis.rollups.days import day_start
from orders.models import Order
from tickets.models import Team, Ticket

DIMENSION_NAMES = ("team", "agent", "channel", "kind", "tier")
GRANULARITIES = ("day", "week", "month")


@dataclass(frozen=True)
class Slice:
    """Whole local days ``start``–``end`` (inclusive) and the filters; empty filter = all."""

    start: date
    end: date
    team_ids: tuple[int, ...] | None = None  # None: every team
    agent_id: int | None = None
    channel: str = ""
    kind: str = ""
    tier: str = ""

    @property
    def start_at(self) -> datetime:
        return day_start(self.start)

    @property
    def end_at(self) -> datetime:
        return day_start(self.end + timedelta(days=1))


def slice_ticket_q(s: Slice, prefix: str = "") -> Q:
    """The slice's filters on a ticket reached through ``prefix`` (``""``, ``"ticket__"``)."""
    q = Q()
    if s.team_ids is not None:
        q &= Q(**{f"{prefix}team_id__in": s.team_ids})
    if s.agent_id is not None:
        q &= Q(**{f"{prefix}assignee_id": s.agent_id}) | Q(
            **{f"{prefix}assignee__isnull": True, f"{prefix}owner_id": s.agent_id}
        )
    if s.channel:
        q &= Q(**{f"{prefix}channel": s.channel})
    if s.kind:
        q &= Q(**{f"{prefix}kind": s.kind})
    if s.tier:
        q &= Q(**{f"{prefix}customer__tier": s.tier})
    return q


CUBE_COLUMNS = {
    "team": "team_id",
    "agent": "agent_id",
    "channel": "channel",
    "kind": "kind",
    "tier": "tier",
}


def slice_cube_q(s: Slice, columns: dict[str, str] = CUBE_COLUMNS) -> Q:
    """The slice's team, agent, channel, kind and tier on rows that carry them in ``columns``
    (by default a rollup's own)."""
    q = Q()
    if s.team_ids is not None:
        q &= Q(**{f"{columns['team']}__in": s.team_ids})
    if s.agent_id is not None:
        q &= Q(**{columns["agent"]: s.agent_id})
    for name in ("channel", "kind", "tier"):
        if getattr(s, name):
            q &= Q(**{columns[name]: getattr(s, name)})
    return q


def slice_day_rollup_q(s: Slice) -> Q:
    """The slice on a rollup per day × team × agent × channel × kind × tier."""
    return Q(day__gte=s.start, day__lte=s.end) & slice_cube_q(s)


def dimension_labels(dimension: str, keys) -> dict:
    keys = [k for k in keys if k is not None]
    if dimension == "team":
        return dict(Team.objects.filter(pk__in=keys).values_list("pk", "name"))
    if dimension == "agent":
        users = get_user_model().objects.filter(pk__in=keys)
        return {u.pk: u.get_full_name() or u.get_username() for u in users}
    choices = {
        "channel": Ticket._meta.get_field("channel").choices,
        "kind": Ticket._meta.get_field("kind").choices,
        "tier": Order._meta.get_field("customer").related_model._meta.get_field("tier").choices,
    }[dimension]
    return {value: str(label) for value, label in choices}
