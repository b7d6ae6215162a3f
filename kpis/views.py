"""``/kpis/``: the supervisors' dashboard, its CSV downloads, and the live monitor."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponseBadRequest
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from complaints.choices import ComplaintCategory, Severity
from tickets.choices import TicketStatus

from . import definitions as d
from .access import can_view_kpis, kpi_team_scope
from .exports import TABLES, csv_response
from .filters import KpiFilterForm, period_bounds
from .selectors.commerce import complaint_breakdown, complaint_cube
from .selectors.live import live_board, ticket_backlog
from .selectors.period import (
    BREAKDOWN_COLUMNS,
    agent_leaderboard,
    dimension_breakdown,
    kpi_targets,
    metric_rows,
    period_figures,
    period_trend,
)
from .selectors.surveys import survey_cube
from .selectors.tickets import ticket_cube

TILES = (
    "tickets_created",
    "tickets_solved",
    "resolution_rate",
    "fcr_rate",
    "reopen_rate",
    "frt_median_cal",
    "frt_median_bus",
    "frt_within_target",
    "handling_median_bus",
    "sla_all",
    "breached_now",
    "backlog",
    "csat",
    "csat_response_rate",
    "nps",
    "complaint_satisfaction",
    "complaints_per_1000_orders",
    "complaints_accepted_24h",
    "returns_per_1000_orders",
    "refund_amount",
    "refund_hours_mean",
    "refund_within_3_working_days",
)
BREAKDOWNS = (
    ("team", TABLES["team"]),
    ("channel", TABLES["channel"]),
    ("kind", TABLES["kind"]),
    ("tier", TABLES["tier"]),
)


def _kpi_user(request):
    """Supervisors and admins; anyone else gets a 404, as for other desk pages they may not see."""
    if not can_view_kpis(request.user):
        raise Http404
    return request.user


def _form(request):
    return KpiFilterForm(request.GET, team_scope=kpi_team_scope(request.user))


def _query(request, **changes) -> str:
    params = request.GET.copy()
    for key, value in changes.items():
        if value is None:
            params.pop(key, None)
        else:
            params[key] = value
    return params.urlencode()


@require_GET
@login_required
def dashboard_page(request):
    _kpi_user(request)
    form = _form(request)
    if not form.is_valid():
        return render(request, "kpis/dashboard.html", {"form": form, "invalid": True}, status=400)
    kpi = form.kpi_request()
    now = timezone.now()
    s = kpi.slice
    backlog = ticket_backlog(s, now=now)
    cube_rows = ticket_cube(s)
    survey_rows = survey_cube(s)
    complaint_rows = complaint_cube(s, now=now)
    cubes = {"survey_rows": survey_rows, "complaint_rows": complaint_rows}
    values = period_figures(s, now=now, open_tickets=backlog, cube_rows=cube_rows, **cubes)
    metrics = metric_rows(values, kpi_targets())
    by_key = {m["key"]: m for m in metrics}
    series = period_trend(s, kpi.granularity)
    step = {"day": timedelta(days=1), "week": timedelta(days=7)}
    if kpi.period in step:
        previous, following = kpi.anchor - step[kpi.period], kpi.anchor + step[kpi.period]
    elif kpi.period == "month":
        previous = period_bounds("month", kpi.anchor)[0] - timedelta(days=1)
        following = period_bounds("month", kpi.anchor)[1] + timedelta(days=1)
    else:
        previous = following = None
    charts = {
        "series": series,
        "backlog": backlog,
        "labels": {
            "created": str(d.METRICS["tickets_created"].label),
            "solved": str(d.METRICS["tickets_solved"].label),
            "frt_median": str(d.METRICS["frt_median_cal"].label),
            "frt_within": str(d.METRICS["frt_within_target"].label),
            "sla": str(d.METRICS["sla_all"].label),
            "resolution": str(d.METRICS["resolution_rate"].label),
            "csat": str(d.METRICS["csat"].label),
            "backlog_age": str(d.METRICS["backlog"].label),
        },
    }
    context = {
        "form": form,
        "kpi": kpi,
        "tiles": [by_key[key] for key in TILES],
        "metrics": metrics,
        "charts": charts,
        "breakdowns": [
            (
                name,
                label,
                dimension_breakdown(s, name, cube_rows=cube_rows, **cubes),
            )
            for name, label in BREAKDOWNS
        ],
        "leaderboard": agent_leaderboard(s, **cubes),
        "complaints": complaint_breakdown(s, rows=complaint_rows),
        "backlog": backlog,
        "querystring": _query(request),
        "previous_query": _query(request, date=previous.isoformat()) if previous else None,
        "next_query": _query(request, date=following.isoformat()) if following else None,
        "export_url": reverse("kpis:export"),
        "column_labels": [
            d.METRICS[c].label if c in d.METRICS else _("Complaints") for c in BREAKDOWN_COLUMNS
        ],
        "time_zone": settings.TIME_ZONE,
        "labels": {
            "status": dict(TicketStatus.choices),
            "category": dict(ComplaintCategory.choices),
            "severity": dict(Severity.choices),
        },
    }
    return render(request, "kpis/dashboard.html", context)


@require_GET
@login_required
def export_csv(request):
    _kpi_user(request)
    name = request.GET.get("table") or "summary"
    form = _form(request)
    if name not in TABLES or not form.is_valid():
        return HttpResponseBadRequest("invalid table or filters")
    kpi = form.kpi_request()
    return csv_response(name, kpi.slice, granularity=kpi.granularity, now=timezone.now())


def _live_context(request):
    team_scope = kpi_team_scope(request.user)
    form = _form(request)
    if form.is_valid() and form.cleaned_data.get("team"):
        team_scope = (form.cleaned_data["team"].pk,)
    return {"form": form, "live": live_board(team_scope), "querystring": _query(request)}


@require_GET
@login_required
def live_page(request):
    _kpi_user(request)
    return render(request, "kpis/live.html", _live_context(request))


@require_GET
@login_required
def live_panel(request):
    _kpi_user(request)
    return render(request, "kpis/partials/live_panel.html", _live_context(request))
