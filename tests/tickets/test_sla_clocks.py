"""The SLA clock rules of sla.md, driven through the ticket services with explicit times."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from csplatform.actors import Actor
from tests.factories import CustomerFactory, TeamFactory, supervisor_user
from tickets.models import (
    BusinessCalendar,
    BusinessHours,
    SlaClock,
    SlaEvent,
    SlaPolicy,
    SlaTarget,
    Ticket,
)
from tickets.services import (
    ticket_create,
    ticket_customer_message,
    ticket_reply,
    ticket_update,
    tickets_close_solved,
)
from tickets.sla.recompute import sla_policy_deactivated, sla_recompute

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 3, 2, 10, 0, tzinfo=SHANGHAI)  # a Monday
STOREFRONT = Actor(kind="api_key", label="storefront")


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


@pytest.fixture
def team():
    team = TeamFactory(name="Service desk")
    team.supervisor = supervisor_user(username="boss")
    team.save()
    return team


def open_ticket(team, *, now=T0, status="new", kind="inquiry", priority=None, tier="regular"):
    from tickets.models import TicketSettings

    settings = TicketSettings.load()
    settings.default_team = team
    settings.save()
    return ticket_create(
        customer=CustomerFactory(tier=tier),
        kind=kind,
        channel="web",
        subject="还没发货",
        body="我的订单什么时候发？",
        actor=STOREFRONT,
        priority=priority,
        status=status,
        now=now,
    )


def clock(ticket, metric, cycle=None) -> SlaClock:
    clocks = SlaClock.objects.filter(ticket=ticket, metric=metric).order_by("-cycle")
    return clocks.get(cycle=cycle) if cycle else clocks.first()


def refresh(ticket) -> Ticket:
    return Ticket.objects.get(pk=ticket.pk)


def custom_policy(name="Custom", position=5, targets=(("first_response", 60),), **conditions):
    policy = SlaPolicy.objects.create(name=name, position=position, **conditions)
    for metric, minutes in targets:
        SlaTarget.objects.create(
            policy=policy,
            metric=metric,
            minutes=minutes,
            pausing_statuses={"handling": ["on_hold"], "closure": ["pending", "on_hold"]}.get(
                metric, []
            ),
        )
    return policy


# --- Starting -------------------------------------------------------------------------------


def test_a_new_ticket_gets_the_default_promises_15_min_24_h_48_h(team, agent):
    ticket = open_ticket(team)
    assert clock(ticket, "first_response").due_at == at(15)
    assert clock(ticket, "handling").due_at == at(24 * 60)
    assert clock(ticket, "closure").due_at == at(48 * 60)
    assert {c.status for c in ticket.sla_clocks.all()} == {"active"}
    ticket = refresh(ticket)
    assert ticket.next_due_at == at(15)
    assert ticket.next_warn_at == at(12)  # 80 % of 15 minutes


def test_the_first_matching_policy_in_position_order_applies(team, agent):
    custom_policy(kinds=["complaint"], targets=(("first_response", 5),))
    complaint = open_ticket(team, kind="complaint")
    inquiry = open_ticket(team, kind="inquiry")
    assert clock(complaint, "first_response").due_at == at(5)
    assert clock(inquiry, "first_response").due_at == at(15)


def test_no_matching_policy_means_no_clocks(team, agent):
    SlaPolicy.objects.update(active=False)
    ticket = open_ticket(team)
    assert not ticket.sla_clocks.exists()
    assert refresh(ticket).next_due_at is None


def test_a_ticket_created_directly_in_a_pausing_status_starts_paused(team, agent):
    ticket = open_ticket(team, status="on_hold")
    for metric in ("handling", "closure"):
        paused = clock(ticket, metric)
        assert (paused.status, paused.due_at) == ("paused", None)
    assert clock(ticket, "first_response").status == "active"  # never pauses by default


def test_targets_on_a_business_calendar_count_only_open_hours(team, agent):
    calendar = BusinessCalendar.objects.create(name="Weekdays", timezone="Asia/Shanghai")
    for weekday in range(5):
        BusinessHours.objects.create(
            calendar=calendar, weekday=weekday, opens="09:00", closes="18:00"
        )
    SlaTarget.objects.filter(metric="first_response").update(calendar=calendar)
    friday_evening = datetime(2026, 3, 6, 17, 55, tzinfo=SHANGHAI)
    ticket = open_ticket(team, now=friday_evening)
    assert clock(ticket, "first_response").due_at == datetime(2026, 3, 9, 9, 10, tzinfo=SHANGHAI)


# --- Fulfilment -----------------------------------------------------------------------------


def test_the_first_public_reply_meets_first_response_with_the_time_to_spare(team, agent):
    ticket = open_ticket(team)
    ticket_reply(ticket=ticket, user=agent, body="您好，马上为您查询", now=at(6))
    first = clock(ticket, "first_response")
    assert first.status == "met"
    assert first.stopped_at == at(6)
    assert first.used == timedelta(minutes=6)
    assert first.margin == timedelta(minutes=9)
    assert refresh(ticket).next_due_at == at(24 * 60)  # handling is next


def test_an_internal_note_does_not_count_as_a_response(team, agent):
    ticket = open_ticket(team)
    ticket_reply(ticket=ticket, user=agent, body="先查仓库", internal=True, now=at(3))
    assert clock(ticket, "first_response").status == "active"


def test_solving_the_ticket_also_fulfils_the_first_response(team, agent):
    ticket = open_ticket(team)
    ticket_update(ticket=ticket, by_user=agent, status="solved", now=at(4))
    assert clock(ticket, "first_response").status == "met"
    assert clock(ticket, "handling").status == "met"
    assert clock(ticket, "closure").status == "met"


def test_a_reply_after_the_due_time_is_a_breach_even_before_a_sweep_saw_it(team, agent):
    ticket = open_ticket(team)
    ticket_reply(ticket=ticket, user=agent, body="抱歉久等", now=at(20))
    first = clock(ticket, "first_response")
    assert first.status == "breached"
    assert first.breached_at == at(15)
    assert first.margin == timedelta(minutes=-5)
    assert SlaEvent.objects.filter(clock=first, kind="breach").count() == 1


# --- Pausing --------------------------------------------------------------------------------


def test_on_hold_pauses_handling_and_resuming_keeps_the_time_used(team, agent):
    ticket = open_ticket(team)
    ticket_update(ticket=ticket, by_user=agent, status="on_hold", now=at(60))  # the carrier's turn
    assert clock(ticket, "handling").status == "paused"
    ticket_update(ticket=refresh(ticket), by_user=agent, status="open", now=at(300))
    handling = clock(ticket, "handling")
    assert handling.status == "active"
    assert handling.used == timedelta(minutes=60)
    assert handling.due_at == at(300 + 23 * 60)


def test_moving_between_two_pausing_statuses_neither_counts_nor_loses_time(team, agent):
    ticket = open_ticket(team)
    ticket_update(ticket=ticket, by_user=agent, status="pending", now=at(60))
    ticket_update(ticket=ticket, by_user=agent, status="on_hold", now=at(120))
    ticket_update(ticket=ticket, by_user=agent, status="open", now=at(180))
    closure = clock(ticket, "closure")
    assert closure.used == timedelta(minutes=60)
    assert closure.due_at == at(180 + 47 * 60)


def test_closure_pauses_while_the_ticket_is_pending(team, agent):
    ticket = open_ticket(team)
    ticket_update(ticket=ticket, by_user=agent, status="pending", now=at(60))
    closure = clock(ticket, "closure")
    assert (closure.status, closure.used, closure.due_at) == (
        "paused",
        timedelta(minutes=60),
        None,
    )


# --- Reopen ---------------------------------------------------------------------------------


def test_a_reopened_ticket_resumes_closure_with_the_time_already_used(team, agent):
    ticket = open_ticket(team)
    ticket_reply(ticket=ticket, user=agent, body="已补发", then_status="solved", now=at(120))
    assert clock(ticket, "closure").status == "met"
    ticket_customer_message(ticket=ticket, body="还是没收到", actor=STOREFRONT, now=at(600))
    closure = clock(ticket, "closure")
    assert (closure.status, closure.stopped_at) == ("active", None)
    assert closure.used == timedelta(minutes=120)
    assert closure.due_at == at(600 + 46 * 60)
    assert clock(ticket, "handling").status == "met"  # once met, handling stays met


def test_a_reopened_ticket_whose_closure_breached_is_due_at_its_breach_time(team, agent):
    ticket = open_ticket(team)
    ticket_reply(ticket=ticket, user=agent, body="您好", now=at(5))
    ticket_update(ticket=refresh(ticket), by_user=agent, status="solved", now=at(49 * 60))
    closure = clock(ticket, "closure")
    assert (closure.status, closure.breached_at) == ("breached", at(48 * 60))
    [breach] = SlaEvent.objects.filter(clock=closure, kind="breach")
    assert datetime.fromisoformat(breach.detail["due_at"]) == at(48 * 60)

    ticket_customer_message(ticket=ticket, body="还是坏的", actor=STOREFRONT, now=at(50 * 60))

    closure = clock(ticket, "closure")
    assert (closure.status, closure.due_at, closure.warn_at) == ("breached", at(48 * 60), None)
    assert refresh(ticket).next_due_at == at(48 * 60)  # overdue in the queue, not "no due"


def test_solving_stops_the_closure_clock_and_the_automatic_close_changes_nothing(team, agent):
    ticket = open_ticket(team)
    ticket_update(ticket=ticket, by_user=agent, status="solved", now=at(60))
    tickets_close_solved(now=at(60 + 96 * 60))
    closure = clock(ticket, "closure")
    assert refresh(ticket).status == "closed"
    assert (closure.status, closure.stopped_at) == ("met", at(60))  # closed is bookkeeping
    assert closure.margin == timedelta(hours=47)
    assert refresh(ticket).next_due_at is None


# --- Policy changes ---------------------------------------------------------------------------


def test_a_priority_change_to_another_policy_keeps_the_time_used(team, agent):
    custom_policy(priorities=["urgent"], targets=(("first_response", 60),))
    ticket = open_ticket(team)
    ticket_update(ticket=ticket, by_user=team.supervisor, priority="urgent", now=at(10))
    first = clock(ticket, "first_response")
    assert first.target_minutes == 60
    assert first.used == timedelta(minutes=10)
    assert first.due_at == at(60)


def test_a_breached_clock_stays_breached_when_the_policy_changes(team, agent):
    from tickets.sla.sweeper import sla_sweep

    custom_policy(priorities=["urgent"], targets=(("first_response", 120),))
    ticket = open_ticket(team)
    sla_sweep(now=at(16))
    ticket_update(ticket=ticket, by_user=team.supervisor, priority="urgent", now=at(20))
    assert clock(ticket, "first_response").status == "breached"


def test_when_no_policy_matches_any_more_the_active_clocks_are_cancelled(team, agent):
    SlaPolicy.objects.exclude(name="Default").update(active=False)
    SlaPolicy.objects.filter(name="Default").update(priorities=["normal"])
    ticket = open_ticket(team)
    ticket_update(ticket=ticket, by_user=team.supervisor, priority="low", now=at(5))
    assert {c.status for c in ticket.sla_clocks.all()} == {"cancelled"}
    assert refresh(ticket).next_due_at is None


def test_editing_a_policy_recomputes_the_due_times_of_the_open_tickets_it_governs(team, agent):
    ticket = open_ticket(team)
    SlaTarget.objects.filter(policy__name="Default", metric="first_response").update(minutes=30)
    policy = SlaPolicy.objects.get(name="Default")
    assert sla_recompute(policy_ids=[policy.pk], now=at(5)) == 1
    assert clock(ticket, "first_response").due_at == at(30)
    assert refresh(ticket).next_due_at == at(30)


def test_deactivating_a_policy_cancels_its_clocks_and_stops_warnings(team, agent):
    from tickets.sla.sweeper import sla_sweep

    ticket = open_ticket(team)
    policy = SlaPolicy.objects.get(name="Default")
    policy.active = False
    policy.save()
    sla_policy_deactivated(policy_id=policy.pk, now=at(7))
    result = sla_sweep(now=at(60))
    assert (result.warned, result.breached) == (0, 0)
    assert {c.status for c in ticket.sla_clocks.all()} == {"cancelled"}


def test_deactivating_a_policy_banks_the_time_its_clocks_ran(team, agent):
    ticket = open_ticket(team)
    ticket_update(ticket=ticket, by_user=agent, status="on_hold", now=at(4))  # handling pauses
    policy = SlaPolicy.objects.get(name="Default")
    policy.active = False
    policy.save()

    sla_policy_deactivated(policy_id=policy.pk, now=at(10))

    used = {c.metric: c.used for c in ticket.sla_clocks.all()}
    assert used == {
        "first_response": timedelta(minutes=10),
        "handling": timedelta(minutes=4),
        "closure": timedelta(minutes=4),
    }
    assert refresh(ticket).next_due_at is None


# --- next_response cycles -------------------------------------------------------------------


def test_next_response_runs_in_cycles_from_unanswered_customer_messages(team, agent):
    custom_policy(targets=(("first_response", 15), ("next_response", 30)))
    ticket = open_ticket(team)
    ticket_reply(ticket=ticket, user=agent, body="您好", now=at(5))
    assert clock(ticket, "next_response") is None
    ticket_customer_message(ticket=ticket, body="快递单号呢？", actor=STOREFRONT, now=at(10))
    ticket_customer_message(ticket=ticket, body="在吗？", actor=STOREFRONT, now=at(12))
    assert clock(ticket, "next_response").cycle == 1
    assert clock(ticket, "next_response").due_at == at(40)
    ticket_reply(ticket=ticket, user=agent, body="SF123", now=at(20))
    assert clock(ticket, "next_response", cycle=1).status == "met"
    ticket_customer_message(ticket=ticket, body="谢谢，还有一个问题", actor=STOREFRONT, now=at(30))
    assert clock(ticket, "next_response").cycle == 2
    assert clock(ticket, "next_response").due_at == at(60)


# --- In the API -----------------------------------------------------------------------------


def test_the_agent_representation_lists_the_clocks_and_the_storefront_never_sees_them(team, agent):
    from rest_framework.test import APIClient

    from tests.factories import storefront_client

    ticket = open_ticket(team)
    ticket_reply(ticket=ticket, user=agent, body="您好", now=at(5))
    client = APIClient()
    client.force_authenticate(agent)
    sla = client.get(f"/api/v1/tickets/{ticket.number}/").json()["sla"]
    by_metric = {c["metric"]: c for c in sla}
    assert set(by_metric) == {"first_response", "handling", "closure"}
    assert by_metric["first_response"]["status"] == "met"
    assert by_metric["handling"]["status"] == "active"
    assert set(by_metric["closure"]) >= {"metric", "status", "due_at", "breached_at", "stopped_at"}
    body = storefront_client().get(f"/api/v1/tickets/{ticket.number}/").json()
    assert "sla" not in body


def test_a_deactivated_policy_escalates_its_breached_clocks_no_further(team, agent):
    from tickets.sla.sweeper import sla_sweep

    ticket = open_ticket(team)
    sla_sweep(now=at(16))  # breached; level 1 (notify supervisor) runs, level 2 is due at +30
    assert clock(ticket, "first_response").next_escalation_at is not None
    policy = SlaPolicy.objects.get(name="Default")
    sla_policy_deactivated(policy_id=policy.pk)
    result = sla_sweep(now=at(60))
    assert result.escalated == 0
    assert refresh(ticket).priority == "normal"
    assert clock(ticket, "first_response").status == "breached"
