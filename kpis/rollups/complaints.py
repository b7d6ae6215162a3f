"""Complaints filed per local day, under their ticket's dimensions, category and severity."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime, timedelta

from django.db.models import Count, F, Q, Value
from django.db.models.functions import Coalesce, TruncDate

from complaints.models import Complaint
from kpis.models import CUBE_FIELDS, ComplaintDayRollup
from kpis.rollups.days import (
    business_tz,
    day_runs_q,
    days_replace,
    refresh_by_updated_at,
    rows_add,
)
from kpis.rollups.tickets import TICKET_DIMENSION_ALIASES, ticket_dimensions

COMPLAINTS_STATE = "complaints"  # watermark: the newest ``updated_at`` counted
COMPLAINT_DIMENSIONS = (*TICKET_DIMENSION_ALIASES, "category", "severity")
COMPLAINT_KEYS = (*CUBE_FIELDS, "category", "severity")
ACCEPTANCE_LIMIT = timedelta(hours=24)


def complaints_counted(complaints, *, now: datetime | None = None, by_day: bool = False):
    """These complaints counted per team, agent, channel, kind and tier (as ``d_team`` …
    ``d_tier``: their ticket's team, agent and kind, the channel they came in by, their
    customer's tier), category and severity, and per local day filed when ``by_day``: how
    many (``complaints``), how many accepted within 24 hours of filing, and with ``now`` how
    many are decided (accepted, or 24 hours old without being accepted)."""
    measures = {
        "complaints": Count("pk"),
        "accepted_24h": Count("pk", filter=Q(accepted_at__lte=F("created_at") + ACCEPTANCE_LIMIT)),
    }
    if now is not None:
        measures["decided"] = Count(
            "pk", filter=Q(accepted_at__isnull=False) | Q(created_at__lte=now - ACCEPTANCE_LIMIT)
        )
    groups = COMPLAINT_DIMENSIONS
    if by_day:
        complaints = complaints.annotate(day=TruncDate("created_at", tzinfo=business_tz()))
        groups = ("day", *groups)
    return (
        complaints.annotate(
            **{
                **ticket_dimensions("ticket__"),
                "d_channel": F("channel"),
                "d_tier": Coalesce("customer__tier", Value("")),
            }
        )
        .values(*groups)
        .annotate(**measures)
        .order_by()
    )


def complaint_days_rollup(days: Iterable[date]) -> None:
    """Count again the complaints filed on these local days."""
    days = sorted(set(days))
    if not days:
        return
    filed = Complaint.objects.filter(day_runs_q("created_at", days))
    rows: dict[tuple, dict] = defaultdict(dict)
    rows_add(rows, complaints_counted(filed, by_day=True), "day", COMPLAINT_DIMENSIONS)
    days_replace((ComplaintDayRollup,), days, rows, keys=COMPLAINT_KEYS)


def complaints_refresh(*, rebuild: bool, days: set[date]) -> int:
    """The complaints per day, after the complaints changed since the last refresh and on
    ``days`` (those of complaints whose ticket changed)."""
    return refresh_by_updated_at(
        COMPLAINTS_STATE,
        Complaint.objects.all(),
        "created_at",
        (ComplaintDayRollup,),
        complaint_days_rollup,
        rebuild=rebuild,
        days=days,
    )
