"""The KPI figures for a slice: read by the dashboard, the API and the CSV export alike.

Ticket figures come from the day rollups (sums and histograms; the coarsest rollup that holds
the slice, one aggregate query per table or chart); survey, complaint, return and order figures
from bounded aggregate queries on their own tables (indexed on their period column). No query
returns more rows than a chart or a table shows; the formulas are in ``kpis.definitions``.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Count, Q, Sum
from django.utils import timezone

from complaints.models import Complaint
from orders.models import Order
from tickets.choices import OPEN_STATUSES, Presence, TicketStatus
from tickets.models import AgentProfile, ClockStatus, SlaClock, Team, Ticket

from . import definitions as d
from .models import (
    CALENDARS,
    MEASURES,
    ROLLUPS,
    SURVEY_MEASURES,
    SURVEY_ROLLUPS,
    TIMED,
    ComplaintDayRollup,
    KpiTarget,
    OrderDayRollup,
    ReturnDayRollup,
    rollup_histogram_field,
)
from .rollups import (
    ACCEPTANCE_LIMIT,
    COMPLAINT_DIMENSIONS,
    COMPLAINT_KEYS,
    TICKET_DIMENSION_ALIASES,
    complaints_counted,
    day_start,
    local_day,
)

DIMENSION_NAMES = ("team", "agent", "channel", "kind", "tier")
GRANULARITIES = ("day", "week", "month")
BACKLOG_AGES = (
    ("lt_1h", None, timedelta(hours=1)),
    ("1h_4h", timedelta(hours=1), timedelta(hours=4)),
    ("4h_24h", timedelta(hours=4), timedelta(hours=24)),
    ("1d_2d", timedelta(hours=24), timedelta(hours=48)),
    ("gt_2d", timedelta(hours=48), None),
)

SUM_FIELDS = MEASURES


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


def _ticket_q(s: Slice, prefix: str = "") -> Q:
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


def _cube_q(s: Slice, columns: dict[str, str] = CUBE_COLUMNS) -> Q:
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


def _day_rollup_q(s: Slice) -> Q:
    """The slice on a rollup per day × team × agent × channel × kind × tier."""
    return Q(day__gte=s.start, day__lte=s.end) & _cube_q(s)


def rollup_for(s: Slice, groups: tuple[str, ...] = (), family=ROLLUPS):
    """The coarsest of a rollup's grains (``family``: per day × team × agent × channel × kind ×
    tier, without the agent, per agent only) that holds what the slice filters and groups by."""
    finest, without_agent, by_agent_only = family
    by_agent = s.agent_id is not None or "agent_id" in groups
    by_ticket = any((s.channel, s.kind, s.tier)) or bool({"channel", "kind", "tier"} & set(groups))
    if by_agent and by_ticket:
        return finest
    return by_agent_only if by_agent else without_agent


def rollup_sums(
    s: Slice,
    *,
    fields=SUM_FIELDS,
    group_by: str | tuple[str, ...] | None = None,
    family=ROLLUPS,
) -> list[dict]:
    """``SUM`` of the rollup columns over the slice, optionally per value of ``group_by`` (a
    column or a tuple of columns), from the coarsest grain of ``family`` that holds them.

    Plain SQL, the same on PostgreSQL and SQLite: the ORM spends longer compiling two hundred
    ``Sum`` expressions than the database spends summing a year of rollup rows.
    """
    groups = (group_by,) if isinstance(group_by, str) else tuple(group_by or ())
    model = rollup_for(s, groups, family)
    known = {f.column for f in model._meta.concrete_fields}
    keys = ("day", *CUBE_COLUMNS.values())
    if any(g not in known or g not in keys for g in groups):
        raise ValueError(group_by)
    if any(f not in known or f in keys for f in fields):
        raise ValueError(fields)
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    where, params = ["day >= %s", "day <= %s"], [s.start, s.end]
    if s.team_ids is not None:
        if not s.team_ids:
            return []
        where.append(f"team_id IN ({', '.join(['%s'] * len(s.team_ids))})")
        params.extend(s.team_ids)
    if s.agent_id is not None:
        where.append("agent_id = %s")
        params.append(s.agent_id)
    for name in ("channel", "kind", "tier"):
        if getattr(s, name):
            where.append(f"{quote(name)} = %s")
            params.append(getattr(s, name))
    # Sums of bigint columns come back as bigint too (PostgreSQL would make them numeric).
    columns = ", ".join(f"CAST(SUM({quote(f)}) AS BIGINT)" for f in fields)
    grouped = ", ".join(quote(g) for g in groups)
    group = f"{grouped}, " if groups else ""
    # Identifiers are this model's own columns, quoted; every value is a parameter.
    sql = f"SELECT {group}{columns} FROM {table} WHERE {' AND '.join(where)}"  # noqa: S608  # nosec B608
    if groups:
        sql += f" GROUP BY {grouped}"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        names = [*groups, *fields]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


HISTOGRAM_FIELDS = {
    (timed, cal): tuple(rollup_histogram_field(timed, cal, b) for b in range(d.HISTOGRAM_BUCKETS))
    for timed in TIMED
    for cal in CALENDARS
}


def _histogram(sums: dict, timed: str, cal: str) -> list[int]:
    return [sums.get(name) or 0 for name in HISTOGRAM_FIELDS[timed, cal]]


def ticket_figures(sums: dict) -> dict:
    """Ticket and SLA figures from summed rollup columns (missing columns count as zero)."""

    def v(name):
        return sums.get(name) or 0

    out = {
        "tickets_created": v("created"),
        "tickets_solved": v("solved"),
        "resolution_rate": d.ratio(v("finished"), v("created")),
        "fcr_rate": d.ratio(v("fcr"), v("solved")),
        "reopen_rate": d.ratio(v("reopened"), v("solved")),
    }
    for timed in TIMED:
        for cal in CALENDARS:
            histogram = _histogram(sums, timed, cal)
            for stat, (_label, fraction) in d.PERCENTILE_STATS.items():
                out[f"{timed}_{stat}_{cal}"] = d.histogram_percentile(histogram, fraction)
            out[f"{timed}_mean_{cal}"] = d.mean(
                v(f"{timed}_{cal}_seconds") / 60, v(f"{timed}_count")
            )
    out["frt_within_target"] = d.ratio(v("frt_met"), v("frt_count"))
    met_all = breached_all = 0
    for metric in d.SLA_METRICS:
        met, breached = v(f"sla_{metric}_met"), v(f"sla_{metric}_breached")
        out[f"sla_{metric}"] = d.ratio(met, met + breached)
        met_all += met
        breached_all += breached
    out["sla_all"] = d.ratio(met_all, met_all + breached_all)
    return out


def survey_sums(
    s: Slice,
    group_by: str | tuple[str, ...] | None = None,
    *,
    cube_rows: list[dict] | None = None,
):
    """The survey counts of the slice, from the surveys per day; per value of ``group_by``
    (rollup columns) when given. From the slice's ``survey_cube`` when already read and it
    holds the columns."""
    groups = (group_by,) if isinstance(group_by, str) else tuple(group_by or ())
    if cube_rows is not None and set(groups) <= set(CUBE):
        if not groups:
            return _sum_rows(cube_rows, SURVEY_MEASURES)
        members: dict[tuple, list[dict]] = defaultdict(list)
        for row in cube_rows:
            members[tuple(row[g] for g in groups)].append(row)
        return [
            {**dict(zip(groups, key, strict=True)), **_sum_rows(rows, SURVEY_MEASURES)}
            for key, rows in members.items()
        ]
    rows = rollup_sums(s, fields=SURVEY_MEASURES, group_by=groups, family=SURVEY_ROLLUPS)
    if groups:
        return rows
    return rows[0] if rows else {}


def survey_cube(s: Slice) -> list[dict]:
    """The slice's survey counts per team × channel × kind × tier (a few hundred rows), from
    which the dashboard takes its survey totals and its breakdowns in one scan."""
    return survey_sums(s, group_by=CUBE)


def survey_figures(sums: dict) -> dict:
    def v(name):
        return sums.get(name) or 0

    return {
        "csat": d.ratio(v("csat_good"), v("csat_n")),
        "csat_mean": d.mean(v("csat_total"), v("csat_n")),
        "csat_response_rate": d.ratio(v("csat_answered"), v("csat_sent")),
        "nps": d.nps(v("nps_promoters"), v("nps_detractors"), v("nps_n")),
        "complaint_satisfaction": d.ratio(v("complaint_good"), v("complaint_n")),
    }


def orders_count(s: Slice) -> int:
    """Orders placed in the slice's period (of its channel and customer tier), from the
    orders per day."""
    days = OrderDayRollup.objects.filter(day__gte=s.start, day__lte=s.end)
    if s.channel:
        days = days.filter(channel=s.channel)
    if s.tier:
        days = days.filter(tier=s.tier)
    return days.aggregate(n=Sum("orders"))["n"] or 0


def commerce_figures(s: Slice, *, now: datetime, complaint_rows: list[dict] | None = None) -> dict:
    """Complaints, returns and refunds, and the orders they are measured against."""
    orders = orders_count(s)
    if complaint_rows is None:
        complaint_rows = complaint_cube(s, now=now)
    complaints = _sum_rows(complaint_rows, ("n", "accepted_24h", "decided"))
    money = ReturnDayRollup.objects.filter(_day_rollup_q(s)).aggregate(
        returns=Sum("returns"),
        amount=Sum("refund_amount"),
        refunds_of_requests=Sum("refunds_of_requests"),
        request_to_refund_seconds=Sum("request_to_refund_seconds"),
        received=Sum("received"),
        received_in_time=Sum("received_in_time"),
    )
    returns = money["returns"] or 0
    paid_for_requests = money["refunds_of_requests"] or 0
    return {
        "orders": orders,
        "complaints": complaints["n"],
        "complaints_per_1000_orders": d.per_thousand(complaints["n"], orders),
        "complaints_accepted_24h": d.ratio(complaints["accepted_24h"], complaints["decided"]),
        "returns": returns,
        "returns_per_1000_orders": d.per_thousand(returns, orders),
        "refund_amount": money["amount"] or 0,
        "refund_hours_mean": (
            money["request_to_refund_seconds"] / paid_for_requests / 3600
            if paid_for_requests
            else None
        ),
        "refund_within_3_working_days": d.ratio(
            money["received_in_time"] or 0, money["received"] or 0
        ),
    }


def complaint_breakdown(s: Slice, *, rows: list[dict] | None = None) -> dict:
    rows = complaint_cube(s, now=timezone.now()) if rows is None else rows
    return {
        "by_category": dict(sorted(_complaints_by(rows, "category").items())),
        "by_severity": dict(sorted(_complaints_by(rows, "severity").items())),
    }


# --- Live ----------------------------------------------------------------------------------------


def live_tickets(s: Slice):
    """Open tickets of the slice's team, agent, channel, kind and tier (not of its period)."""
    return Ticket.objects.filter(_ticket_q(s), status__in=OPEN_STATUSES)


def backlog(s: Slice, *, now: datetime) -> dict:
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
        _ticket_q(s, "ticket__"), status=ClockStatus.BREACHED, stopped_at__isnull=True
    ).count()


# --- The summary, series and tables ------------------------------------------------------------


def targets() -> dict[str, KpiTarget]:
    return {t.metric: t for t in KpiTarget.objects.all()}


CUBE = ("team_id", "channel", "kind", "tier")


def cube(s: Slice) -> list[dict]:
    """The slice's sums per team × channel × kind × tier (a few hundred rows at most), from
    which the dashboard takes its totals and its breakdowns in one scan."""
    return rollup_sums(s, group_by=CUBE)


def _sum_rows(rows, fields) -> dict:
    return {name: sum(row[name] or 0 for row in rows) for name in fields}


def figures(
    s: Slice,
    *,
    now: datetime | None = None,
    open_tickets: dict | None = None,
    cube_rows: list[dict] | None = None,
    survey_rows: list[dict] | None = None,
    complaint_rows: list[dict] | None = None,
) -> dict:
    """Every KPI of the slice, by metric key (``open_tickets``, ``cube_rows``: its backlog and
    its ``cube``, when already read)."""
    now = now or timezone.now()
    if cube_rows is not None:
        sums = _sum_rows(cube_rows, SUM_FIELDS)
    else:
        rows = rollup_sums(s)
        sums = rows[0] if rows else {}
    out = ticket_figures(sums)
    out.update(survey_figures(survey_sums(s, cube_rows=survey_rows)))
    commerce = commerce_figures(s, now=now, complaint_rows=complaint_rows)
    out.update({k: v for k, v in commerce.items() if k in d.METRICS})
    out["breached_now"] = breached_now(s)
    out["backlog"] = (open_tickets or backlog(s, now=now))["total"]
    return out


def metric_rows(values: dict, target_by_metric: dict[str, KpiTarget]) -> list[dict]:
    rows = []
    for key, metric in d.METRICS.items():
        value = values.get(key)
        if value is not None:
            value = int(value) if metric.unit == d.COUNT else float(value)
        target = target_by_metric.get(key)
        rows.append(
            {
                "key": key,
                "name": str(metric.label),
                "group": str(metric.group),
                "unit": metric.unit,
                "definition": str(metric.definition),
                "value": value,
                "target": (
                    {
                        "value": target.value,
                        "direction": target.direction,
                        "met": d.meets_target(value, target.value, target.direction),
                    }
                    if target
                    else None
                ),
            }
        )
    return rows


def summary(s: Slice, *, now: datetime | None = None) -> dict:
    now = now or timezone.now()
    open_tickets = backlog(s, now=now)
    complaint_rows = complaint_cube(s, now=now)
    values = figures(s, now=now, open_tickets=open_tickets, complaint_rows=complaint_rows)
    return {
        "metrics": metric_rows(values, targets()),
        "backlog": open_tickets,
        "complaints": complaint_breakdown(s, rows=complaint_rows),
    }


def period_start(day: date, granularity: str) -> date:
    if granularity == "week":
        return day - timedelta(days=day.weekday())
    if granularity == "month":
        return day.replace(day=1)
    return day


SERIES_FIELDS = [
    "created",
    "solved",
    "finished",
    "frt_count",
    "frt_met",
    *(rollup_histogram_field("frt", "cal", b) for b in range(d.HISTOGRAM_BUCKETS)),
    *(f"sla_{m}_{o}" for m in d.SLA_METRICS for o in ("met", "breached")),
]


def series(s: Slice, granularity: str = "day") -> list[dict]:
    """Per day, week (from Monday) or month: volumes, first-response median, SLA, CSAT."""
    buckets: dict[date, dict] = defaultdict(lambda: defaultdict(int))
    for row in rollup_sums(s, fields=SERIES_FIELDS, group_by="day"):
        day = row.pop("day")
        if isinstance(day, str):  # SQLite returns the text it stores
            day = date.fromisoformat(day)
        bucket = buckets[period_start(day, granularity)]
        for key, value in row.items():
            bucket[key] += value or 0
    csat = survey_sums(s, group_by="day")
    for row in csat:
        day = row["day"]
        if isinstance(day, str):
            day = date.fromisoformat(day)
        bucket = buckets[period_start(day, granularity)]
        bucket["csat_n"] += row["csat_n"]
        bucket["csat_good"] += row["csat_good"]
    out = []
    for start in sorted(buckets):
        sums = buckets[start]
        figures_ = ticket_figures(sums)
        out.append(
            {
                "period": start.isoformat(),
                "tickets_created": sums["created"],
                "tickets_solved": sums["solved"],
                "resolution_rate": figures_["resolution_rate"],
                "frt_median_cal": figures_["frt_median_cal"],
                "frt_within_target": figures_["frt_within_target"],
                "sla_all": figures_["sla_all"],
                "csat": d.ratio(sums["csat_good"], sums["csat_n"]),
            }
        )
    return out


BREAKDOWN_COLUMNS = (
    "tickets_created",
    "tickets_solved",
    "resolution_rate",
    "fcr_rate",
    "frt_median_cal",
    "frt_median_bus",
    "handling_median_bus",
    "sla_all",
    "csat",
    "complaints",
)
# The rollup columns the breakdown columns need (a narrower sum than the summary's).
BREAKDOWN_FIELDS = [
    "created",
    "finished",
    "solved",
    "fcr",
    *(
        rollup_histogram_field("frt", cal, b)
        for cal in CALENDARS
        for b in range(d.HISTOGRAM_BUCKETS)
    ),
    *(rollup_histogram_field("handling", "bus", b) for b in range(d.HISTOGRAM_BUCKETS)),
    *(f"sla_{m}_{o}" for m in d.SLA_METRICS for o in ("met", "breached")),
]
ROLLUP_FIELD = CUBE_COLUMNS  # the column of each breakdown's dimension, in every rollup


COMPLAINT_COLUMNS = ("team", "agent", "channel", "kind", "tier", "category", "severity")


def complaint_cube(s: Slice, *, now: datetime) -> list[dict]:
    """The slice's complaints counted per team × agent × channel × kind × tier × category ×
    severity (complaints are few): every complaint figure and table is taken from it.

    Days before the last 24 hours come from the complaints per day, where every complaint is
    decided (accepted, or late); the last days, whose complaints may still be inside their
    24 hours, are counted from the complaints themselves.
    """
    out = []
    counted_live_from = local_day(now - ACCEPTANCE_LIMIT)
    last_rolled = min(s.end, counted_live_from - timedelta(days=1))
    if s.start <= last_rolled:
        rolled = (
            ComplaintDayRollup.objects.filter(_day_rollup_q(replace(s, end=last_rolled)))
            .values(*COMPLAINT_KEYS[1:])
            .annotate(n=Sum("complaints"), accepted_24h=Sum("accepted_24h"))
            .order_by()
        )
        for row in rolled:
            item = dict(zip(COMPLAINT_COLUMNS, (row[k] for k in COMPLAINT_KEYS[1:]), strict=True))
            item.update(n=row["n"], accepted_24h=row["accepted_24h"], decided=row["n"])
            out.append(item)
    if s.end >= counted_live_from:
        recent = Complaint.objects.filter(
            created_at__gte=day_start(max(s.start, counted_live_from)), created_at__lt=s.end_at
        )
        aliases = dict(zip(CUBE_COLUMNS, TICKET_DIMENSION_ALIASES, strict=True))
        for row in complaints_counted(recent, now=now).filter(_cube_q(s, aliases)):
            item = dict(zip(COMPLAINT_COLUMNS, (row[a] for a in COMPLAINT_DIMENSIONS), strict=True))
            item.update(n=row["complaints"], accepted_24h=row["accepted_24h"])
            item["decided"] = row["decided"]
            out.append(item)
    return out


def _complaints_by(rows: list[dict], dimension: str) -> dict:
    """Complaints per value of ``dimension`` (team, agent, channel, kind, tier, category,
    severity), from a ``complaint_cube``."""
    out: dict = defaultdict(int)
    for row in rows:
        out[row[dimension]] += row["n"]
    return out


def labels(dimension: str, keys) -> dict:
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


def breakdown(
    s: Slice,
    dimension: str,
    *,
    cube_rows: list[dict] | None = None,
    survey_rows: list[dict] | None = None,
    complaint_rows: list[dict] | None = None,
) -> list[dict]:
    """One row per team, agent, channel, kind or tier: the table columns of the dashboard."""
    field_ = ROLLUP_FIELD[dimension]
    rows: dict = {}
    if cube_rows is not None and field_ in CUBE:
        groups: dict = defaultdict(list)
        for row in cube_rows:
            groups[row[field_]].append(row)
        for key, members in groups.items():
            rows[key] = ticket_figures(_sum_rows(members, BREAKDOWN_FIELDS))
    else:
        for row in rollup_sums(s, fields=BREAKDOWN_FIELDS, group_by=field_):
            rows[row.pop(field_)] = ticket_figures(row)
    surveys = {
        row[field_]: survey_figures(row)
        for row in survey_sums(s, group_by=field_, cube_rows=survey_rows)
    }
    if complaint_rows is None:
        complaint_rows = complaint_cube(s, now=timezone.now())
    complaints = _complaints_by(complaint_rows, dimension)
    keys = set(rows) | set(surveys) | set(complaints)
    if dimension in ("team", "agent"):
        keys.discard("")
    names = labels(dimension, keys)
    out = []
    for key in keys:
        values = dict(rows.get(key) or ticket_figures({}))
        values["csat"] = (surveys.get(key) or {}).get("csat")
        values["complaints"] = complaints.get(key, 0)
        label = names.get(key, "—") if key is not None else "—"
        out.append({"key": key, "label": label, **{c: values[c] for c in BREAKDOWN_COLUMNS}})
    out.sort(key=lambda r: (-(r["tickets_solved"] or 0), -(r["tickets_created"] or 0), r["label"]))
    return out


def leaderboard(
    s: Slice,
    *,
    survey_rows: list[dict] | None = None,
    complaint_rows: list[dict] | None = None,
) -> list[dict]:
    """The agent scorecard: tickets handled (solved), first-response and handling medians,
    SLA compliance, CSAT and complaints; the most tickets handled first."""
    rows = breakdown(s, "agent", survey_rows=survey_rows, complaint_rows=complaint_rows)
    return [row for row in rows if row["key"] is not None]


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


def queues(team_ids: tuple[int, ...] | None) -> list[dict]:
    """Open tickets per team and status, for the live monitor."""
    tickets = Ticket.objects.filter(status__in=OPEN_STATUSES)
    if team_ids is not None:
        tickets = tickets.filter(team_id__in=team_ids)
    aggregates = {str(s): Count("pk", filter=Q(status=s)) for s in OPEN_STATUSES}
    rows = tickets.values("team_id").annotate(total=Count("pk"), **aggregates).order_by()
    names = labels("team", [r["team_id"] for r in rows])
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


def live(team_ids: tuple[int, ...] | None, *, now: datetime | None = None) -> dict:
    now = now or timezone.now()
    scope = Slice(start=now.date(), end=now.date(), team_ids=team_ids)
    return {
        "now": now,
        "queues": queues(team_ids),
        "breaching_soon": breaching_soon(team_ids, now=now),
        "breached_now": breached_now(scope),
        "agents": open_load_by_agent(team_ids),
        "backlog": backlog(scope, now=now),
        "solved_status": TicketStatus.SOLVED,
    }
