"""The metrics table of sla.md, row by row, and lifecycle rule 5 (reopen), driven through the
services with explicit times on the shipped default policies."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from complaints import services as complaints
from csplatform.actors import Actor
from csplatform.errors import ConflictError, InvalidInput
from refunds.services import return_request_approve, return_request_reject
from tests.complaints.helpers import Desk, file_complaint, walk_to
from tests.factories import CustomerFactory, TeamFactory, supervisor_user
from tests.refunds.helpers import delivered_order, file_request
from tickets.models import SlaClock, SlaEvent, SlaPolicy, SlaTarget, Ticket, TicketSettings
from tickets.services import (
    ticket_accept,
    ticket_create,
    ticket_customer_message,
    ticket_milestone_record,
    ticket_reply,
    ticket_update,
)
from tickets.sla.sweeper import sla_sweep

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 3, 2, 10, 0, tzinfo=SHANGHAI)  # a Monday
STOREFRONT = Actor(kind="api_key", label="storefront")
HOUR = 60


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


@pytest.fixture
def team():
    team = TeamFactory(name="Service desk")
    team.supervisor = supervisor_user(username="boss")
    team.save()
    settings = TicketSettings.load()
    settings.default_team = team
    settings.save()
    return team


def open_ticket(*, kind="inquiry", channel="web", status="new", now=T0) -> Ticket:
    return ticket_create(
        customer=CustomerFactory(),
        kind=kind,
        channel=channel,
        subject="还没发货",
        body="我的订单什么时候发？",
        actor=STOREFRONT,
        status=status,
        now=now,
    )


def clock(ticket, metric, cycle=None) -> SlaClock | None:
    clocks = SlaClock.objects.filter(ticket=ticket, metric=metric).order_by("-cycle")
    return clocks.get(cycle=cycle) if cycle else clocks.first()


def refresh(ticket) -> Ticket:
    return Ticket.objects.get(pk=ticket.pk)


def metrics_of(ticket) -> set[str]:
    return set(SlaClock.objects.filter(ticket=ticket).values_list("metric", flat=True))


# --- The shipped default policies -----------------------------------------------------------


def test_the_default_policies_give_each_group_its_promises():
    targets = {
        policy.name: {
            t.metric: (t.minutes, sorted(t.pausing_statuses)) for t in policy.targets.all()
        }
        for policy in SlaPolicy.objects.prefetch_related("targets")
    }
    standard = {
        "first_response": (15, []),
        "handling": (24 * HOUR, ["on_hold"]),
        "closure": (48 * HOUR, ["on_hold", "pending"]),
    }
    chat = {
        "first_response": (5, []),
        "next_response": (5, []),
        "handling": (24 * HOUR, ["on_hold"]),
        "closure": (48 * HOUR, ["on_hold", "pending"]),
    }
    assert targets == {
        "Complaints and after-sales": {
            "first_response": (15, []),
            "acceptance": (24 * HOUR, []),
            "plan": (48 * HOUR, []),
            "closure": (48 * HOUR, ["on_hold", "pending"]),
        },
        "Chat": chat,
        "Live stream": chat,
        "VIP customers": standard,
        "Default": standard,
    }
    assert SlaPolicy.objects.get(name="Complaints and after-sales").kinds == [
        "complaint",
        "after_sales",
        "return_refund",
    ]


def test_the_live_stream_manuals_72_hour_closure_is_one_field(team, agent):
    SlaTarget.objects.filter(policy__name="Live stream", metric="closure").update(minutes=72 * HOUR)
    live = open_ticket(channel="live_stream")
    chat = open_ticket(channel="chat")
    assert clock(live, "closure").due_at == at(72 * HOUR)
    assert clock(chat, "closure").due_at == at(48 * HOUR)


# --- first_response and next_response -----------------------------------------------------


@pytest.mark.parametrize("channel", ["chat", "live_stream"])
def test_a_chat_ticket_is_answered_within_5_minutes_and_every_next_message_too(
    team, agent, channel
):
    ticket = open_ticket(channel=channel)
    assert clock(ticket, "first_response").due_at == at(5)
    assert clock(ticket, "next_response") is None  # starts after the first response
    ticket_reply(ticket=ticket, user=agent, body="亲，在的", now=at(2))
    assert clock(ticket, "first_response").status == "met"

    ticket_customer_message(ticket=ticket, body="什么时候发货？", actor=STOREFRONT, now=at(10))
    assert clock(ticket, "next_response", 1).due_at == at(15)
    ticket_reply(ticket=ticket, user=agent, body="今天发出", now=at(13))
    assert clock(ticket, "next_response", 1).status == "met"

    ticket_customer_message(ticket=ticket, body="单号呢？", actor=STOREFRONT, now=at(30))
    ticket_customer_message(ticket=ticket, body="在吗", actor=STOREFRONT, now=at(32))
    second = clock(ticket, "next_response", 2)
    assert second.due_at == at(35)  # from the first unanswered message
    sla_sweep(now=at(36))
    assert clock(ticket, "next_response", 2).status == "breached"


def test_a_web_ticket_keeps_15_minutes_and_no_next_response(team, agent):
    ticket = open_ticket(channel="web")
    assert clock(ticket, "first_response").due_at == at(15)
    ticket_reply(ticket=ticket, user=agent, body="您好", now=at(3))
    ticket_customer_message(ticket=ticket, body="谢谢", actor=STOREFRONT, now=at(10))
    assert clock(ticket, "next_response") is None


# --- handling (初步解决方案) -------------------------------------------------------------------


def test_a_reply_and_pending_meets_handling_and_pauses_closure(team, agent):
    ticket = open_ticket()
    ticket_reply(
        ticket=ticket, user=agent, body="请您提供照片", then_status="pending", now=at(3 * HOUR)
    )
    handling, closure = clock(ticket, "handling"), clock(ticket, "closure")
    assert (handling.status, handling.stopped_at) == ("met", at(3 * HOUR))
    assert handling.margin == timedelta(hours=21)
    assert (closure.status, closure.used, closure.due_at) == (
        "paused",
        timedelta(hours=3),
        None,
    )
    ticket_customer_message(ticket=ticket, body="照片在此", actor=STOREFRONT, now=at(10 * HOUR))
    closure = clock(ticket, "closure")
    assert (closure.status, closure.due_at) == ("active", at(10 * HOUR + 45 * HOUR))
    assert clock(ticket, "handling").status == "met"  # once met, stays met


def test_pending_without_a_public_reply_does_not_meet_handling(team, agent):
    ticket = open_ticket()
    ticket_update(ticket=ticket, by_user=agent, status="pending", now=at(30))
    assert clock(ticket, "handling").status == "active"
    ticket_reply(ticket=refresh(ticket), user=agent, body="internal", internal=True, now=at(40))
    assert clock(ticket, "handling").status == "active"  # a note is no reply
    ticket_reply(ticket=refresh(ticket), user=agent, body="已为您催促仓库", now=at(50))
    assert (clock(ticket, "handling").status, clock(ticket, "handling").stopped_at) == (
        "met",
        at(50),
    )


def test_an_open_reply_alone_does_not_meet_handling(team, agent):
    ticket = open_ticket()
    ticket_reply(ticket=ticket, user=agent, body="您好，稍等", now=at(5))
    assert clock(ticket, "first_response").status == "met"
    assert clock(ticket, "handling").status == "active"


def test_on_hold_pauses_handling_and_closure_but_not_the_first_response(team, agent):
    ticket = open_ticket()
    ticket_update(ticket=ticket, by_user=agent, status="on_hold", now=at(5))
    assert clock(ticket, "handling").status == "paused"
    assert clock(ticket, "closure").status == "paused"
    assert clock(ticket, "first_response").status == "active"


def test_solving_meets_handling_and_closure(team, agent):
    ticket = open_ticket()
    ticket_reply(ticket=ticket, user=agent, body="已退款", then_status="solved", now=at(20 * HOUR))
    assert clock(ticket, "handling").status == "met"
    closure = clock(ticket, "closure")
    assert (closure.status, closure.stopped_at, closure.margin) == (
        "met",
        at(20 * HOUR),
        timedelta(hours=28),
    )
    assert refresh(ticket).next_due_at is None


def test_an_acceptance_meets_handling_where_the_policy_does_not_measure_acceptance(team, agent):
    ticket = open_ticket()  # an inquiry on the default policy: no acceptance target
    ticket_milestone_record(ticket=ticket, milestone="acceptance", actor=STOREFRONT, now=at(60))
    assert clock(ticket, "handling").status == "met"


# --- closure (闭环) and rule 5 --------------------------------------------------------------


def test_a_solve_past_48_hours_breaches_closure_and_a_reopen_keeps_the_breach(team, agent):
    ticket = open_ticket()
    ticket_reply(ticket=ticket, user=agent, body="您好", now=at(5))
    sla_sweep(now=at(48 * HOUR + 1))
    assert clock(ticket, "closure").status == "breached"
    ticket_update(ticket=refresh(ticket), by_user=agent, status="solved", now=at(50 * HOUR))
    ticket_customer_message(ticket=ticket, body="还是不行", actor=STOREFRONT, now=at(51 * HOUR))
    closure = clock(ticket, "closure")
    assert (closure.status, closure.stopped_at) == ("breached", None)
    ticket_update(ticket=refresh(ticket), by_user=agent, status="solved", now=at(52 * HOUR))
    assert clock(ticket, "closure").status == "breached"
    assert SlaEvent.objects.filter(clock=closure, kind="breach").count() == 1


def test_a_reopen_resumes_a_met_closure_with_the_used_time_and_judges_it_at_the_next_solve(
    team, agent
):
    ticket = open_ticket()
    ticket_reply(ticket=ticket, user=agent, body="已解决", then_status="solved", now=at(40 * HOUR))
    assert clock(ticket, "closure").status == "met"
    ticket_customer_message(ticket=ticket, body="又坏了", actor=STOREFRONT, now=at(60 * HOUR))
    closure = clock(ticket, "closure")
    assert (closure.status, closure.used, closure.due_at) == (
        "active",
        timedelta(hours=40),
        at(68 * HOUR),
    )
    ticket_update(ticket=refresh(ticket), by_user=agent, status="solved", now=at(70 * HOUR))
    closure = clock(ticket, "closure")
    assert (closure.status, closure.used, closure.breached_at) == (
        "breached",
        timedelta(hours=50),
        at(68 * HOUR),
    )


def test_no_metric_waits_for_the_automatic_close(team, agent):
    from tickets.services import tickets_close_solved

    ticket = open_ticket()
    ticket_reply(ticket=ticket, user=agent, body="已解决", then_status="solved", now=at(60))
    before = {c.metric: (c.status, c.stopped_at) for c in SlaClock.objects.filter(ticket=ticket)}
    assert all(stopped is not None for _status, stopped in before.values())
    tickets_close_solved(now=at(60 + 96 * HOUR))
    after = {c.metric: (c.status, c.stopped_at) for c in SlaClock.objects.filter(ticket=ticket)}
    assert refresh(ticket).status == "closed"
    assert after == before


# --- acceptance (受理) and plan (处理方案) ----------------------------------------------------


@pytest.mark.parametrize("kind", ["complaint", "after_sales", "return_refund"])
def test_complaint_and_after_sales_tickets_carry_acceptance_and_plan_not_handling(
    team, agent, kind
):
    ticket = open_ticket(kind=kind)
    assert metrics_of(ticket) == {"first_response", "acceptance", "plan", "closure"}
    assert clock(ticket, "acceptance").due_at == at(24 * HOUR)
    assert clock(ticket, "plan").due_at == at(48 * HOUR)


def test_an_agent_accepts_an_after_sales_ticket_and_replies_with_the_plan(team, agent):
    ticket = open_ticket(kind="after_sales")
    ticket_accept(ticket=ticket, user=agent, now=at(2 * HOUR))
    acceptance = clock(ticket, "acceptance")
    assert (acceptance.status, acceptance.stopped_at) == ("met", at(2 * HOUR))
    assert clock(ticket, "plan").status == "active"
    ticket_reply(
        ticket=refresh(ticket),
        user=agent,
        body="为您安排上门维修",
        as_plan=True,
        then_status="pending",
        now=at(30 * HOUR),
    )
    plan = clock(ticket, "plan")
    assert (plan.status, plan.stopped_at) == ("met", at(30 * HOUR))
    assert refresh(ticket).milestones["plan"] == at(30 * HOUR).isoformat()
    assert refresh(ticket).events.filter(type="milestone").count() == 2


def test_a_plan_reply_also_accepts_an_after_sales_ticket_not_yet_accepted(team, agent):
    ticket = open_ticket(kind="after_sales")
    ticket_reply(ticket=ticket, user=agent, body="为您换新", as_plan=True, now=at(HOUR))
    assert clock(ticket, "acceptance").status == "met"
    assert clock(ticket, "plan").status == "met"


def test_acceptance_and_plan_by_hand_are_refused_where_a_case_owns_them(team, agent):
    complaint_ticket = open_ticket(kind="complaint")
    with pytest.raises(ConflictError) as refused:
        ticket_accept(ticket=complaint_ticket, user=agent, now=at(5))
    assert refused.value.code == "milestone_not_on_ticket"
    with pytest.raises(ConflictError):
        ticket_reply(ticket=complaint_ticket, user=agent, body="方案", as_plan=True, now=at(6))
    assert not refresh(complaint_ticket).messages.filter(author_kind="agent").exists()


def test_an_after_sales_ticket_is_accepted_once_and_a_plan_is_no_internal_note(team, agent):
    ticket = open_ticket(kind="after_sales")
    ticket_accept(ticket=ticket, user=agent, now=at(5))
    with pytest.raises(ConflictError) as twice:
        ticket_accept(ticket=refresh(ticket), user=agent, now=at(6))
    assert twice.value.code == "acceptance_recorded"
    with pytest.raises(InvalidInput):
        ticket_reply(
            ticket=refresh(ticket), user=agent, body="方案", internal=True, as_plan=True, now=at(7)
        )


def test_a_late_acceptance_is_a_breach(team, agent):
    ticket = open_ticket(kind="after_sales")
    ticket_accept(ticket=ticket, user=agent, now=at(25 * HOUR))
    acceptance = clock(ticket, "acceptance")
    assert (acceptance.status, acceptance.breached_at) == ("breached", at(24 * HOUR))


def test_a_complaint_accepted_and_planned_meets_its_timers_on_its_ticket():
    desk = Desk()
    complaint = file_complaint()
    complaint = walk_to(complaint, "plan_proposed", desk.agent_actor, now=T0 + timedelta(hours=3))
    ticket = complaint.ticket
    assert clock(ticket, "acceptance").status == "met"
    assert clock(ticket, "plan").status == "met"
    assert clock(ticket, "handling") is None


def test_a_complaint_waiting_72_hours_for_confirmation_in_pending_does_not_breach_closure():
    desk = Desk()
    complaint = file_complaint()
    complaint = walk_to(
        complaint, "awaiting_confirmation", desk.agent_actor, now=T0 + timedelta(hours=10)
    )
    ticket = refresh(complaint.ticket)
    assert ticket.status == "pending"
    closure = clock(ticket, "closure")
    assert (closure.status, closure.used) == ("paused", timedelta(hours=10))

    sla_sweep(now=T0 + timedelta(hours=10 + 72))
    complaints.complaints_close_unconfirmed(now=T0 + timedelta(hours=10 + 72, minutes=1))
    closure = clock(ticket, "closure")
    assert refresh(ticket).status == "solved"
    assert (closure.status, closure.used) == ("met", timedelta(hours=10))
    assert {clock(ticket, m).status for m in ("acceptance", "plan", "closure")} == {"met"}


def test_a_rejected_complaint_outcome_gives_the_ticket_back_to_the_team():
    desk = Desk()
    complaint = walk_to(
        file_complaint(), "awaiting_confirmation", desk.agent_actor, now=T0 + timedelta(hours=5)
    )
    complaints.complaint_confirm(
        complaint=complaint,
        accepted=False,
        comment="不接受",
        actor=STOREFRONT,
        now=T0 + timedelta(hours=20),
    )
    ticket = refresh(complaint.ticket)
    assert ticket.status == "open"
    closure = clock(ticket, "closure")
    assert (closure.status, closure.used) == ("active", timedelta(hours=5))


def test_a_return_decision_is_its_acceptance_and_an_approval_its_plan(team, agent):
    supervisor = team.supervisor
    team.members.add(supervisor)
    auto = file_request(delivered_order(), now=T0)  # within the automatic approval limit
    assert auto.status != "requested"
    assert {clock(auto.ticket, m).stopped_at for m in ("acceptance", "plan")} == {T0}

    approved = file_request(delivered_order(), reason="size_fit", now=T0)
    return_request_approve(request=approved, by_user=supervisor, now=T0 + timedelta(hours=5))
    assert clock(approved.ticket, "acceptance").status == "met"
    assert clock(approved.ticket, "plan").stopped_at == T0 + timedelta(hours=5)

    rejected = file_request(delivered_order(), reason="size_fit", now=T0)
    return_request_reject(
        request=rejected, by_user=supervisor, reason="超过退货期", now=T0 + timedelta(hours=6)
    )
    assert clock(rejected.ticket, "acceptance").stopped_at == T0 + timedelta(hours=6)
    assert clock(rejected.ticket, "plan").status == "active"
