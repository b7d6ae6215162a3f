"""The two ways the KPI facts and rollups are brought up to date: the refresh every minute,
which reads only what changed since the last one, and the nightly rebuild from scratch."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.db import connection, transaction
from django.utils import timezone

from complaints.models import Complaint
from csplatform.bulk import RowWriter
from kpis.models import (
    ROLLUPS,
    SURVEY_ROLLUPS,
    ComplaintDayRollup,
    OrderDayRollup,
    RefreshState,
    ReturnDayRollup,
    TicketFact,
)
from kpis.rollups.complaints import complaints_refresh
from kpis.rollups.days import OVERLAP, local_day
from kpis.rollups.orders import orders_refresh
from kpis.rollups.returns import returns_refresh
from kpis.rollups.surveys import surveys_refresh
from kpis.rollups.tickets import (
    TICKETS_STATE,
    ticket_days_rollup,
    ticket_facts_build,
    ticket_facts_refresh,
)
from tickets.models import Ticket


def kpis_refresh(*, now: datetime | None = None, batch_size: int = 5000) -> dict:
    """Bring facts and rollups up to date with the tickets changed since the last refresh.

    Runs every minute; reads only the changed tickets (index on ``updated_at``) and sums again
    only the days they count on. The first run ever, without a watermark, rebuilds everything.
    """
    now = now or timezone.now()
    RefreshState.objects.get_or_create(name=TICKETS_STATE)
    with transaction.atomic():
        # A refresh or rebuild still running holds the row: this minute's refresh steps aside.
        state = (
            RefreshState.objects.select_for_update(skip_locked=True)
            .filter(name=TICKETS_STATE)
            .first()
        )
        if state is None:
            return {"tickets": 0, "days": 0, "skipped": True}
        if state.watermark is None:
            return kpis_rebuild(now=now)
        since = state.watermark - OVERLAP
        dirty: set[date] = set()
        complaint_days: set[date] = set()
        seen = 0
        newest = state.watermark
        while True:
            changed = list(
                Ticket.objects.filter(updated_at__gte=since)
                .order_by("updated_at", "id")
                .values_list("id", "updated_at")[:batch_size]
            )
            if not changed:
                break
            ids = [pk for pk, _ in changed]
            dirty |= ticket_facts_refresh(ids)
            # A complaint counts under its ticket's team, agent and kind.
            complaint_days.update(
                local_day(filed)
                for filed in Complaint.objects.filter(ticket_id__in=ids).values_list(
                    "created_at", flat=True
                )
            )
            seen += len(changed)
            newest = max(newest, changed[-1][1])
            if len(changed) < batch_size:
                break
            since = changed[-1][1]
            # Rows that share the last timestamp were read; the next batch starts after them.
            if Ticket.objects.filter(updated_at=since).count() >= batch_size:
                since += timedelta(microseconds=1)
        ticket_days_rollup(dirty)
        order_days = orders_refresh(rebuild=False)
        survey_days = surveys_refresh(now=now, rebuild=False)
        return_days = returns_refresh(now=now, rebuild=False)
        complaint_days = complaints_refresh(rebuild=False, days=complaint_days)
        state.watermark = newest
        state.refreshed_at = now
        state.save()
    return {
        "tickets": seen,
        "days": len(dirty),
        "order_days": order_days,
        "survey_days": survey_days,
        "return_days": return_days,
        "complaint_days": complaint_days,
    }


def kpis_rebuild(*, now: datetime | None = None, batch_size: int = 5000) -> dict:
    """Re-derive every fact and every day's rollup from the source tables (nightly)."""
    now = now or timezone.now()
    with transaction.atomic():
        state, _ = RefreshState.objects.select_for_update().get_or_create(name=TICKETS_STATE)
        newest = Ticket.objects.order_by("-updated_at").values_list("updated_at", flat=True)
        newest = newest.first()
        TicketFact.objects.all().delete()
        days: set[date] = set()
        last_id = 0
        seen = 0
        while True:
            ids = list(
                Ticket.objects.filter(pk__gt=last_id)
                .order_by("pk")
                .values_list("pk", flat=True)[:batch_size]
            )
            if not ids:
                break
            facts = ticket_facts_build(ids)
            RowWriter(timezone.now(), TicketFact).insert_instances(TicketFact, facts)
            for fact in facts:
                days.update(date.fromisoformat(d) for d in fact.days)
            seen += len(ids)
            last_id = ids[-1]
        for model in ROLLUPS:
            model.objects.exclude(day__in=days).delete()
        ticket_days_rollup(days)
        order_days = orders_refresh(rebuild=True)
        survey_days = surveys_refresh(now=now, rebuild=True)
        return_days = returns_refresh(now=now, rebuild=True)
        complaint_days = complaints_refresh(rebuild=True, days=set())
        state.watermark = newest or now
        state.refreshed_at = state.rebuilt_at = now
        state.save()
    return {
        "tickets": seen,
        "days": len(days),
        "order_days": order_days,
        "survey_days": survey_days,
        "return_days": return_days,
        "complaint_days": complaint_days,
    }


def rollups_vacuum() -> list[str]:
    """After a full rebuild, which replaced every fact and rollup row: reclaim the replaced rows
    and refresh the planner's statistics of those tables (PostgreSQL's ``VACUUM (ANALYZE)``;
    nothing elsewhere). Outside any transaction. Returns the tables vacuumed.

    Until then the tables hold each row twice (the old one dead), and every dashboard read
    scans both; autovacuum would get there, but later."""
    if connection.vendor != "postgresql":
        return []
    tables = [
        model._meta.db_table
        for model in (
            TicketFact,
            *ROLLUPS,
            *SURVEY_ROLLUPS,
            OrderDayRollup,
            ReturnDayRollup,
            ComplaintDayRollup,
        )
    ]
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        for table in tables:
            # Our own tables' names, quoted; VACUUM takes no parameters.
            cursor.execute(f"VACUUM (ANALYZE) {quote(table)}")  # nosec B608
    return tables
