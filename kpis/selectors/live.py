"""The live board: open tickets, their age and status, breaches running and coming, and the
agents' load, as they are now (not of a period)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Count, Q
from django.utils import timezone

from kpis.selectors.slices import Slice, dimension_labels, slice_ticket_q
from tickets.choices import OPEN_STATUSES, Presence, TicketStatus
from tickets.models import AgentProfile, ClockStatus, SlaClock, Ticket

BACKLOG_AGES = (
    ("lt_1h", None, timedelta(hours=1)),
    ("1h_4h", timedelta(hours=1), timedelta(hours=4)),
    ("4h_24h", timedelta(hours=4), timedelta(hours=24)),
    ("1d_2d", timedelta(hours=24), timedelta(hours=48)),
    ("gt_2d", timedelta(hours=48), None),
)


def live_tickets(s: Slice):
    """Open tickets of the slice's team, agent, channel, kind and tier (not of its period)."""
    return Ticket.objects.filter(slice_ticket_q(s), status__in=OPEN_STATUSES)


def ticket_backlog(s: Slice, *, now: datetime) -> dict:
    """The slice's open tickets counted by age and by status."""
    aggregates = {"total": Count("pk")}
    for key, older, younger in BACKLOG_AGES:
        q = Q()
        if older is not None:
            q &= Q(created_at__lte=now - older)
        if younger is not None:
            q &= Q(created_at__gt=now - younger)
        aggregates[f"age_{key}"] = Count("pk", filter=q)
    for status in OPEN_STATUSES:
        aggregates[f"status_{status}"] = Count("pk", filter=Q(status=status))
    sums = live_tickets(s).aggregate(**aggregates)
    return {
        "total": sums["total"],
        "by_age": {key: sums[f"age_{key}"] for key, _o, _y in BACKLOG_AGES},
        "by_status": {str(status): sums[f"status_{status}"] for status in OPEN_STATUSES},
    }


def breached_now(s: Slice) -> int:
    return SlaClock.objects.filter(
        slice_ticket_q(s, "ticket__"), status=ClockStatus.BREACHED, stopped_at__isnull=True
    ).count()


def open_load_by_agent(team_ids: tuple[int, ...] | None) -> list[dict]:
    """Agents online (or away) with their open tickets and capacity, for the live monitor."""
    profiles = AgentProfile.objects.filter(
        presence__in=(Presence.ONLINE, Presence.AWAY)
    ).select_related("user")
    if team_ids is not None:
        profiles = profiles.filter(user__teams__in=team_ids).distinct()
    profiles = list(profiles)
    # One indexed count per page (assignee, status), not a join of every ticket.
    load = dict(
        Ticket.objects.filter(
            assignee_id__in=[p.user_id for p in profiles], status__in=OPEN_STATUSES
        )
        .values_list("assignee_id")
        .annotate(n=Count("pk"))
        .order_by()
    )
    rows = [
        {
            "agent": p.user.get_full_name() or p.user.get_username(),
            "presence": p.presence,
            "presence_label": p.get_presence_display(),
            "open": load.get(p.user_id, 0),
            "capacity": p.capacity,
        }
        for p in profiles
    ]
    rows.sort(key=lambda r: (-r["open"], r["agent"]))
    return rows


def team_queues(team_ids: tuple[int, ...] | None) -> list[dict]:
    """Open tickets per team and status, for the live monitor."""
    tickets = Ticket.objects.filter(status__in=OPEN_STATUSES)
    if team_ids is not None:
        tickets = tickets.filter(team_id__in=team_ids)
    aggregates = {str(s): Count("pk", filter=Q(status=s)) for s in OPEN_STATUSES}
    rows = tickets.values("team_id").annotate(total=Count("pk"), **aggregates).order_by()
    names = dimension_labels("team", [r["team_id"] for r in rows])
    out = [{"team": names.get(r["team_id"], "—"), **r} for r in rows]
    out.sort(key=lambda r: (-r["total"], r["team"]))
    return out


def breaching_soon(team_ids: tuple[int, ...] | None, *, now: datetime, limit: int = 20):
    """Open tickets past their warning time and not yet due, soonest due first."""
    tickets = Ticket.objects.filter(
        status__in=OPEN_STATUSES, next_warn_at__lte=now, next_due_at__gt=now
    )
    if team_ids is not None:
        tickets = tickets.filter(team_id__in=team_ids)
    return list(tickets.select_related("team", "assignee").order_by("next_due_at", "id")[:limit])


def live_board(team_ids: tuple[int, ...] | None, *, now: datetime | None = None) -> dict:
    now = now or timezone.now()
    scope = Slice(start=now.date(), end=now.date(), team_ids=team_ids)
    return {
        "now": now,
        "queues": team_queues(team_ids),
        "breaching_soon": breaching_soon(team_ids, now=now),
        "breached_now": breached_now(scope),
        "agents": open_load_by_agent(team_ids),
        "backlog": ticket_backlog(scope, now=now),
        "solved_status": TicketStatus.SOLVED,
    }
