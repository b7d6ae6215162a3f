"""Every KPI on a small data set built through the services, answers worked out by hand.

The week: Monday 16 and Tuesday 17 November 2026, Asia/Shanghai; SLA targets (first response
15 min, handling 24 h, closure 48 h) on office hours Mon–Fri 09:00–18:00.
"""

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

import pytest

from csplatform.actors import Actor
from kpis import definitions as d
from kpis.rollups.refresh import kpis_rebuild, kpis_refresh
from kpis.selectors.commerce import complaint_breakdown, complaint_cube, orders_count
from kpis.selectors.live import ticket_backlog
from kpis.selectors.period import (
    agent_leaderboard,
    dimension_breakdown,
    period_figures,
    period_trend,
)
from kpis.selectors.slices import Slice
from refunds.choices import RefundStatus, ReturnStatus, ReturnType
from surveys.choices import SurveyKind
from surveys.services import survey_answer
from tests.factories import (
    CustomerFactory,
    OrderFactory,
    RefundFactory,
    ReturnRequestFactory,
    SurveyInvitationFactory,
    online_agent,
    supervisor_user,
)
from tickets.choices import TicketKind, TicketStatus
from tickets.services import (
    ticket_create,
    ticket_customer_message,
    ticket_merge,
    ticket_reply,
    ticket_update,
)
from tickets.sla.sweeper import sla_sweep

from .conftest import at

pytestmark = pytest.mark.django_db
WEEK = Slice(start=date(2026, 11, 16), end=date(2026, 11, 17))
NOW = at(17, 12)


def _ticket(created, customer=None):
    return ticket_create(
        customer=customer or CustomerFactory(),
        kind=TicketKind.INQUIRY,
        channel="web",
        subject="我的订单",
        body="请问什么时候发货？",
        actor=Actor.system("test"),
        now=created,
    )


@pytest.fixture
def week(office_hours, general_team):
    """Five tickets that count and one merged duplicate that does not:

    A  Mon 10:00, reply + solve 10:05                 FRT 5/5 met, handling and closure 5/5,
                                                      FCR
    B  Mon 08:00, reply 09:30, reply + solve 10:00    FRT 90 cal / 30 business, breached;
       closed Tue 11:00 (bookkeeping: no clock)       handling and closure 120 cal / 60
                                                      business (met at the solve)
    C  Mon 17:50, reply Tue 09:10, still open         FRT 920 cal / 20 business, breached
    D  Mon 11:00, reply + solve 11:10, reopened Tue 10:00 by the customer, reply + solve 10:30
                                                      FRT 10/10 met; handling 10/10 (met once,
                                                      stays met); closure resumed: 1410 cal /
                                                      (10 + 30) = 40 business; solved once (Tue)
    E  Mon 12:00, merged into D at 12:30              left out everywhere
    F  Tue 11:30, never answered                      backlog < 1 h; breached at 11:45
    """
    agent = online_agent(general_team, capacity=0, username="li.na", first_name="Na")
    boss = supervisor_user()
    general_team.members.add(boss)
    t = {}
    t["A"] = _ticket(at(16, 10))
    ticket_reply(ticket=t["A"], user=agent, body="已处理", then_status="solved", now=at(16, 10, 5))
    t["B"] = _ticket(at(16, 8))
    ticket_reply(ticket=t["B"], user=agent, body="稍等", now=at(16, 9, 30))
    ticket_reply(ticket=t["B"], user=agent, body="好了", then_status="solved", now=at(16, 10))
    t["C"] = _ticket(at(16, 17, 50))
    t["D"] = _ticket(at(16, 11))
    ticket_reply(ticket=t["D"], user=agent, body="已发货", then_status="solved", now=at(16, 11, 10))
    t["E"] = _ticket(at(16, 12), customer=t["D"].customer)
    ticket_merge(source=t["E"], target=t["D"], by_user=boss, now=at(16, 12, 30))
    sla_sweep(now=at(16, 18))
    ticket_reply(ticket=t["C"], user=agent, body="您好", now=at(17, 9, 10))
    ticket_customer_message(
        ticket=t["D"], body="还没收到", actor=Actor.system("shop"), now=at(17, 10)
    )
    ticket_reply(ticket=t["D"], user=agent, body="补发了", then_status="solved", now=at(17, 10, 30))
    ticket_update(ticket=t["B"], by_user=boss, status="closed", now=at(17, 11))
    t["F"] = _ticket(at(17, 11, 30))
    sla_sweep(now=NOW)
    for ticket in t.values():
        ticket.refresh_from_db()
    return {"tickets": t, "agent": agent}


def test_ticket_counts_resolution_fcr_and_reopen_rate(week):
    kpis_rebuild(now=NOW)
    f = period_figures(WEEK, now=NOW)
    assert f["tickets_created"] == 5  # A B C D F; E is a merged duplicate
    assert f["tickets_solved"] == 3  # A B D; D was solved twice and counts once
    # Created this week and no longer open: A, B, D of A B C D F.
    assert f["resolution_rate"] == pytest.approx(100 * 3 / 5)
    # Of A, B, D only A was solved with one public reply and never reopened.
    assert f["fcr_rate"] == pytest.approx(100 / 3)
    assert f["reopen_rate"] == pytest.approx(100 / 3)


def test_first_response_statistics_in_calendar_and_business_minutes(week):
    kpis_rebuild(now=NOW)
    f = period_figures(WEEK, now=NOW)
    # Calendar minutes 5, 10, 90, 920 (A, D, B, C) in buckets [5,6) [10,12) [90,120) [720,960).
    # Median: rank 0.5 × 4 = 2 → second bucket, all of it: 10 + 2 × 1/1 = 12.
    assert f["frt_median_cal"] == pytest.approx(12)
    # 90th: rank 3.6 → [720, 960): 720 + 240 × 0.6 = 864.
    assert f["frt_p90_cal"] == pytest.approx(864)
    assert f["frt_mean_cal"] == pytest.approx((5 + 10 + 90 + 920) / 4)
    # Business minutes 5, 10, 30 (B: 09:00–09:30), 20 (C: 17:50–18:00 + 09:00–09:10).
    # Buckets [5,6) [10,12) [20,25) [30,40): median 12, 90th 30 + 10 × 0.6 = 36.
    assert f["frt_median_bus"] == pytest.approx(12)
    assert f["frt_p90_bus"] == pytest.approx(36)
    assert f["frt_mean_bus"] == pytest.approx((5 + 10 + 30 + 20) / 4)
    assert f["frt_within_target"] == pytest.approx(50)  # A and D met; B and C breached


def test_closure_counts_a_reopened_ticket_once_with_its_total_time_handling_its_first(week):
    kpis_rebuild(now=NOW)
    f = period_figures(WEEK, now=NOW)
    # Handling, met at each first solve: A 5, D 10, B 120 calendar minutes in buckets [5,6)
    # [10,12) [120,180); median rank 1.5 → half of [10,12) = 11.
    assert f["handling_median_cal"] == pytest.approx(10 + 2 * 0.5)
    assert f["handling_mean_cal"] == pytest.approx((5 + 10 + 120) / 3)
    # Business: A 5, D 10, B 60 (09:00–10:00) → [5,6) [10,12) [60,90).
    assert f["handling_median_bus"] == pytest.approx(10 + 2 * 0.5)
    assert f["handling_mean_bus"] == pytest.approx((5 + 10 + 60) / 3)
    # Closure, to the last solve: A 5, B 120, D Mon 11:00 → Tue 10:30 = 1410 calendar minutes
    # in [5,6) [120,180) [960,1440); business A 5, D 10 + 30 = 40, B 60 → [5,6) [40,50) [60,90).
    assert f["closure_median_cal"] == pytest.approx(120 + 60 * 0.5)
    assert f["closure_mean_cal"] == pytest.approx((5 + 120 + 1410) / 3)
    assert f["closure_median_bus"] == pytest.approx(40 + 10 * 0.5)
    assert f["closure_mean_bus"] == pytest.approx((5 + 60 + 40) / 3)
    wednesday = period_figures(Slice(start=date(2026, 11, 18), end=date(2026, 11, 18)), now=NOW)
    assert wednesday["closure_median_cal"] is None  # nothing solved that day: no figure, not 0


def test_sla_compliance_per_metric_and_breached_now(week):
    kpis_rebuild(now=NOW)
    f = period_figures(WEEK, now=NOW)
    assert f["sla_first_response"] == pytest.approx(50)  # A, D met; B, C breached
    assert f["sla_handling"] == pytest.approx(100)  # A, B, D within 24 business hours
    assert f["sla_closure"] == pytest.approx(100)  # A, B, D solved within 48 business hours
    # Stopped: first response A D met, B C breached; handling and closure A B D met.
    assert f["sla_all"] == pytest.approx(100 * 8 / 10)
    assert f["breached_now"] == 1  # F's first response, still owed


def test_backlog_by_age_and_status(week):
    result = ticket_backlog(WEEK, now=NOW)
    assert result["total"] == 2  # C and F
    # C: Mon 17:50 → Tue 12:00 = 18 h 10 min; F: 30 min.
    assert result["by_age"] == {"lt_1h": 1, "1h_4h": 0, "4h_24h": 1, "1d_2d": 0, "gt_2d": 0}
    assert sum(result["by_status"].values()) == 2
    assert result["by_status"][TicketStatus.NEW] == 1  # F, never touched


def test_day_slices_and_series(week):
    kpis_rebuild(now=NOW)
    monday = period_figures(Slice(start=date(2026, 11, 16), end=date(2026, 11, 16)), now=NOW)
    assert monday["tickets_created"] == 4
    assert monday["tickets_solved"] == 2
    days = period_trend(WEEK, "day")
    assert [(r["period"], r["tickets_created"], r["tickets_solved"]) for r in days] == [
        ("2026-11-16", 4, 2),
        ("2026-11-17", 1, 1),
    ]
    weekly = period_trend(WEEK, "week")
    assert [(r["period"], r["tickets_created"]) for r in weekly] == [("2026-11-16", 5)]


def test_agent_breakdown_is_the_scorecard(week):
    kpis_rebuild(now=NOW)
    rows = {r["label"]: r for r in dimension_breakdown(WEEK, "agent")}
    na = rows[week["agent"].get_full_name()]
    # Li Na is the owner (first replier) of A, B, C and D; F has no agent yet.
    assert na["tickets_created"] == 4
    assert na["tickets_solved"] == 3
    assert na["frt_median_cal"] == pytest.approx(12)
    assert na["handling_median_bus"] == pytest.approx(11)
    assert na["sla_all"] == pytest.approx(100 * 8 / 10)
    assert na["csat"] is None
    assert na["complaints"] == 0
    assert [r["label"] for r in agent_leaderboard(WEEK)] == [na["label"]]


def test_incremental_refresh_sees_a_reopen_and_moves_the_solve(week):
    kpis_rebuild(now=NOW)
    a = week["tickets"]["A"]
    ticket_customer_message(ticket=a, body="又坏了", actor=Actor.system("shop"), now=NOW)
    kpis_refresh(now=NOW)
    f = period_figures(WEEK, now=NOW)
    assert f["tickets_solved"] == 2  # A is open again: Monday lost it
    assert f["resolution_rate"] == pytest.approx(100 * 2 / 5)
    ticket_reply(
        ticket=a,
        user=week["agent"],
        body="换新",
        then_status="solved",
        now=NOW + timedelta(minutes=5),
    )
    kpis_refresh(now=NOW)
    f = period_figures(WEEK, now=NOW)
    assert f["tickets_solved"] == 3  # counted once, on Tuesday now
    assert f["reopen_rate"] == pytest.approx(100 * 2 / 3)
    monday = Slice(start=date(2026, 11, 16), end=date(2026, 11, 16))
    assert period_figures(monday, now=NOW)["tickets_solved"] == 1


def test_no_responses_means_no_csat_rather_than_zero(week):
    f = period_figures(WEEK, now=NOW)
    assert f["csat"] is None
    assert f["csat_mean"] is None
    assert f["nps"] is None
    assert f["csat_response_rate"] is None
    assert f["complaint_satisfaction"] is None


def test_csat_nps_and_complaint_satisfaction(week):
    sent = at(17, 9)
    answers = []

    def answered(kind, score):
        subject = {
            SurveyKind.CSAT: {},
            SurveyKind.NPS: {"order": OrderFactory(placed_at=at(10, 9))},
            SurveyKind.COMPLAINT: {"complaint_id": score * 1000 + len(answers)},
        }[kind]
        answers.append(score)
        invitation = SurveyInvitationFactory(kind=kind, created_at=sent, **subject)
        survey_answer(invitation=invitation, score=score, now=at(17, 10))

    for score in (5, 4, 2):
        answered(SurveyKind.CSAT, score)
    SurveyInvitationFactory(kind=SurveyKind.CSAT, created_at=sent)  # never answered
    SurveyInvitationFactory(kind=SurveyKind.CSAT, created_at=at(18, 9))  # sent after the week
    for score in (10, 9, 7, 3):
        answered(SurveyKind.NPS, score)
    for score in (5, 3):
        answered(SurveyKind.COMPLAINT, score)
    kpis_rebuild(now=NOW)  # the surveys per day
    f = period_figures(WEEK, now=NOW)
    assert f["csat"] == pytest.approx(100 * 2 / 3)
    assert f["csat_mean"] == pytest.approx(11 / 3)
    assert f["csat_response_rate"] == pytest.approx(100 * 3 / 4)
    assert f["nps"] == pytest.approx(100 * (2 - 1) / 4)  # 10, 9 promote; 3 detracts
    assert f["complaint_satisfaction"] == pytest.approx(50)


def test_surveys_sent_and_answered_after_a_rebuild_are_counted_by_the_next_refresh(week):
    kpis_rebuild(now=NOW)
    monday = SurveyInvitationFactory(kind=SurveyKind.CSAT, created_at=at(16, 9))
    SurveyInvitationFactory(kind=SurveyKind.CSAT, created_at=at(16, 10))  # never answered
    assert period_figures(WEEK, now=NOW)["csat_response_rate"] is None  # not before the refresh

    kpis_refresh(now=NOW)
    assert period_figures(WEEK, now=NOW)["csat_response_rate"] == pytest.approx(0)
    assert period_figures(WEEK, now=NOW)["csat"] is None  # no responses: no CSAT, not 0 %

    survey_answer(invitation=monday, score=5, now=at(17, 11))
    kpis_refresh(now=NOW)

    f = period_figures(WEEK, now=NOW)
    assert f["csat_response_rate"] == pytest.approx(50)  # Monday's invitation, answered Tuesday
    assert f["csat"] == pytest.approx(100)
    tuesday = Slice(start=date(2026, 11, 17), end=date(2026, 11, 17))
    assert period_figures(tuesday, now=NOW)["csat"] == pytest.approx(100)  # the day it was answered
    assert period_figures(tuesday, now=NOW)["csat_response_rate"] is None  # sent on Monday
    kpis_refresh(now=NOW)
    # Not counted twice.
    assert period_figures(WEEK, now=NOW)["csat_response_rate"] == pytest.approx(50)


def test_returns_and_refunds_per_thousand_orders(week):
    orders = [OrderFactory(placed_at=at(16, 9)) for _ in range(4)]
    OrderFactory(placed_at=at(18, 9))  # outside the week

    def request(order, *, received, breached=None):
        return ReturnRequestFactory(
            order=order,
            status=ReturnStatus.REFUNDED,
            received_at=received,
            refund_breached_at=breached,
            created_at=at(16, 10),
            updated_at=at(17, 10),
        )

    on_time = request(orders[0], received=at(16, 12))
    late = request(orders[1], received=at(16, 12), breached=at(16, 13))
    for r, amount in ((on_time, "30.00"), (late, "20.00")):
        RefundFactory(
            request=r,
            amount=Decimal(amount),
            status=RefundStatus.SUCCEEDED,
            created_at=at(17, 9),
            settled_at=at(17, 10),
        )
    kpis_rebuild(now=NOW)  # the orders per day
    f = period_figures(WEEK, now=NOW)
    assert f["returns_per_1000_orders"] == pytest.approx(1000 * 2 / 4)
    assert f["refund_amount"] == Decimal("50.00")
    assert f["refund_hours_mean"] == pytest.approx(24)  # Mon 10:00 → Tue 10:00, both
    assert f["refund_within_3_working_days"] == pytest.approx(50)
    assert f["complaints_per_1000_orders"] == pytest.approx(0)


def test_percentile_of_an_empty_histogram_is_no_figure():
    assert d.histogram_percentile([0] * d.HISTOGRAM_BUCKETS, 0.5) is None
    assert d.histogram_bucket(-5) == 0
    assert d.histogram_bucket(60 * 10080 + 1) == d.HISTOGRAM_BUCKETS - 1
    assert d.meets_target(None, 95, d.HIGHER) is None
    assert d.meets_target(96, 95, d.HIGHER) is True
    assert d.meets_target(16, 15, d.LOWER) is False


def test_orders_are_counted_on_the_local_day_they_were_placed_also_when_synced_later(week):
    OrderFactory(placed_at=at(16, 9), channel="web")
    kpis_rebuild(now=NOW)
    assert orders_count(WEEK) == 1

    # Synced after the rebuild: one placed in the week days ago, one after it, one on the app.
    OrderFactory(placed_at=at(16, 0, 30), channel="web")  # Monday 00:30 local, Sunday in UTC
    OrderFactory(placed_at=at(18, 9), channel="web")
    OrderFactory(placed_at=at(17, 9), channel="app")
    assert orders_count(WEEK) == 1  # not before the refresh

    kpis_refresh(now=NOW)

    assert orders_count(WEEK) == 3
    assert orders_count(replace(WEEK, channel="web")) == 2
    assert orders_count(replace(WEEK, channel="app")) == 1
    kpis_refresh(now=NOW)
    assert orders_count(WEEK) == 3  # counted again, not added twice


def test_returns_and_refunds_after_a_rebuild_are_counted_by_the_next_refresh(week):
    order = OrderFactory(placed_at=at(16, 9))
    kpis_rebuild(now=NOW)
    request = ReturnRequestFactory(
        order=order,
        type=ReturnType.REFUND_ONLY,
        status=ReturnStatus.REFUNDED,
        requested_amount=Decimal("80.00"),
        received_at=at(16, 12),
        created_at=at(16, 10),
        updated_at=at(17, 10),
    )
    assert period_figures(WEEK, now=NOW)["returns_per_1000_orders"] == 0  # not before the refresh

    kpis_refresh(now=NOW)
    f = period_figures(WEEK, now=NOW)
    assert f["returns_per_1000_orders"] == pytest.approx(1000)  # one return, one order
    assert (f["refund_amount"], f["refund_hours_mean"]) == (0, None)

    RefundFactory(
        request=request,
        amount=Decimal("80.00"),
        status=RefundStatus.SUCCEEDED,
        created_at=at(17, 9),
        settled_at=at(17, 10),
    )
    kpis_refresh(now=NOW)

    f = period_figures(WEEK, now=NOW)
    assert f["returns_per_1000_orders"] == pytest.approx(1000)
    assert f["refund_amount"] == Decimal("80.00")
    assert f["refund_hours_mean"] == pytest.approx(24)
    assert f["refund_within_3_working_days"] == pytest.approx(100)
    kpis_refresh(now=NOW)
    assert period_figures(WEEK, now=NOW)["refund_amount"] == Decimal("80.00")  # not counted twice


def _complaint_filed(created, category, accepted=None):
    from complaints.services import complaint_accept, complaint_create

    complaint = complaint_create(
        customer=CustomerFactory(),
        category=category,
        channel="app",
        description="快递员态度很差",
        actor=Actor.system("shop"),
        now=created,
    )
    if accepted:
        complaint_accept(complaint=complaint, actor=Actor.system("test"), now=accepted)
    return complaint


def test_complaints_per_thousand_orders_acceptance_and_breakdown(office_hours):
    for _ in range(8):
        OrderFactory(placed_at=at(16, 9))
    filed = _complaint_filed
    filed(at(16, 9), "logistics", accepted=at(16, 20))  # within 24 h
    filed(at(16, 10), "logistics", accepted=at(17, 11))  # 25 h: late
    filed(at(16, 11), "service_attitude")  # not accepted, 25 h old at NOW: late
    filed(at(17, 11, 30), "product_quality")  # 30 min old, not accepted: not decided yet
    kpis_rebuild(now=NOW)
    f = period_figures(WEEK, now=NOW)
    assert f["complaints_per_1000_orders"] == pytest.approx(1000 * 4 / 8)
    assert f["complaints_accepted_24h"] == pytest.approx(100 / 3)
    # The acceptance clocks (24 h on office hours) of the two accepted complaints both met.
    assert f["sla_acceptance"] == pytest.approx(100)

    split = complaint_breakdown(WEEK)
    assert split["by_category"] == {"logistics": 2, "product_quality": 1, "service_attitude": 1}
    assert sum(split["by_severity"].values()) == 4


def test_complaints_older_than_a_day_are_read_from_the_rollup_and_follow_their_changes(
    office_hours,
):
    """Seen a week later, the same four complaints come from the complaints per day: all are
    decided now (the one filed Tuesday 11:30 was never accepted, so it is late), and a
    complaint re-classified or whose ticket moves team is counted again at the next refresh."""
    from complaints.services import complaint_classify
    from kpis.models import ComplaintDayRollup
    from tests.factories import TeamFactory, admin_user
    from tickets.services import ticket_update

    filed = _complaint_filed
    for _ in range(8):
        OrderFactory(placed_at=at(16, 9))
    first = filed(at(16, 9), "logistics", accepted=at(16, 20))  # within 24 h
    filed(at(16, 10), "logistics", accepted=at(17, 11))  # 25 h: late
    filed(at(16, 11), "service_attitude")  # never accepted: late
    last = filed(at(17, 11, 30), "product_quality")  # never accepted: late a week later
    week_later = at(24, 12)
    kpis_rebuild(now=week_later)
    assert sum(r.complaints for r in ComplaintDayRollup.objects.all()) == 4
    # Nothing of the 16th–17th is read from the complaints themselves any more.
    assert all(row["decided"] == row["n"] for row in complaint_cube(WEEK, now=week_later))
    f = period_figures(WEEK, now=week_later)
    assert f["complaints_per_1000_orders"] == pytest.approx(1000 * 4 / 8)
    assert f["complaints_accepted_24h"] == pytest.approx(100 / 4)
    # Read live, the day it was filed, the last one was still inside its 24 hours.
    assert period_figures(WEEK, now=NOW)["complaints_accepted_24h"] == pytest.approx(100 / 3)

    complaint_classify(
        complaint=last, category="logistics", actor=Actor.system("test"), now=at(24, 12, 1)
    )
    elsewhere = TeamFactory(name="Escalations")
    first.ticket.refresh_from_db()
    ticket_update(ticket=first.ticket, by_user=admin_user(), team=elsewhere, now=at(24, 12, 2))
    kpis_refresh(now=at(24, 12, 3))
    split = complaint_breakdown(WEEK, rows=complaint_cube(WEEK, now=at(24, 12, 3)))
    assert split["by_category"] == {"logistics": 3, "service_attitude": 1}
    moved = replace(WEEK, team_ids=(elsewhere.pk,))
    assert sum(r["n"] for r in complaint_cube(moved, now=at(24, 12, 3))) == 1


@pytest.mark.postgres(reason="VACUUM (ANALYZE) read back from pg_stat_user_tables")
@pytest.mark.django_db(transaction=True)
def test_the_nightly_rebuild_leaves_the_rollups_vacuumed_and_analysed(general_team):
    """A full rebuild replaces every fact and rollup row; the command then reclaims the old
    rows and refreshes the planner's statistics, so that the next morning's dashboard does
    not scan each row twice."""
    from io import StringIO

    from django.core.management import call_command
    from django.db import connection

    from kpis.models import TicketDayRollup, TicketFact

    _ticket(at(16, 10))
    kpis_rebuild(now=NOW)  # the rows the next rebuild replaces
    out = StringIO()
    call_command("kpis_rebuild", stdout=out)
    assert "tables vacuumed" in out.getvalue()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT relname, last_vacuum IS NOT NULL, last_analyze IS NOT NULL "
            "FROM pg_stat_user_tables WHERE relname IN (%s, %s)",
            [TicketFact._meta.db_table, TicketDayRollup._meta.db_table],
        )
        assert sorted(cursor.fetchall()) == [
            ("kpis_ticketdayrollup", True, True),
            ("kpis_ticketfact", True, True),
        ]
