"""Local days and the rows of a rollup per day: what every source's rollup shares.

A rollup is summed again for whole local days of the business time zone; a refresh finds the
days that changed since its watermark (less a few minutes of overlap for transactions that
committed late) and replaces those days' rows at every grain of the rollup.
"""

from __future__ import annotations

import zoneinfo
from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Case, IntegerField, Max, Min, Q, Sum, Value, When
from django.db.models.functions import TruncDate
from django.utils import timezone

from csplatform.bulk import RowWriter
from kpis.models import CUBE_FIELDS, RefreshState

# Re-read a little before the watermark: a transaction that began earlier may commit later.
OVERLAP = timedelta(minutes=5)


def business_tz() -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(settings.TIME_ZONE)


def local_day(moment: datetime) -> date:
    return moment.astimezone(business_tz()).date()


def day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=business_tz())


def day_runs(days: list[date]) -> list[tuple[date, date]]:
    """Sorted days as runs of consecutive days, ``(first, last)``."""
    runs: list[list[date]] = []
    for day in days:
        if runs and day == runs[-1][1] + timedelta(days=1):
            runs[-1][1] = day
        else:
            runs.append([day, day])
    return [(first, last) for first, last in runs]


def day_runs_q(field: str, days: Iterable[date]) -> Q:
    """Rows whose ``field`` falls on one of these local days: one range per run of days."""
    q = Q(pk__in=[])
    for first, last in day_runs(sorted(set(days))):
        q |= Q(
            **{f"{field}__gte": day_start(first), f"{field}__lt": day_start(last + timedelta(1))}
        )
    return q


def days_spanning(*moments: datetime | None) -> set[date]:
    """Every local day from the earliest to the latest of these moments (``None`` ignored)."""
    known = [m for m in moments if m is not None]
    if not known:
        return set()
    first, last = local_day(min(known)), local_day(max(known))
    return {first + timedelta(days=n) for n in range((last - first).days + 1)}


def count_if(condition: Q) -> Sum:
    return Sum(Case(When(condition, then=Value(1)), default=Value(0), output_field=IntegerField()))


def rows_add(rows: dict[tuple, dict], queryset, day_field: str, dimensions) -> None:
    """Add the measures of each row of ``queryset`` (a ``values()`` of the day, the dimensions
    and measures) to ``rows``, under the key (day, *dimensions)."""
    for row in queryset:
        key = (row.pop(day_field), *(row.pop(d) for d in dimensions))
        rows[key].update(row)


def rows_collapse(rows: dict[tuple, dict], keep: tuple[int, ...]) -> dict[tuple, dict]:
    """The rows summed over the key positions not in ``keep``."""
    out: dict[tuple, dict] = defaultdict(lambda: defaultdict(int))
    for key, values in rows.items():
        target = out[tuple(key[i] for i in keep)]
        for name, value in values.items():
            target[name] += value or 0
    return out


def days_replace(models, days: list[date], rows: dict[tuple, dict], keys=CUBE_FIELDS) -> None:
    """Replace these days' rows of a rollup, at each of its grains (``models``, the finest
    first), by ``rows`` keyed by the finest grain's ``keys`` (measures left out are 0). A
    coarser grain keeps the key columns it has and sums over the others."""
    with transaction.atomic():
        for model in models:
            columns = {f.column for f in model._meta.concrete_fields}
            keep = tuple(i for i, name in enumerate(keys) if name in columns)
            grain = rows if len(keep) == len(keys) else rows_collapse(rows, keep)
            names = [keys[i] for i in keep]
            model.objects.filter(day__in=days).delete()
            RowWriter(timezone.now(), model).insert_instances(
                model,
                [
                    model(**dict(zip(names, key, strict=True)), **values)
                    for key, values in grain.items()
                ],
            )


def changed_days(
    rows, day_field: str, *, since: datetime | None
) -> tuple[set[date], datetime | None]:
    """The local days (of ``day_field``) of the rows changed since ``since`` (by their
    ``updated_at``), or every day from the first row to the last when ``since`` is None; and
    the newest ``updated_at`` among those rows."""
    if since is None:
        span = rows.aggregate(first=Min(day_field), last=Max(day_field), newest=Max("updated_at"))
        return days_spanning(span["first"], span["last"]), span["newest"]
    # Worked out by the database: after a bulk change the window holds many rows but few days.
    changed = rows.filter(updated_at__gte=since)
    days = set(
        changed.annotate(day=TruncDate(day_field, tzinfo=business_tz()))
        .values_list("day", flat=True)
        .distinct()
        .order_by()
    )
    return days, changed.aggregate(m=Max("updated_at"))["m"]


def refresh_by_updated_at(
    state_name: str, rows, day_field: str, models, recount, *, rebuild: bool, days=frozenset()
) -> int:
    """Bring a rollup counted per local day of ``day_field`` up to date: count again (with
    ``recount``) the days of the ``rows`` changed since the state's watermark (by their
    ``updated_at``, re-read a little before it), and ``days``; every day when rebuilding, after
    emptying ``models``. Returns the number of days counted again."""
    state, _ = RefreshState.objects.select_for_update().get_or_create(name=state_name)
    if rebuild or state.watermark is None:
        for model in models:
            model.objects.all().delete()
        since = None
    else:
        since = state.watermark - OVERLAP
    changed, newest = changed_days(rows, day_field, since=since)
    days = set(days) | changed
    recount(days)
    if newest is not None and (state.watermark is None or newest > state.watermark):
        state.watermark = newest
    state.save(update_fields=["watermark"])
    return len(days)


def ids_advance(state: RefreshState, newest: int | None, *, now: datetime | None = None) -> None:
    """Move a refresh state's id watermark forward to ``newest`` (never back); with ``now``,
    note it as the time of this refresh."""
    state.last_id = max(newest or 0, state.last_id or 0)
    fields = ["last_id"]
    if now is not None:
        state.watermark = now
        fields.append("watermark")
    state.save(update_fields=fields)
