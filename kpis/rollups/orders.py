"""Orders placed per local day, per channel and customer tier."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

from django.db.models import Count
from django.db.models.functions import TruncDate
from django.utils import timezone

from csplatform.bulk import RowWriter
from kpis.models import OrderDayRollup
from kpis.rollups.days import business_tz, day_runs, day_start, refresh_by_updated_at
from orders.models import Order

ORDERS_STATE = "orders"


def order_days_rollup(days: Iterable[date]) -> None:
    """Count again the orders placed on these local days, per channel and customer tier.

    An order's tier is its customer's when counted: a customer who changes tier moves their
    orders at the nightly rebuild.
    """
    for first, last in day_runs(sorted(set(days))):
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


def orders_refresh(*, rebuild: bool) -> int:
    """The orders per day, after the orders created or changed since the last count."""
    return refresh_by_updated_at(
        ORDERS_STATE,
        Order.objects.all(),
        "placed_at",
        (OrderDayRollup,),
        order_days_rollup,
        rebuild=rebuild,
    )
