"""The conversation: first response and first-contact ownership (首问负责制), notes, replies that
set a status, and merging a duplicate into another ticket."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from csplatform.actors import Actor
from csplatform.errors import ConflictError, DomainError
from tests.factories import (
    CustomerFactory,
    MessageFactory,
    TeamFactory,
    TicketFactory,
    agent_user,
    online_agent,
    supervisor_user,
    ticket_state,
)
from tickets.models import Message, RoutingRule, Ticket
from tickets.services import (
    NotAllowed,
    ticket_create,
    ticket_customer_message,
    ticket_merge,
    ticket_reply,
    ticket_update,
)
from tickets.transitions import TicketTransitionNotAllowed

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
STOREFRONT = Actor(kind="api_key", label="storefront")


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


@pytest.fixture
def team():
    return TeamFactory(name="Pre-sales")


@pytest.fixture
def agent():
    return agent_user(username="li.na")


@pytest.fixture
def colleague():
    return agent_user(username="wang.fang")


@pytest.fixture
def ticket(team, agent, colleague):
    team.members.add(agent, colleague)
    return TicketFactory(status="new", team=team, created_at=T0)


# --- First response and ownership -------------------------------------------------------------


def test_an_agents_first_public_reply_sets_first_response_at_and_makes_them_the_owner(
    ticket, agent
):
    ticket_reply(ticket=ticket, user=agent, body="您好，已为您查询", now=at(7))

    ticket.refresh_from_db()
    assert ticket.first_response_at == at(7)
    assert ticket.owner == agent
    owner_event = ticket.events.get(type="owner")
    assert (owner_event.new_value, owner_event.actor_user, owner_event.at) == (
        "li.na",
        agent,
        at(7),
    )


def test_the_first_public_reply_moves_a_new_ticket_to_open(ticket, agent):
    ticket_reply(ticket=ticket, user=agent, body="您好", now=at(7))

    ticket.refresh_from_db()
    assert ticket.status == "open"


def test_later_replies_keep_the_first_response_time_and_the_first_owner(ticket, agent, colleague):
    ticket_reply(ticket=ticket, user=agent, body="您好", now=at(7))
    ticket_reply(ticket=ticket, user=colleague, body="补充说明", now=at(30))
    ticket_reply(ticket=ticket, user=agent, body="还有吗？", now=at(40))

    ticket.refresh_from_db()
    assert ticket.first_response_at == at(7)
    assert ticket.owner == agent
    assert ticket.events.filter(type="owner").count() == 1
    assert ticket.events.filter(type="replied").count() == 3


def test_internal_notes_never_set_the_first_response_or_the_owner(ticket, agent, colleague):
    ticket_reply(ticket=ticket, user=colleague, body="客户是老客户", internal=True, now=at(2))
    ticket_reply(ticket=ticket, user=colleague, body="先查物流", internal=True, now=at(3))

    ticket.refresh_from_db()
    assert ticket.first_response_at is None
    assert ticket.owner is None
    assert ticket.status == "new"
    assert list(ticket.events.values_list("type", flat=True)) == ["note", "note"]
    assert all(m.internal for m in ticket.messages.all())

    ticket_reply(ticket=ticket, user=agent, body="您好", now=at(9))

    ticket.refresh_from_db()
    assert ticket.first_response_at == at(9)
    assert ticket.owner == agent


def test_customer_and_system_messages_are_not_a_response():
    team = TeamFactory()
    RoutingRule.objects.create(name="all", team=team)
    customer = CustomerFactory()
    ticket = ticket_create(
        customer=customer,
        kind="order_issue",
        channel="web",
        subject="系统检测到异常",
        body="系统自动创建",
        author_kind="system",
        actor=Actor.system("order exceptions"),
        now=T0,
    )
    ticket_customer_message(ticket=ticket, body="怎么回事？", actor=STOREFRONT, now=at(5))

    ticket.refresh_from_db()
    assert ticket.first_response_at is None
    assert ticket.owner is None
    first = ticket.messages.first()
    assert (first.author_kind, first.automated) == ("system", True)


def test_the_owner_is_kept_when_the_ticket_moves_to_another_team(ticket, agent):
    supervisor = supervisor_user()
    ticket.team.supervisor = supervisor
    ticket.team.save()
    ticket_update(ticket=ticket, by_user=supervisor, assignee=agent, now=at(1))
    ticket_reply(ticket=ticket, user=agent, body="您好", now=at(5))
    logistics = TeamFactory(name="Logistics")
    logistics_agent = online_agent(logistics)

    ticket_update(ticket=ticket, by_user=supervisor, team=logistics, now=at(20))

    ticket.refresh_from_db()
    assert ticket.team == logistics
    assert ticket.owner == agent  # 首问负责制: the first agent stays the owner
    # The assignee is not in the new team: let go, and the new team's online agent takes it.
    assert ticket.assignee == logistics_agent
    assert ticket.first_response_at == at(5)
    team_event = ticket.events.get(type="team")
    assert (team_event.old_value, team_event.new_value) == ("Pre-sales", "Logistics")


def test_the_assignee_may_move_the_ticket_and_stays_its_owner(ticket, agent):
    ticket_update(ticket=ticket, by_user=agent, assignee=agent, now=at(1))
    ticket_reply(ticket=ticket, user=agent, body="您好", now=at(5))
    after_sales = TeamFactory(name="After-sales")

    ticket_update(ticket=ticket, by_user=agent, team=after_sales, now=at(20))

    ticket.refresh_from_db()
    assert (ticket.team, ticket.owner, ticket.assignee) == (after_sales, agent, None)


def test_an_agent_who_is_not_the_assignee_may_not_move_the_ticket(ticket, agent, colleague):
    ticket_update(ticket=ticket, by_user=agent, assignee=agent, now=at(1))
    before = ticket_state(ticket)

    with pytest.raises(NotAllowed):
        ticket_update(ticket=ticket, by_user=colleague, team=TeamFactory(), now=at(20))

    assert ticket_state(ticket) == before


def test_the_owner_is_kept_when_a_supervisor_reassigns_the_ticket(ticket, agent, colleague):
    supervisor = supervisor_user()
    ticket.team.supervisor = supervisor
    ticket.team.save()
    ticket_update(ticket=ticket, by_user=agent, assignee=agent, now=at(1))
    ticket_reply(ticket=ticket, user=agent, body="您好", now=at(5))

    ticket_update(ticket=ticket, by_user=supervisor, assignee=colleague, now=at(30))
    ticket_reply(ticket=ticket, user=colleague, body="我来跟进", now=at(35))

    ticket.refresh_from_db()
    assert (ticket.assignee, ticket.owner) == (colleague, agent)
    assignments = ticket.events.filter(type="assignee").values_list("old_value", "new_value")
    assert list(assignments) == [("", "li.na"), ("li.na", "wang.fang")]


# --- Replies that set a status ----------------------------------------------------------------


@pytest.mark.parametrize("then_status", ["pending", "on_hold", "solved"])
def test_a_reply_can_set_the_ticket_pending_on_hold_or_solved(ticket, agent, then_status):
    ticket_reply(
        ticket=ticket, user=agent, body="请提供订单截图", then_status=then_status, now=at(5)
    )

    ticket.refresh_from_db()
    assert ticket.status == then_status
    assert ticket.first_response_at == at(5)
    assert ticket.solved_at == (at(5) if then_status == "solved" else None)
    status_event = ticket.events.get(type="status")
    assert (status_event.old_value, status_event.new_value) == ("new", then_status)


def test_a_reply_asking_for_a_refused_transition_writes_nothing(ticket, agent):
    ticket_reply(ticket=ticket, user=agent, body="已解决", then_status="solved", now=at(5))
    before = ticket_state(ticket)

    with pytest.raises(TicketTransitionNotAllowed):
        ticket_reply(ticket=ticket, user=agent, body="等您回复", then_status="pending", now=at(9))

    assert ticket_state(ticket) == before


def test_nobody_replies_on_a_closed_ticket(ticket, agent):
    Ticket.objects.filter(pk=ticket.pk).update(status="closed", solved_at=T0, closed_at=T0)
    before = ticket_state(ticket)

    with pytest.raises(ConflictError) as refused:
        ticket_reply(ticket=ticket, user=agent, body="您好", now=at(5))

    assert refused.value.code == "ticket_closed"
    assert ticket_state(ticket) == before


def test_an_empty_reply_is_refused(ticket, agent):
    before = ticket_state(ticket)

    with pytest.raises(DomainError):
        ticket_reply(ticket=ticket, user=agent, body="   \n", now=at(5))

    assert ticket_state(ticket) == before


# --- Merge ------------------------------------------------------------------------------------


@pytest.fixture
def duplicate_pair(team, agent):
    """Two tickets of one customer about the same thing, each with messages."""
    team.members.add(agent)
    customer = CustomerFactory()
    target = TicketFactory(team=team, customer=customer, status="open", created_at=T0)
    source = TicketFactory(team=team, customer=customer, status="new", created_at=at(10))
    MessageFactory(ticket=target, body="第一封", created_at=T0)
    MessageFactory(ticket=source, body="重复的", created_at=at(10))
    MessageFactory(ticket=source, body="再问一遍", created_at=at(12))
    return source, target


def test_merging_moves_the_messages_and_closes_the_duplicate_with_a_link(duplicate_pair, agent):
    source, target = duplicate_pair

    result = ticket_merge(source=source, target=target, by_user=agent, now=at(30))

    assert result == target
    assert list(target.messages.values_list("body", flat=True)) == ["第一封", "重复的", "再问一遍"]
    assert not Message.objects.filter(ticket=source).exists()
    source.refresh_from_db()
    target.refresh_from_db()
    assert source.status == "closed"
    assert source.merged_into == target
    assert source.closed_at == at(30)
    assert target.status == "open"
    assert list(target.merged_tickets.all()) == [source]
    merged = target.events.get(type="merged")
    assert (merged.old_value, merged.new_value) == (source.number, target.number)
    assert merged.payload == {"messages_moved": 2}
    assert source.events.filter(type="merged").count() == 1
    assert list(source.events.filter(type="status").values_list("old_value", "new_value")) == [
        ("new", "solved"),
        ("solved", "closed"),
    ]


def test_merging_carries_the_earlier_first_response_and_the_owner_over(duplicate_pair, agent):
    source, target = duplicate_pair
    ticket_reply(ticket=source, user=agent, body="您好", now=at(11))

    ticket_merge(source=source, target=target, by_user=agent, now=at(30))

    target.refresh_from_db()
    assert (target.first_response_at, target.owner) == (at(11), agent)


def test_merging_keeps_the_targets_own_owner(duplicate_pair, agent, colleague):
    source, target = duplicate_pair
    target.team.members.add(colleague)
    ticket_reply(ticket=target, user=colleague, body="您好", now=at(5))
    ticket_reply(ticket=source, user=agent, body="您好", now=at(11))

    ticket_merge(source=source, target=target, by_user=agent, now=at(30))

    target.refresh_from_db()
    assert (target.first_response_at, target.owner) == (at(5), colleague)


def test_only_tickets_of_the_same_customer_can_be_merged(team, agent):
    source = TicketFactory(team=team, created_at=T0)
    target = TicketFactory(team=team, created_at=T0)
    MessageFactory(ticket=source)
    before = (ticket_state(source), ticket_state(target))

    with pytest.raises(ConflictError) as refused:
        ticket_merge(source=source, target=target, by_user=agent, now=at(30))

    assert refused.value.code == "merge_other_customer"
    assert (ticket_state(source), ticket_state(target)) == before


@pytest.mark.parametrize("closed", ["source", "target"])
def test_a_closed_ticket_is_neither_merged_nor_merged_into(duplicate_pair, agent, closed):
    source, target = duplicate_pair
    Ticket.objects.filter(pk=(source if closed == "source" else target).pk).update(
        status="closed", solved_at=T0, closed_at=T0
    )
    before = (ticket_state(source), ticket_state(target))

    with pytest.raises(ConflictError) as refused:
        ticket_merge(source=source, target=target, by_user=agent, now=at(30))

    assert refused.value.code == "ticket_closed"
    assert (ticket_state(source), ticket_state(target)) == before


def test_a_ticket_is_not_merged_into_itself(duplicate_pair, agent):
    source, _target = duplicate_pair
    before = ticket_state(source)

    with pytest.raises(ConflictError) as refused:
        ticket_merge(source=source, target=source, by_user=agent, now=at(30))

    assert refused.value.code == "merge_self"
    assert ticket_state(source) == before
