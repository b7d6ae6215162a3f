"""Return requests made and refunds settled per local day, under their ticket's dimensions."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime

from django.db.models import (
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    Max,
    Min,
    OuterRef,
    Q,
    Subquery,
    Sum,
)
from django.db.models.functions import TruncDate

from kpis.models import RefreshState, ReturnDayRollup
from kpis.rollups.days import (
    OVERLAP,
    business_tz,
    day_runs_q,
    days_replace,
    days_spanning,
    ids_advance,
    local_day,
    rows_add,
)
from kpis.rollups.tickets import TICKET_DIMENSION_ALIASES, ticket_dimensions
from refunds.choices import RefundStatus
from refunds.models import Refund, ReturnRequest

RETURNS_STATE = "returns"  # last_id: return requests; watermark: the last refresh
REFUNDS_STATE = "refunds"  # last_id: refunds


def return_days_rollup(days: Iterable[date]) -> None:
    """Sum again the return requests made and the refunds settled on these local days."""
    days = sorted(set(days))
    if not days:
        return
    tz = business_tz()
    rows: dict[tuple, dict] = defaultdict(dict)
    requests = (
        ReturnRequest.objects.filter(day_runs_q("created_at", days))
        .annotate(day=TruncDate("created_at", tzinfo=tz), **ticket_dimensions("ticket__"))
        .values("day", *TICKET_DIMENSION_ALIASES)
        .annotate(returns=Count("pk"))
        .order_by()
    )
    paid = Refund.objects.filter(day_runs_q("settled_at", days), status=RefundStatus.SUCCEEDED)
    refunds = (
        paid.annotate(
            day=TruncDate("settled_at", tzinfo=tz), **ticket_dimensions("request__ticket__")
        )
        .values("day", *TICKET_DIMENSION_ALIASES)
        .annotate(
            refund_amount=Sum("amount"),
            refunds_of_requests=Count("pk", filter=Q(request__isnull=False)),
            request_to_refund=Sum(
                ExpressionWrapper(
                    F("settled_at") - F("request__created_at"), output_field=DurationField()
                ),
                filter=Q(request__isnull=False),
            ),
        )
        .order_by()
    )
    # A request counts once, on the day its first refund settled.
    first_refund = (
        Refund.objects.filter(request=OuterRef("request"), status=RefundStatus.SUCCEEDED)
        .order_by("settled_at", "pk")
        .values("pk")[:1]
    )
    received = (
        paid.filter(request__received_at__isnull=False, pk=Subquery(first_refund))
        .annotate(day=TruncDate("settled_at", tzinfo=tz), **ticket_dimensions("request__ticket__"))
        .values("day", *TICKET_DIMENSION_ALIASES)
        .annotate(
            received=Count("pk"),
            received_in_time=Count("pk", filter=Q(request__refund_breached_at__isnull=True)),
        )
        .order_by()
    )
    for queryset in (requests, refunds, received):
        rows_add(rows, queryset, "day", TICKET_DIMENSION_ALIASES)
    for values in rows.values():
        if "request_to_refund" in values:
            duration = values.pop("request_to_refund")
            values["request_to_refund_seconds"] = int(duration.total_seconds()) if duration else 0
    days_replace((ReturnDayRollup,), days, rows)


def returns_refresh(*, now: datetime, rebuild: bool) -> int:
    """Bring the returns per day up to date: the days of requests made and refunds settled
    since the last refresh; everything when rebuilding. Returns the number of days."""
    state, _ = RefreshState.objects.select_for_update().get_or_create(name=RETURNS_STATE)
    refunds, _ = RefreshState.objects.select_for_update().get_or_create(name=REFUNDS_STATE)
    days: set[date] = set()
    if rebuild or state.last_id is None:
        ReturnDayRollup.objects.all().delete()
        made = ReturnRequest.objects.aggregate(first=Min("created_at"), last=Max("created_at"))
        settled = Refund.objects.aggregate(first=Min("settled_at"), last=Max("settled_at"))
        days = days_spanning(*made.values(), *settled.values())
        newest = ReturnRequest.objects.aggregate(m=Max("pk"))["m"]
        newest_refund = Refund.objects.aggregate(m=Max("pk"))["m"]
    else:
        since = (state.watermark or now) - OVERLAP
        new = list(
            ReturnRequest.objects.filter(pk__gt=state.last_id).values_list("pk", "created_at")
        )
        days.update(local_day(created_at) for _pk, created_at in new)
        # Refunds recorded since (whenever they settled), and refunds settled since.
        settled = Refund.objects.filter(settled_at__isnull=False)
        for recent in (
            settled.filter(pk__gt=refunds.last_id or 0),
            settled.filter(settled_at__gte=since),
        ):
            days.update(local_day(at) for at in recent.values_list("settled_at", flat=True))
        newest = max((pk for pk, _ in new), default=None)
        newest_refund = Refund.objects.aggregate(m=Max("pk"))["m"]
    return_days_rollup(days)
    ids_advance(state, newest, now=now)
    ids_advance(refunds, newest_refund)
    return len(days)
