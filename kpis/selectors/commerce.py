"""Complaint, return and refund figures of a period, and the orders they are measured against.

Orders, returns and refunds come from their rollups per day; complaints from their rollup for
the days whose complaints are all decided, and from the complaints themselves for the days
still inside their 24 hours.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from datetime import datetime, timedelta

from django.db.models import Sum
from django.utils import timezone

from complaints.models import Complaint
from kpis import definitions as d
from kpis.models import ComplaintDayRollup, OrderDayRollup, ReturnDayRollup
from kpis.rollups.complaints import (
    ACCEPTANCE_LIMIT,
    COMPLAINT_DIMENSIONS,
    COMPLAINT_KEYS,
    complaints_counted,
)
from kpis.rollups.days import day_start, local_day
from kpis.rollups.tickets import TICKET_DIMENSION_ALIASES
from kpis.selectors.rollup_sums import sum_rows
from kpis.selectors.slices import CUBE_COLUMNS, Slice, slice_cube_q, slice_day_rollup_q


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
    complaints = sum_rows(complaint_rows, ("n", "accepted_24h", "decided"))
    money = ReturnDayRollup.objects.filter(slice_day_rollup_q(s)).aggregate(
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
            ComplaintDayRollup.objects.filter(slice_day_rollup_q(replace(s, end=last_rolled)))
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
        for row in complaints_counted(recent, now=now).filter(slice_cube_q(s, aliases)):
            item = dict(zip(COMPLAINT_COLUMNS, (row[a] for a in COMPLAINT_DIMENSIONS), strict=True))
            item.update(n=row["complaints"], accepted_24h=row["accepted_24h"])
            item["decided"] = row["decided"]
            out.append(item)
    return out


def complaints_by(rows: list[dict], dimension: str) -> dict:
    """Complaints per value of ``dimension`` (team, agent, channel, kind, tier, category,
    severity), from a ``complaint_cube``."""
    out: dict = defaultdict(int)
    for row in rows:
        out[row[dimension]] += row["n"]
    return out


def complaint_breakdown(s: Slice, *, rows: list[dict] | None = None) -> dict:
    rows = complaint_cube(s, now=timezone.now()) if rows is None else rows
    return {
        "by_category": dict(sorted(complaints_by(rows, "category").items())),
        "by_severity": dict(sorted(complaints_by(rows, "severity").items())),
    }
