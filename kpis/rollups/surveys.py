"""Survey invitations sent and responses given per local day."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime

from django.db.models import Count, Max, Min, Q, Sum
from django.db.models.functions import TruncDate

from kpis.models import SURVEY_ROLLUPS, RefreshState
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
from surveys.choices import SurveyKind
from surveys.models import SurveyInvitation, SurveyResponse

SURVEYS_STATE = "surveys"  # last_id: responses; watermark: the last refresh
INVITATIONS_STATE = "survey_invitations"  # last_id: invitations
SURVEY_DIMENSIONS = ("team_id", "agent_id", "channel", "ticket_kind", "customer__tier")


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
        SurveyResponse.objects.filter(day_runs_q("answered_at", days))
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
        SurveyInvitation.objects.filter(day_runs_q("sent_at", days), csat)
        .annotate(day=TruncDate("sent_at", tzinfo=tz))
        .values("day", *SURVEY_DIMENSIONS)
        .annotate(
            csat_sent=Count("pk"), csat_answered=Count("pk", filter=Q(answered_at__isnull=False))
        )
        .order_by()
    )
    for queryset in (responses, sent):
        rows_add(rows, queryset, "day", SURVEY_DIMENSIONS)
    days_replace(SURVEY_ROLLUPS, days, rows)


def surveys_refresh(*, now: datetime, rebuild: bool) -> int:
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
        days = days_spanning(*span.values(), *answered.values())
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
    ids_advance(responses, newest_response, now=now)
    ids_advance(invitations, newest_invitation)
    return len(days)
