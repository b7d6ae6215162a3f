"""The KPIs of a period and slice: every figure with its target, the trend per day, week or
month, and the tables per team, agent, channel, kind and tier."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta

from django.utils import timezone

from kpis import definitions as d
from kpis.models import CALENDARS, KpiTarget, rollup_histogram_field
from kpis.selectors.commerce import (
    commerce_figures,
    complaint_breakdown,
    complaint_cube,
    complaints_by,
)
from kpis.selectors.live import breached_now, ticket_backlog
from kpis.selectors.rollup_sums import CUBE, SUM_FIELDS, rollup_sums, sum_rows
from kpis.selectors.slices import CUBE_COLUMNS, Slice, dimension_labels
from kpis.selectors.surveys import survey_figures, survey_sums
from kpis.selectors.tickets import ticket_figures


def kpi_targets() -> dict[str, KpiTarget]:
    return {t.metric: t for t in KpiTarget.objects.all()}


def period_figures(
    s: Slice,
    *,
    now: datetime | None = None,
    open_tickets: dict | None = None,
    cube_rows: list[dict] | None = None,
    survey_rows: list[dict] | None = None,
    complaint_rows: list[dict] | None = None,
) -> dict:
    """Every KPI of the slice, by metric key (``open_tickets``, ``cube_rows``: its backlog and
    its ``ticket_cube``, when already read)."""
    now = now or timezone.now()
    if cube_rows is not None:
        sums = sum_rows(cube_rows, SUM_FIELDS)
    else:
        rows = rollup_sums(s)
        sums = rows[0] if rows else {}
    out = ticket_figures(sums)
    out.update(survey_figures(survey_sums(s, cube_rows=survey_rows)))
    commerce = commerce_figures(s, now=now, complaint_rows=complaint_rows)
    out.update({k: v for k, v in commerce.items() if k in d.METRICS})
    out["breached_now"] = breached_now(s)
    out["backlog"] = (open_tickets or ticket_backlog(s, now=now))["total"]
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


def period_summary(s: Slice, *, now: datetime | None = None) -> dict:
    now = now or timezone.now()
    open_tickets = ticket_backlog(s, now=now)
    complaint_rows = complaint_cube(s, now=now)
    values = period_figures(s, now=now, open_tickets=open_tickets, complaint_rows=complaint_rows)
    return {
        "metrics": metric_rows(values, kpi_targets()),
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


def period_trend(s: Slice, granularity: str = "day") -> list[dict]:
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


def dimension_breakdown(
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
            rows[key] = ticket_figures(sum_rows(members, BREAKDOWN_FIELDS))
    else:
        for row in rollup_sums(s, fields=BREAKDOWN_FIELDS, group_by=field_):
            rows[row.pop(field_)] = ticket_figures(row)
    surveys = {
        row[field_]: survey_figures(row)
        for row in survey_sums(s, group_by=field_, cube_rows=survey_rows)
    }
    if complaint_rows is None:
        complaint_rows = complaint_cube(s, now=timezone.now())
    complaints = complaints_by(complaint_rows, dimension)
    keys = set(rows) | set(surveys) | set(complaints)
    if dimension in ("team", "agent"):
        keys.discard("")
    names = dimension_labels(dimension, keys)
    out = []
    for key in keys:
        values = dict(rows.get(key) or ticket_figures({}))
        values["csat"] = (surveys.get(key) or {}).get("csat")
        values["complaints"] = complaints.get(key, 0)
        label = names.get(key, "—") if key is not None else "—"
        out.append({"key": key, "label": label, **{c: values[c] for c in BREAKDOWN_COLUMNS}})
    out.sort(key=lambda r: (-(r["tickets_solved"] or 0), -(r["tickets_created"] or 0), r["label"]))
    return out


def agent_leaderboard(
    s: Slice,
    *,
    survey_rows: list[dict] | None = None,
    complaint_rows: list[dict] | None = None,
) -> list[dict]:
    """The agent scorecard: tickets handled (solved), first-response and handling medians,
    SLA compliance, CSAT and complaints; the most tickets handled first."""
    rows = dimension_breakdown(s, "agent", survey_rows=survey_rows, complaint_rows=complaint_rows)
    return [row for row in rows if row["key"] is not None]
