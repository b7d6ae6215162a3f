"""Building the KPI facts and day rollups from the source tables, incrementally and in full.

Incremental refresh (every minute): the tickets whose ``updated_at`` is at or after the
watermark (less a few minutes of overlap for transactions that committed late) get their fact
row rebuilt; every local day that the old or the new fact counts on is summed again from the
facts and the stopped SLA clocks. Every ticket service sets ``updated_at`` in the same
transaction as the change, replies and clock stops included. The nightly rebuild re-derives
every fact and every day from scratch, which also mends anything the watermark could miss
(a ticket deleted, a change written without touching ``updated_at``).
"""

from __future__ import annotations

import zoneinfo
from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import (
    Case,
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    IntegerField,
    Max,
    Min,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from complaints.models import Complaint
from csplatform.bulk import RowWriter
from orders.models import Order
from refunds.choices import RefundStatus
from refunds.models import Refund, ReturnRequest
from surveys.choices import SurveyKind
from surveys.models import SurveyInvitation, SurveyResponse
from tickets.choices import AuthorKind, TicketStatus
from tickets.models import ClockStatus, Message, SlaClock, Ticket

from .definitions import HISTOGRAM_BUCKETS, SLA_METRICS, histogram_bucket
from .models import (
    CALENDARS,
    CUBE_FIELDS,
    ROLLUPS,
    SURVEY_ROLLUPS,
    TIMED,
    ComplaintDayRollup,
    OrderDayRollup,
    RefreshState,
    ReturnDayRollup,
    TicketFact,
)

TIMED_METRICS = {"frt": "first_response", "handling": "handling", "closure": "closure"}
DIMENSIONS = ("team_id", "agent_id", "channel", "kind", "tier")
STOPPED = (ClockStatus.MET, ClockStatus.BREACHED)
FINISHED = (TicketStatus.SOLVED, TicketStatus.CLOSED)
# Re-read a little before the watermark: a transaction that began earlier may commit later.
OVERLAP = timedelta(minutes=5)
STATE = "tickets"
ORDERS_STATE = "orders"
SURVEYS_STATE = "surveys"  # last_id: responses; watermark: the last refresh
INVITATIONS_STATE = "survey_invitations"  # last_id: invitations
RETURNS_STATE = "returns"  # last_id: return requests; watermark: the last refresh
REFUNDS_STATE = "refunds"  # last_id: refunds
COMPLAINTS_STATE = "complaints"  # watermark: the newest ``updated_at`` counted
# Orders are counted again from a little before the newest id counted: an order whose
# transaction took its id earlier may commit later.
ORDER_ID_OVERLAP = 1000


def business_tz() -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(settings.TIME_ZONE)


def local_day(moment: datetime) -> date:
    return moment.astimezone(business_tz()).date()


def day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=business_tz())


# --- Facts --------------------------------------------------------------------------------------


def ticket_facts_build(ticket_ids: Iterable[int]) -> list[TicketFact]:
    """The fact rows of these tickets, read in a fixed number of queries."""
    ids = list(ticket_ids)
    tickets = Ticket.objects.filter(pk__in=ids).values(
        "id",
        "team_id",
        "assignee_id",
        "owner_id",
        "channel",
        "kind",
        "customer__tier",
        "merged_into_id",
        "status",
        "created_at",
        "solved_at",
        "reopen_count",
    )
    replies = dict(
        Message.objects.filter(
            ticket_id__in=ids, author_kind=AuthorKind.AGENT, internal=False, automated=False
        )
        .values("ticket_id")
        .annotate(n=Count("id"))
        .values_list("ticket_id", "n")
    )
    clocks = defaultdict(list)
    for clock in SlaClock.objects.filter(
        ticket_id__in=ids, status__in=STOPPED, stopped_at__isnull=False
    ).values("ticket_id", "metric", "cycle", "status", "started_at", "stopped_at", "used"):
        clocks[clock["ticket_id"]].append(clock)

    facts = []
    for t in tickets:
        finished = t["status"] in FINISHED
        solved = finished and t["solved_at"] is not None
        fact = TicketFact(
            ticket_id=t["id"],
            team_id=t["team_id"],
            agent_id=t["assignee_id"] or t["owner_id"],
            channel=t["channel"],
            kind=t["kind"],
            tier=t["customer__tier"],
            merged=t["merged_into_id"] is not None,
            created_day=local_day(t["created_at"]),
            finished=finished,
            solved_day=local_day(t["solved_at"]) if solved else None,
            reopened=t["reopen_count"] > 0,
            fcr=solved and t["reopen_count"] == 0 and replies.get(t["id"], 0) == 1,
        )
        days = {fact.created_day}
        if fact.solved_day:
            days.add(fact.solved_day)
        for clock in clocks[t["id"]]:
            stopped_day = local_day(clock["stopped_at"])
            days.add(stopped_day)
            timed = next((k for k, v in TIMED_METRICS.items() if v == clock["metric"]), None)
            if timed is None or clock["cycle"] != 1:
                continue
            seconds = {
                "cal": int((clock["stopped_at"] - clock["started_at"]).total_seconds()),
                "bus": int(clock["used"].total_seconds()),
            }
            setattr(fact, f"{timed}_day", stopped_day)
            setattr(fact, f"{timed}_met", clock["status"] == ClockStatus.MET)
            for cal in CALENDARS:
                setattr(fact, f"{timed}_{cal}_seconds", seconds[cal])
                setattr(fact, f"{timed}_{cal}_bucket", histogram_bucket(seconds[cal]))
        fact.days = sorted(d.isoformat() for d in days)
        facts.append(fact)
    return facts


def ticket_facts_refresh(ticket_ids: Iterable[int]) -> set[date]:
    """Rebuild these tickets' facts; returns every day the old or new facts count on."""
    ids = list(ticket_ids)
    dirty: set[date] = set()
    for days in TicketFact.objects.filter(ticket_id__in=ids).values_list("days", flat=True):
        dirty.update(date.fromisoformat(d) for d in days)
    facts = ticket_facts_build(ids)
    for fact in facts:
        dirty.update(date.fromisoformat(d) for d in fact.days)
    TicketFact.objects.filter(ticket_id__in=ids).delete()
    RowWriter(timezone.now(), TicketFact).insert_instances(TicketFact, facts)
    return dirty


# --- Day rollups ------------------------------------------------------------------------------


def _count_if(condition: Q) -> Sum:
    return Sum(Case(When(condition, then=Value(1)), default=Value(0), output_field=IntegerField()))


def _runs(days: list[date]) -> list[tuple[date, date]]:
    """Sorted days as runs of consecutive days, ``(first, last)``."""
    runs: list[list[date]] = []
    for day in days:
        if runs and day == runs[-1][1] + timedelta(days=1):
            runs[-1][1] = day
        else:
            runs.append([day, day])
    return [(first, last) for first, last in runs]


def _days_spanning(*moments: datetime | None) -> set[date]:
    """Every local day from the earliest to the latest of these moments (``None`` ignored)."""
    known = [m for m in moments if m is not None]
    if not known:
        return set()
    first, last = local_day(min(known)), local_day(max(known))
    return {first + timedelta(days=n) for n in range((last - first).days + 1)}


def _timed_aggregates(timed: str) -> dict:
    aggregates = {
        f"{timed}_count": Count("pk"),
        f"{timed}_met": _count_if(Q(**{f"{timed}_met": True})),
    }
    for cal in CALENDARS:
        aggregates[f"{timed}_{cal}_seconds"] = Sum(f"{timed}_{cal}_seconds")
        for bucket in range(HISTOGRAM_BUCKETS):
            aggregates[f"{timed}_{cal}_h{bucket:02d}"] = _count_if(
                Q(**{f"{timed}_{cal}_bucket": bucket})
            )
    return aggregates


def _rows_add(rows: dict[tuple, dict], queryset, day_field: str, dimensions) -> None:
    """Add the measures of each row of ``queryset`` (a ``values()`` of the day, the dimensions
    and measures) to ``rows``, under the key (day, *dimensions)."""
    for row in queryset:
        key = (row.pop(day_field), *(row.pop(d) for d in dimensions))
        rows[key].update(row)


def _rows_for_days(days: list[date]) -> dict[tuple, dict]:
    """Rollup rows of these days, keyed by (day, *dimensions): one query per measure group."""
    rows: dict[tuple, dict] = defaultdict(dict)
    live = TicketFact.objects.filter(merged=False)

    def add(day_field: str, aggregates: dict) -> None:
        queryset = (
            live.filter(**{f"{day_field}__in": days})
            .values(day_field, *DIMENSIONS)
            .annotate(**aggregates)
            .order_by()
        )
        _rows_add(rows, queryset, day_field, DIMENSIONS)

    add("created_day", {"created": Count("pk"), "finished": _count_if(Q(finished=True))})
    add(
        "solved_day",
        {
            "solved": Count("pk"),
            "fcr": _count_if(Q(fcr=True)),
            "reopened": _count_if(Q(reopened=True)),
        },
    )
    for timed in TIMED:
        add(f"{timed}_day", _timed_aggregates(timed))

    fact = "ticket__kpi_fact__"
    stopped = Q()
    for first, last in _runs(days):
        stopped |= Q(
            stopped_at__gte=day_start(first), stopped_at__lt=day_start(last + timedelta(1))
        )
    clock_rows = (
        SlaClock.objects.filter(stopped, status__in=STOPPED, ticket__kpi_fact__merged=False)
        .annotate(day=TruncDate("stopped_at", tzinfo=business_tz()))
        .values("day", *(f"{fact}{d}" for d in DIMENSIONS), "metric")
        .annotate(
            met=_count_if(Q(status=ClockStatus.MET)),
            breached=_count_if(Q(status=ClockStatus.BREACHED)),
        )
        .order_by()
    )
    for row in clock_rows:
        if row["metric"] not in SLA_METRICS:
            continue
        key = (row["day"], *(row[f"{fact}{d}"] for d in DIMENSIONS))
        rows[key][f"sla_{row['metric']}_met"] = row["met"]
        rows[key][f"sla_{row['metric']}_breached"] = row["breached"]
    return rows


def _collapse(rows: dict[tuple, dict], keep: tuple[int, ...]) -> dict[tuple, dict]:
    """The rows summed over the key positions not in ``keep``."""
    out: dict[tuple, dict] = defaultdict(lambda: defaultdict(int))
    for key, values in rows.items():
        target = out[tuple(key[i] for i in keep)]
        for name, value in values.items():
            target[name] += value or 0
    return out


def rollup_days(days: Iterable[date], *, chunk: int = 31) -> int:
    """Sum these days again from the facts and clocks, at every grain; returns the number of
    finest-grain rows written."""
    ordered = sorted(set(days))
    written = 0
    for i in range(0, len(ordered), chunk):
        some = ordered[i : i + chunk]
        rows = _rows_for_days(some)
        _days_replace(ROLLUPS, some, rows)
        written += len(rows)
    return written


# --- Orders per day ------------------------------------------------------------------------


def order_days_rollup(days: Iterable[date]) -> None:
    """Count again the orders placed on these local days, per channel and customer tier.

    An order's tier is its customer's when counted: a customer who changes tier moves their
    orders at the nightly rebuild.
    """
    for first, last in _runs(sorted(set(days))):
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


def _refresh_by_updated_at(
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
    changed, newest = _changed_days(rows, day_field, since=since)
    days = set(days) | changed
    recount(days)
    if newest is not None and (state.watermark is None or newest > state.watermark):
        state.watermark = newest
    state.save(update_fields=["watermark"])
    return len(days)


def _orders_refresh(*, rebuild: bool) -> int:
    """The orders per day, after the orders created or changed since the last count."""
    return _refresh_by_updated_at(
        ORDERS_STATE,
        Order.objects.all(),
        "placed_at",
        (OrderDayRollup,),
        order_days_rollup,
        rebuild=rebuild,
    )


def _days_replace(models, days: list[date], rows: dict[tuple, dict], keys=CUBE_FIELDS) -> None:
    """Replace these days' rows of a rollup, at each of its grains (``models``, the finest
    first), by ``rows`` keyed by the finest grain's ``keys`` (measures left out are 0). A
    coarser grain keeps the key columns it has and sums over the others."""
    with transaction.atomic():
        for model in models:
            columns = {f.column for f in model._meta.concrete_fields}
            keep = tuple(i for i, name in enumerate(keys) if name in columns)
            grain = rows if len(keep) == len(keys) else _collapse(rows, keep)
            names = [keys[i] for i in keep]
            model.objects.filter(day__in=days).delete()
            RowWriter(timezone.now(), model).insert_instances(
                model,
                [
                    model(**dict(zip(names, key, strict=True)), **values)
                    for key, values in grain.items()
                ],
            )


def _changed_days(
    rows, day_field: str, *, since: datetime | None
) -> tuple[set[date], datetime | None]:
    """The local days (of ``day_field``) of the rows changed since ``since`` (by their
    ``updated_at``), or every day from the first row to the last when ``since`` is None; and
    the newest ``updated_at`` among those rows."""
    if since is None:
        span = rows.aggregate(first=Min(day_field), last=Max(day_field), newest=Max("updated_at"))
        return _days_spanning(span["first"], span["last"]), span["newest"]
    # Worked out by the database: after a bulk change the window holds many rows but few days.
    changed = rows.filter(updated_at__gte=since)
    days = set(
        changed.annotate(day=TruncDate(day_field, tzinfo=business_tz()))
        .values_list("day", flat=True)
        .distinct()
        .order_by()
    )
    return days, changed.aggregate(m=Max("updated_at"))["m"]


def _ids_advance(state: RefreshState, newest: int | None, *, now: datetime | None = None) -> None:
    """Move a refresh state's id watermark forward to ``newest`` (never back); with ``now``,
    note it as the time of this refresh."""
    state.last_id = max(newest or 0, state.last_id or 0)
    fields = ["last_id"]
    if now is not None:
        state.watermark = now
        fields.append("watermark")
    state.save(update_fields=fields)


# --- Surveys per day --------------------------------------------------------------------------

SURVEY_DIMENSIONS = ("team_id", "agent_id", "channel", "ticket_kind", "customer__tier")


def _day_runs_q(field: str, days: Iterable[date]) -> Q:
    q = Q(pk__in=[])
    for first, last in _runs(sorted(set(days))):
        q |= Q(
            **{f"{field}__gte": day_start(first), f"{field}__lt": day_start(last + timedelta(1))}
        )
    return q


def survey_days_rollup(days: Iterable[date]) -> None:
    """Sum again the survey invitations sent and the responses given on these local days."""
    days = sorted(set(days))
    if not days:
        return
    tz = business_tz()
    rows: dict[tuple, dict] = defaultdict(dict)
    csat, nps, complaint = (
        Q(kind=SurveyKind.CSAT),
        Q(kind=SurveyKind.NPS),
        Q(kind=SurveyKind.COMPLAINT),
    )
    responses = (
        SurveyResponse.objects.filter(_day_runs_q("answered_at", days))
        .annotate(day=TruncDate("answered_at", tzinfo=tz))
        .values("day", *SURVEY_DIMENSIONS)
        .annotate(
            csat_n=Count("pk", filter=csat),
            csat_good=Count("pk", filter=csat & Q(score__gte=4)),
            csat_total=Sum("score", filter=csat, default=0),
            nps_n=Count("pk", filter=nps),
            nps_promoters=Count("pk", filter=nps & Q(score__gte=9)),
            nps_detractors=Count("pk", filter=nps & Q(score__lte=6)),
            complaint_n=Count("pk", filter=complaint),
            complaint_good=Count("pk", filter=complaint & Q(score__gte=4)),
        )
        .order_by()
    )
    sent = (
        SurveyInvitation.objects.filter(_day_runs_q("sent_at", days), csat)
        .annotate(day=TruncDate("sent_at", tzinfo=tz))
        .values("day", *SURVEY_DIMENSIONS)
        .annotate(
            csat_sent=Count("pk"), csat_answered=Count("pk", filter=Q(answered_at__isnull=False))
        )
        .order_by()
    )
    for queryset in (responses, sent):
        _rows_add(rows, queryset, "day", SURVEY_DIMENSIONS)
    _days_replace(SURVEY_ROLLUPS, days, rows)


def _surveys_refresh(*, now: datetime, rebuild: bool) -> int:
    """Bring the surveys per day up to date: the days of responses and invitations created
    since the last refresh, of the invitations those responses answer, and of invitations
    sent since then; everything when rebuilding. Returns the number of days summed again."""
    responses, _ = RefreshState.objects.select_for_update().get_or_create(name=SURVEYS_STATE)
    invitations, _ = RefreshState.objects.select_for_update().get_or_create(name=INVITATIONS_STATE)
    days: set[date] = set()
    if rebuild or responses.last_id is None or invitations.last_id is None:
        for model in SURVEY_ROLLUPS:
            model.objects.all().delete()
        span = SurveyInvitation.objects.aggregate(first=Min("sent_at"), last=Max("sent_at"))
        answered = SurveyResponse.objects.aggregate(
            first=Min("answered_at"), last=Max("answered_at")
        )
        days = _days_spanning(*span.values(), *answered.values())
        newest_response = SurveyResponse.objects.aggregate(m=Max("pk"))["m"]
        newest_invitation = SurveyInvitation.objects.aggregate(m=Max("pk"))["m"]
    else:
        since = (responses.watermark or now) - OVERLAP
        new_responses = list(
            SurveyResponse.objects.filter(pk__gt=responses.last_id).values_list(
                "pk", "answered_at", "invitation__sent_at"
            )
        )
        for _pk, answered_at, sent_at in new_responses:
            days.add(local_day(answered_at))
            if sent_at is not None:
                days.add(local_day(sent_at))
        # Two range reads, each off its own index (an OR of the two would scan the table).
        sent = SurveyInvitation.objects.filter(sent_at__isnull=False)
        for recent in (sent.filter(pk__gt=invitations.last_id), sent.filter(sent_at__gte=since)):
            days.update(local_day(sent_at) for sent_at in recent.values_list("sent_at", flat=True))
        newest_response = max((pk for pk, *_ in new_responses), default=None)
        newest_invitation = SurveyInvitation.objects.aggregate(m=Max("pk"))["m"]
    survey_days_rollup(days)
    _ids_advance(responses, newest_response, now=now)
    _ids_advance(invitations, newest_invitation)
    return len(days)


# --- Returns and refunds per day --------------------------------------------------------------


def _ticket_dimensions(prefix: str) -> dict:
    """The rollup dimensions of the ticket reached through ``prefix``, as annotations."""
    return {
        "d_team": F(f"{prefix}team_id"),
        "d_agent": Coalesce(f"{prefix}assignee_id", f"{prefix}owner_id"),
        "d_channel": Coalesce(f"{prefix}channel", Value("")),
        "d_kind": Coalesce(f"{prefix}kind", Value("")),
        "d_tier": Coalesce(f"{prefix}customer__tier", Value("")),
    }


TICKET_DIMENSION_ALIASES = ("d_team", "d_agent", "d_channel", "d_kind", "d_tier")


def return_days_rollup(days: Iterable[date]) -> None:
    """Sum again the return requests made and the refunds settled on these local days."""
    days = sorted(set(days))
    if not days:
        return
    tz = business_tz()
    rows: dict[tuple, dict] = defaultdict(dict)
    requests = (
        ReturnRequest.objects.filter(_day_runs_q("created_at", days))
        .annotate(day=TruncDate("created_at", tzinfo=tz), **_ticket_dimensions("ticket__"))
        .values("day", *TICKET_DIMENSION_ALIASES)
        .annotate(returns=Count("pk"))
        .order_by()
    )
    paid = Refund.objects.filter(_day_runs_q("settled_at", days), status=RefundStatus.SUCCEEDED)
    refunds = (
        paid.annotate(
            day=TruncDate("settled_at", tzinfo=tz), **_ticket_dimensions("request__ticket__")
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
        .annotate(day=TruncDate("settled_at", tzinfo=tz), **_ticket_dimensions("request__ticket__"))
        .values("day", *TICKET_DIMENSION_ALIASES)
        .annotate(
            received=Count("pk"),
            received_in_time=Count("pk", filter=Q(request__refund_breached_at__isnull=True)),
        )
        .order_by()
    )
    for queryset in (requests, refunds, received):
        _rows_add(rows, queryset, "day", TICKET_DIMENSION_ALIASES)
    for values in rows.values():
        if "request_to_refund" in values:
            duration = values.pop("request_to_refund")
            values["request_to_refund_seconds"] = int(duration.total_seconds()) if duration else 0
    _days_replace((ReturnDayRollup,), days, rows)


def _returns_refresh(*, now: datetime, rebuild: bool) -> int:
    """Bring the returns per day up to date: the days of requests made and refunds settled
    since the last refresh; everything when rebuilding. Returns the number of days."""
    state, _ = RefreshState.objects.select_for_update().get_or_create(name=RETURNS_STATE)
    refunds, _ = RefreshState.objects.select_for_update().get_or_create(name=REFUNDS_STATE)
    days: set[date] = set()
    if rebuild or state.last_id is None:
        ReturnDayRollup.objects.all().delete()
        made = ReturnRequest.objects.aggregate(first=Min("created_at"), last=Max("created_at"))
        settled = Refund.objects.aggregate(first=Min("settled_at"), last=Max("settled_at"))
        days = _days_spanning(*made.values(), *settled.values())
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
    _ids_advance(state, newest, now=now)
    _ids_advance(refunds, newest_refund)
    return len(days)


# --- Complaints per day ----------------------------------------------------------------------

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
                **_ticket_dimensions("ticket__"),
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
    filed = Complaint.objects.filter(_day_runs_q("created_at", days))
    rows: dict[tuple, dict] = defaultdict(dict)
    _rows_add(rows, complaints_counted(filed, by_day=True), "day", COMPLAINT_DIMENSIONS)
    _days_replace((ComplaintDayRollup,), days, rows, keys=COMPLAINT_KEYS)


def _complaints_refresh(*, rebuild: bool, days: set[date]) -> int:
    """The complaints per day, after the complaints changed since the last refresh and on
    ``days`` (those of complaints whose ticket changed)."""
    return _refresh_by_updated_at(
        COMPLAINTS_STATE,
        Complaint.objects.all(),
        "created_at",
        (ComplaintDayRollup,),
        complaint_days_rollup,
        rebuild=rebuild,
        days=days,
    )


# --- Entry points -------------------------------------------------------------------------------


def kpis_refresh(*, now: datetime | None = None, batch_size: int = 5000) -> dict:
    """Bring facts and rollups up to date with the tickets changed since the last refresh.

    Runs every minute; reads only the changed tickets (index on ``updated_at``) and sums again
    only the days they count on. The first run ever, without a watermark, rebuilds everything.
    """
    now = now or timezone.now()
    RefreshState.objects.get_or_create(name=STATE)
    with transaction.atomic():
        # A refresh or rebuild still running holds the row: this minute's refresh steps aside.
        state = RefreshState.objects.select_for_update(skip_locked=True).filter(name=STATE).first()
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
        rollup_days(dirty)
        order_days = _orders_refresh(rebuild=False)
        survey_days = _surveys_refresh(now=now, rebuild=False)
        return_days = _returns_refresh(now=now, rebuild=False)
        complaint_days = _complaints_refresh(rebuild=False, days=complaint_days)
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
        state, _ = RefreshState.objects.select_for_update().get_or_create(name=STATE)
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
        rollup_days(days)
        order_days = _orders_refresh(rebuild=True)
        survey_days = _surveys_refresh(now=now, rebuild=True)
        return_days = _returns_refresh(now=now, rebuild=True)
        complaint_days = _complaints_refresh(rebuild=True, days=set())
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
