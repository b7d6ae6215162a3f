"""Every dashboard table as CSV rows: the same selectors, so the same numbers."""

from __future__ import annotations

import csv
from datetime import datetime
from decimal import Decimal

from django.http import HttpResponse
from django.utils.translation import gettext_lazy as _

from .selectors.commerce import complaint_breakdown
from .selectors.live import ticket_backlog
from .selectors.period import (
    BREAKDOWN_COLUMNS,
    ROLLUP_FIELD,
    agent_leaderboard,
    dimension_breakdown,
    kpi_targets,
    metric_rows,
    period_figures,
    period_trend,
)
from .selectors.slices import Slice

TABLES = {
    "summary": _("Summary"),
    "series": _("Time series"),
    "team": _("By team"),
    "agent": _("Agent leaderboard"),
    "channel": _("By channel"),
    "kind": _("By kind"),
    "tier": _("By customer tier"),
    "backlog": _("Backlog"),
    "complaints": _("Complaints by category and severity"),
}
SERIES_COLUMNS = (
    "period",
    "tickets_created",
    "tickets_solved",
    "resolution_rate",
    "frt_median_cal",
    "frt_within_target",
    "sla_all",
    "csat",
)


def cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.2f}"
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    return str(value)


def table(name: str, s: Slice, *, granularity: str, now: datetime) -> tuple[list[str], list[list]]:
    """The header and rows of one table; ``name`` is a key of ``TABLES``."""
    if name == "summary":
        header = ["metric", "name", "group", "unit", "value", "target", "direction", "on_target"]
        rows = [
            [
                m["key"],
                m["name"],
                m["group"],
                m["unit"],
                m["value"],
                m["target"]["value"] if m["target"] else None,
                m["target"]["direction"] if m["target"] else None,
                m["target"]["met"] if m["target"] else None,
            ]
            for m in metric_rows(period_figures(s, now=now), kpi_targets())
        ]
        return header, rows
    if name == "series":
        rows = [[r[c] for c in SERIES_COLUMNS] for r in period_trend(s, granularity)]
        return list(SERIES_COLUMNS), rows
    if name in ROLLUP_FIELD:
        rows = agent_leaderboard(s) if name == "agent" else dimension_breakdown(s, name)
        return [name, *BREAKDOWN_COLUMNS], [
            [r["label"], *(r[c] for c in BREAKDOWN_COLUMNS)] for r in rows
        ]
    if name == "backlog":
        result = ticket_backlog(s, now=now)
        rows = [["age", k, v] for k, v in result["by_age"].items()]
        rows += [["status", k, v] for k, v in result["by_status"].items()]
        return ["by", "bucket", "open_tickets"], rows
    if name == "complaints":
        result = complaint_breakdown(s)
        rows = [["category", k, v] for k, v in result["by_category"].items()]
        rows += [["severity", k, v] for k, v in result["by_severity"].items()]
        return ["by", "value", "complaints"], rows
    raise KeyError(name)


def csv_response(name: str, s: Slice, *, granularity: str, now: datetime) -> HttpResponse:
    header, rows = table(name, s, granularity=granularity, now=now)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    filename = f"kpis-{name}-{s.start.isoformat()}-{s.end.isoformat()}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.write("\ufeff")  # Excel reads UTF-8 (Chinese labels) only with the BOM
    writer = csv.writer(response)
    writer.writerow(header)
    for row in rows:
        writer.writerow([cell(v) for v in row])
    return response
