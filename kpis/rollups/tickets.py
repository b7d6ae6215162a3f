"""Ticket facts and the ticket rollups per day.

A ticket's fact row is rebuilt whenever the ticket changes: the tickets whose ``updated_at`` is
at or after the watermark get theirs rebuilt, and every local day the old or the new fact counts
on is summed again from the facts and the stopped SLA clocks. Every ticket service sets
``updated_at`` in the same transaction as the change, replies and clock stops included. The
nightly rebuild re-derives every fact and every day from scratch, which also mends anything the
watermark could miss (a ticket deleted, a change written without touching ``updated_at``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, timedelta

from django.db.models import Count, F, Q, Sum, Value
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from csplatform.bulk import RowWriter
from kpis.definitions import HISTOGRAM_BUCKETS, SLA_METRICS, histogram_bucket
from kpis.models import CALENDARS, ROLLUPS, TIMED, TicketFact
from kpis.rollups.days import (
    business_tz,
    count_if,
    day_runs,
    day_start,
    days_replace,
    local_day,
    rows_add,
)
from tickets.choices import AuthorKind, SlaMetric, TicketStatus
from tickets.models import ClockStatus, Message, SlaClock, Ticket

TIMED_METRICS = {
    "frt": SlaMetric.FIRST_RESPONSE,
    "handling": SlaMetric.HANDLING,
    "closure": SlaMetric.CLOSURE,
}
DIMENSIONS = ("team_id", "agent_id", "channel", "kind", "tier")
STOPPED = (ClockStatus.MET, ClockStatus.BREACHED)
FINISHED = (TicketStatus.SOLVED, TicketStatus.CLOSED)
TICKETS_STATE = "tickets"
# The rollup dimensions of a ticket reached from another row, as annotation names.
TICKET_DIMENSION_ALIASES = ("d_team", "d_agent", "d_channel", "d_kind", "d_tier")


def ticket_dimensions(prefix: str) -> dict:
    """The rollup dimensions of the ticket reached through ``prefix``, as annotations."""
    return {
        "d_team": F(f"{prefix}team_id"),
        "d_agent": Coalesce(f"{prefix}assignee_id", f"{prefix}owner_id"),
        "d_channel": Coalesce(f"{prefix}channel", Value("")),
        "d_kind": Coalesce(f"{prefix}kind", Value("")),
        "d_tier": Coalesce(f"{prefix}customer__tier", Value("")),
    }


# --- Facts --------------------------------------------------------------------------------------


def ticket_facts_build(ticket_ids: Iterable[int]) -> list[TicketFact]:
    """The fact rows of these tickets, read in a fixed number of queries."""
    ids = list(ticket_ids)
    tickets = Ticket.objects.filter(pk__in=ids).values(
        "id",
        "team_id",
        "assignee_id",
        "owner_id",
        "channel",
        "kind",
        "customer__tier",
        "merged_into_id",
        "status",
        "created_at",
        "solved_at",
        "reopen_count",
    )
    replies = dict(
        Message.objects.filter(
            ticket_id__in=ids, author_kind=AuthorKind.AGENT, internal=False, automated=False
        )
        .values("ticket_id")
        .annotate(n=Count("id"))
        .values_list("ticket_id", "n")
    )
    clocks = defaultdict(list)
    for clock in SlaClock.objects.filter(
        ticket_id__in=ids, status__in=STOPPED, stopped_at__isnull=False
    ).values("ticket_id", "metric", "cycle", "status", "started_at", "stopped_at", "used"):
        clocks[clock["ticket_id"]].append(clock)

    facts = []
    for t in tickets:
        finished = t["status"] in FINISHED
        solved = finished and t["solved_at"] is not None
        fact = TicketFact(
            ticket_id=t["id"],
            team_id=t["team_id"],
            agent_id=t["assignee_id"] or t["owner_id"],
            channel=t["channel"],
            kind=t["kind"],
            tier=t["customer__tier"],
            merged=t["merged_into_id"] is not None,
            created_day=local_day(t["created_at"]),
            finished=finished,
            solved_day=local_day(t["solved_at"]) if solved else None,
            reopened=t["reopen_count"] > 0,
            fcr=solved and t["reopen_count"] == 0 and replies.get(t["id"], 0) == 1,
        )
        days = {fact.created_day}
        if fact.solved_day:
            days.add(fact.solved_day)
        for clock in clocks[t["id"]]:
            stopped_day = local_day(clock["stopped_at"])
            days.add(stopped_day)
            timed = next((k for k, v in TIMED_METRICS.items() if v == clock["metric"]), None)
            if timed is None or clock["cycle"] != 1:
                continue
            seconds = {
                "cal": int((clock["stopped_at"] - clock["started_at"]).total_seconds()),
                "bus": int(clock["used"].total_seconds()),
            }
            setattr(fact, f"{timed}_day", stopped_day)
            setattr(fact, f"{timed}_met", clock["status"] == ClockStatus.MET)
            for cal in CALENDARS:
                setattr(fact, f"{timed}_{cal}_seconds", seconds[cal])
                setattr(fact, f"{timed}_{cal}_bucket", histogram_bucket(seconds[cal]))
        fact.days = sorted(d.isoformat() for d in days)
        facts.append(fact)
    return facts


def ticket_facts_refresh(ticket_ids: Iterable[int]) -> set[date]:
    """Rebuild these tickets' facts; returns every day the old or new facts count on."""
    ids = list(ticket_ids)
    dirty: set[date] = set()
    for days in TicketFact.objects.filter(ticket_id__in=ids).values_list("days", flat=True):
        dirty.update(date.fromisoformat(d) for d in days)
    facts = ticket_facts_build(ids)
    for fact in facts:
        dirty.update(date.fromisoformat(d) for d in fact.days)
    TicketFact.objects.filter(ticket_id__in=ids).delete()
    RowWriter(timezone.now(), TicketFact).insert_instances(TicketFact, facts)
    return dirty


# --- Ticket rollups per day --------------------------------------------------------------------


def _timed_aggregates(timed: str) -> dict:
    aggregates = {
        f"{timed}_count": Count("pk"),
        f"{timed}_met": count_if(Q(**{f"{timed}_met": True})),
    }
    for cal in CALENDARS:
        aggregates[f"{timed}_{cal}_seconds"] = Sum(f"{timed}_{cal}_seconds")
        for bucket in range(HISTOGRAM_BUCKETS):
            aggregates[f"{timed}_{cal}_h{bucket:02d}"] = count_if(
                Q(**{f"{timed}_{cal}_bucket": bucket})
            )
    return aggregates


def _rows_for_days(days: list[date]) -> dict[tuple, dict]:
    """Rollup rows of these days, keyed by (day, *dimensions): one query per measure group."""
    rows: dict[tuple, dict] = defaultdict(dict)
    live = TicketFact.objects.filter(merged=False)

    def add(day_field: str, aggregates: dict) -> None:
        queryset = (
            live.filter(**{f"{day_field}__in": days})
            .values(day_field, *DIMENSIONS)
            .annotate(**aggregates)
            .order_by()
        )
        rows_add(rows, queryset, day_field, DIMENSIONS)

    add("created_day", {"created": Count("pk"), "finished": count_if(Q(finished=True))})
    add(
        "solved_day",
        {
            "solved": Count("pk"),
            "fcr": count_if(Q(fcr=True)),
            "reopened": count_if(Q(reopened=True)),
        },
    )
    for timed in TIMED:
        add(f"{timed}_day", _timed_aggregates(timed))

    fact = "ticket__kpi_fact__"
    stopped = Q()
    for first, last in day_runs(days):
        stopped |= Q(
            stopped_at__gte=day_start(first), stopped_at__lt=day_start(last + timedelta(1))
        )
    clock_rows = (
        SlaClock.objects.filter(stopped, status__in=STOPPED, ticket__kpi_fact__merged=False)
        .annotate(day=TruncDate("stopped_at", tzinfo=business_tz()))
        .values("day", *(f"{fact}{d}" for d in DIMENSIONS), "metric")
        .annotate(
            met=count_if(Q(status=ClockStatus.MET)),
            breached=count_if(Q(status=ClockStatus.BREACHED)),
        )
        .order_by()
    )
    for row in clock_rows:
        if row["metric"] not in SLA_METRICS:
            continue
        key = (row["day"], *(row[f"{fact}{d}"] for d in DIMENSIONS))
        rows[key][f"sla_{row['metric']}_met"] = row["met"]
        rows[key][f"sla_{row['metric']}_breached"] = row["breached"]
    return rows


def ticket_days_rollup(days: Iterable[date], *, chunk: int = 31) -> int:
    """Sum these days again from the facts and clocks, at every grain; returns the number of
    finest-grain rows written."""
    ordered = sorted(set(days))
    written = 0
    for i in range(0, len(ordered), chunk):
        some = ordered[i : i + chunk]
        rows = _rows_for_days(some)
        days_replace(ROLLUPS, some, rows)
        written += len(rows)
    return written
