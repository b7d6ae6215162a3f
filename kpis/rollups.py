"""Building the KPI facts and day rollups from the source tables, incrementally and in full.

Incremental refresh (every minute): the tickets whose ``updated_at`` is at or after the
watermark (less a few minutes of overlap for transactions that committed late) get their fact
row rebuilt; every local day that the old or the new fact counts on is summed again from the
facts and the stopped SLA clocks. Every ticket service sets ``updated_at`` in the same
transaction as the change, replies and clock stops included. The nightly rebuild re-derives
every fact and every day from scratch, which also mends anything the watermark could miss
(a ticket deleted, a change written without touching ``updated_at``).
"""

from __future__ import annotations

import zoneinfo
from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Case, Count, IntegerField, Max, Min, Q, Sum, Value, When
from django.db.models.functions import TruncDate
from django.utils import timezone

from csplatform.bulk import RowWriter
from orders.models import Order
from tickets.choices import AuthorKind, TicketStatus
from tickets.models import ClockStatus, Message, SlaClock, Ticket

from .definitions import HISTOGRAM_BUCKETS, SLA_METRICS, histogram_bucket
from .models import (
    CALENDARS,
    TIMED,
    OrderDayRollup,
    RefreshState,
    TicketDayAgentRollup,
    TicketDayRollup,
    TicketDayTeamRollup,
    TicketFact,
)

TIMED_METRICS = {"frt": "first_response", "handling": "handling", "closure": "closure"}
DIMENSIONS = ("team_id", "agent_id", "channel", "kind", "tier")
STOPPED = (ClockStatus.MET, ClockStatus.BREACHED)
FINISHED = (TicketStatus.SOLVED, TicketStatus.CLOSED)
# Re-read a little before the watermark: a transaction that began earlier may commit later.
OVERLAP = timedelta(minutes=5)
STATE = "tickets"
ORDERS_STATE = "orders"
# Orders are counted again from a little before the newest id counted: an order whose
# transaction took its id earlier may commit later.
ORDER_ID_OVERLAP = 1000


def business_tz() -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(settings.TIME_ZONE)


def local_day(moment: datetime) -> date:
    return moment.astimezone(business_tz()).date()


def day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=business_tz())


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


# --- Day rollups ------------------------------------------------------------------------------


def _count_if(condition: Q) -> Sum:
    return Sum(Case(When(condition, then=Value(1)), default=Value(0), output_field=IntegerField()))


def _runs(days: list[date]) -> list[tuple[date, date]]:
    """Sorted days as runs of consecutive days, ``(first, last)``."""
    runs: list[list[date]] = []
    for day in days:
        if runs and day == runs[-1][1] + timedelta(days=1):
            runs[-1][1] = day
        else:
            runs.append([day, day])
    return [(first, last) for first, last in runs]


def _timed_aggregates(timed: str) -> dict:
    aggregates = {
        f"{timed}_count": Count("pk"),
        f"{timed}_met": _count_if(Q(**{f"{timed}_met": True})),
    }
    for cal in CALENDARS:
        aggregates[f"{timed}_{cal}_seconds"] = Sum(f"{timed}_{cal}_seconds")
        for bucket in range(HISTOGRAM_BUCKETS):
            aggregates[f"{timed}_{cal}_h{bucket:02d}"] = _count_if(
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
        for row in queryset:
            key = (row.pop(day_field), *(row.pop(d) for d in DIMENSIONS))
            rows[key].update(row)

    add("created_day", {"created": Count("pk"), "finished": _count_if(Q(finished=True))})
    add(
        "solved_day",
        {
            "solved": Count("pk"),
            "fcr": _count_if(Q(fcr=True)),
            "reopened": _count_if(Q(reopened=True)),
        },
    )
    for timed in TIMED:
        add(f"{timed}_day", _timed_aggregates(timed))

    fact = "ticket__kpi_fact__"
    stopped = Q()
    for first, last in _runs(days):
        stopped |= Q(
            stopped_at__gte=day_start(first), stopped_at__lt=day_start(last + timedelta(1))
        )
    clock_rows = (
        SlaClock.objects.filter(stopped, status__in=STOPPED, ticket__kpi_fact__merged=False)
        .annotate(day=TruncDate("stopped_at", tzinfo=business_tz()))
        .values("day", *(f"{fact}{d}" for d in DIMENSIONS), "metric")
        .annotate(
            met=_count_if(Q(status=ClockStatus.MET)),
            breached=_count_if(Q(status=ClockStatus.BREACHED)),
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


def _collapse(rows: dict[tuple, dict], keep: tuple[int, ...]) -> dict[tuple, dict]:
    """The rows summed over the key positions not in ``keep``."""
    out: dict[tuple, dict] = defaultdict(lambda: defaultdict(int))
    for key, values in rows.items():
        target = out[tuple(key[i] for i in keep)]
        for name, value in values.items():
            target[name] += value or 0
    return out


# Key positions in (day, team_id, agent_id, channel, kind, tier) that each rollup keeps.
GRAINS = (
    (TicketDayRollup, (0, 1, 2, 3, 4, 5)),
    (TicketDayTeamRollup, (0, 1, 3, 4, 5)),
    (TicketDayAgentRollup, (0, 1, 2)),
)
KEY_NAMES = ("day", *DIMENSIONS)


def rollup_days(days: Iterable[date], *, chunk: int = 31) -> int:
    """Sum these days again from the facts and clocks, at every grain; returns the number of
    finest-grain rows written."""
    ordered = sorted(set(days))
    written = 0
    for i in range(0, len(ordered), chunk):
        some = ordered[i : i + chunk]
        rows = _rows_for_days(some)
        with transaction.atomic():
            for model, keep in GRAINS:
                grain = rows if len(keep) == len(KEY_NAMES) else _collapse(rows, keep)
                names = [KEY_NAMES[k] for k in keep]
                model.objects.filter(day__in=some).delete()
                RowWriter(timezone.now(), model).insert_instances(
                    model,
                    [
                        model(**dict(zip(names, key, strict=True)), **values)
                        for key, values in grain.items()
                    ],
                )
        written += len(rows)
    return written


# --- Orders per day ------------------------------------------------------------------------


def order_days_rollup(days: Iterable[date]) -> None:
    """Count again the orders placed on these local days, per channel and customer tier.

    An order's tier is its customer's when counted: a customer who changes tier moves their
    orders at the nightly rebuild.
    """
    for first, last in _runs(sorted(set(days))):
        counts = (
            Order.objects.filter(
                placed_at__gte=day_start(first), placed_at__lt=day_start(last + timedelta(1))
            )
            .annotate(day=TruncDate("placed_at", tzinfo=business_tz()))
            .values_list("day", "channel", "customer__tier")
            .annotate(n=Count("pk"))
            .order_by()
        )
        rows = [
            OrderDayRollup(day=day, channel=channel, tier=tier, orders=n)
            for day, channel, tier, n in counts
        ]
        OrderDayRollup.objects.filter(day__gte=first, day__lte=last).delete()
        RowWriter(timezone.now(), OrderDayRollup).insert_instances(OrderDayRollup, rows)


def _orders_refresh(*, rebuild: bool) -> int:
    """Bring the orders per day up to date with the orders created since the last count (all
    of them when rebuilding); returns the number of days counted again."""
    state, _ = RefreshState.objects.select_for_update().get_or_create(name=ORDERS_STATE)
    if rebuild or state.last_id is None:
        span = Order.objects.aggregate(first=Min("placed_at"), last=Max("placed_at"), id=Max("pk"))
        OrderDayRollup.objects.all().delete()
        days: set[date] = set()
        if span["id"] is not None:
            day, last = local_day(span["first"]), local_day(span["last"])
            while day <= last:
                days.add(day)
                day += timedelta(days=1)
        newest = span["id"]
    else:
        new = list(
            Order.objects.filter(pk__gt=state.last_id - ORDER_ID_OVERLAP).values_list(
                "pk", "placed_at"
            )
        )
        days = {local_day(placed_at) for _, placed_at in new}
        newest = max((pk for pk, _ in new), default=None)
    order_days_rollup(days)
    state.last_id = max(newest or 0, state.last_id or 0)
    state.save(update_fields=["last_id"])
    return len(days)


# --- Entry points -------------------------------------------------------------------------------


def kpis_refresh(*, now: datetime | None = None, batch_size: int = 5000) -> dict:
    """Bring facts and rollups up to date with the tickets changed since the last refresh.

    Runs every minute; reads only the changed tickets (index on ``updated_at``) and sums again
    only the days they count on. The first run ever, without a watermark, rebuilds everything.
    """
    now = now or timezone.now()
    RefreshState.objects.get_or_create(name=STATE)
    with transaction.atomic():
        # A refresh or rebuild still running holds the row: this minute's refresh steps aside.
        state = RefreshState.objects.select_for_update(skip_locked=True).filter(name=STATE).first()
        if state is None:
            return {"tickets": 0, "days": 0, "skipped": True}
        if state.watermark is None:
            return kpis_rebuild(now=now)
        since = state.watermark - OVERLAP
        dirty: set[date] = set()
        seen = 0
        newest = state.watermark
        while True:
            changed = list(
                Ticket.objects.filter(updated_at__gte=since)
                .order_by("updated_at", "id")
                .values_list("id", "updated_at")[:batch_size]
            )
            if not changed:
                break
            dirty |= ticket_facts_refresh([pk for pk, _ in changed])
            seen += len(changed)
            newest = max(newest, changed[-1][1])
            if len(changed) < batch_size:
                break
            since = changed[-1][1]
            # Rows that share the last timestamp were read; the next batch starts after them.
            if Ticket.objects.filter(updated_at=since).count() >= batch_size:
                since += timedelta(microseconds=1)
        rollup_days(dirty)
        order_days = _orders_refresh(rebuild=False)
        state.watermark = newest
        state.refreshed_at = now
        state.save()
    return {"tickets": seen, "days": len(dirty), "order_days": order_days}


def kpis_rebuild(*, now: datetime | None = None, batch_size: int = 5000) -> dict:
    """Re-derive every fact and every day's rollup from the source tables (nightly)."""
    now = now or timezone.now()
    with transaction.atomic():
        state, _ = RefreshState.objects.select_for_update().get_or_create(name=STATE)
        newest = Ticket.objects.order_by("-updated_at").values_list("updated_at", flat=True)
        newest = newest.first()
        TicketFact.objects.all().delete()
        days: set[date] = set()
        last_id = 0
        seen = 0
        while True:
            ids = list(
                Ticket.objects.filter(pk__gt=last_id)
                .order_by("pk")
                .values_list("pk", flat=True)[:batch_size]
            )
            if not ids:
                break
            facts = ticket_facts_build(ids)
            RowWriter(timezone.now(), TicketFact).insert_instances(TicketFact, facts)
            for fact in facts:
                days.update(date.fromisoformat(d) for d in fact.days)
            seen += len(ids)
            last_id = ids[-1]
        for model, _keep in GRAINS:
            model.objects.exclude(day__in=days).delete()
        rollup_days(days)
        order_days = _orders_refresh(rebuild=True)
        state.watermark = newest or now
        state.refreshed_at = state.rebuilt_at = now
        state.save()
    return {"tickets": seen, "days": len(days), "order_days": order_days}
