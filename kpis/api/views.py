"""``/api/v1/kpis/``: the dashboard's figures for a slice, as JSON and as CSV."""

from __future__ import annotations

import json

from django.conf import settings
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import BasePermission
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_api_key.models import APIKey

from csplatform.api.schema import ERROR_RESPONSES
from kpis.access import can_view_kpis, kpi_team_scope
from kpis.exports import TABLES, csv_response
from kpis.filters import KpiFilterForm
from kpis.selectors.period import period_summary

from .serializers import KpiSummarySerializer


class IsKpiViewer(BasePermission):
    """A signed-in supervisor or admin (not a storefront key)."""

    message = "Only supervisors and admins see the KPIs."

    def has_permission(self, request, view) -> bool:
        return not isinstance(request.auth, APIKey) and can_view_kpis(request.user)


class CsvRenderer(BaseRenderer):
    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        # Only error bodies pass through here; the CSV itself is written by the view.
        return json.dumps(data).encode()


FILTER_PARAMETERS = [
    OpenApiParameter("from", OpenApiTypes.DATE, description="First local day (with `to`)"),
    OpenApiParameter("to", OpenApiTypes.DATE, description="Last local day, inclusive"),
    OpenApiParameter(
        "period",
        str,
        enum=["day", "week", "month"],
        description="Without from/to: the day, week (Mon–Sun) or month around `date`",
    ),
    OpenApiParameter("date", OpenApiTypes.DATE, description="Anchor of `period`; today"),
    OpenApiParameter("team", int, description="Team id (a supervisor: one of their teams)"),
    OpenApiParameter("agent", str, description="Agent username"),
    OpenApiParameter("channel", str, description="Ticket channel"),
    OpenApiParameter("kind", str, description="Ticket kind"),
    OpenApiParameter("tier", str, enum=["regular", "vip"], description="Customer tier"),
]


def _kpi_request(request):
    form = KpiFilterForm(request.query_params, team_scope=kpi_team_scope(request.user))
    if not form.is_valid():
        raise ValidationError(
            {("from" if k == "from_" else k): [str(e) for e in v] for k, v in form.errors.items()}
        )
    return form.kpi_request()


def _filters(kpi) -> dict:
    s = kpi.slice
    return {
        "team": kpi.team.pk if kpi.team else None,
        "agent": kpi.agent.get_username() if kpi.agent else None,
        "channel": s.channel or None,
        "kind": s.kind or None,
        "tier": s.tier or None,
    }


class KpiSummaryApi(APIView):
    permission_classes = [IsKpiViewer]

    @extend_schema(
        operation_id="kpis_summary",
        summary="Every KPI of a period and slice, with its definition and target",
        parameters=FILTER_PARAMETERS,
        responses={200: KpiSummarySerializer, **{k: ERROR_RESPONSES[k] for k in (400, 401, 403)}},
        tags=["kpis"],
    )
    def get(self, request):
        kpi = _kpi_request(request)
        now = timezone.now()
        body = period_summary(kpi.slice, now=now)
        body["period"] = {
            "from": kpi.slice.start.isoformat(),
            "to": kpi.slice.end.isoformat(),
            "time_zone": settings.TIME_ZONE,
        }
        body["filters"] = _filters(kpi)
        return Response(body)


class KpiExportApi(APIView):
    permission_classes = [IsKpiViewer]
    renderer_classes = [JSONRenderer, CsvRenderer]

    @extend_schema(
        operation_id="kpis_export",
        summary="One KPI table of a period and slice as CSV (the dashboard's numbers)",
        parameters=[
            OpenApiParameter("table", str, enum=list(TABLES), description="Which table; summary"),
            *FILTER_PARAMETERS,
        ],
        responses={
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="UTF-8 CSV"),
            **{k: ERROR_RESPONSES[k] for k in (400, 401, 403)},
        },
        tags=["kpis"],
    )
    def get(self, request):
        name = request.query_params.get("table") or "summary"
        if name not in TABLES:
            raise ValidationError({"table": [f"One of: {', '.join(TABLES)}."]})
        kpi = _kpi_request(request)
        return csv_response(name, kpi.slice, granularity=kpi.granularity, now=timezone.now())
