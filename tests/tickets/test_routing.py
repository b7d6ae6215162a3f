"""Routing and assignment: rules send a new ticket to a team, auto-assignment gives it to the
online member with the fewest open tickets under capacity (taking turns among equals), agents
claim and supervisors reassign; order exceptions open their ticket exactly once."""

from collections import Counter
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from csplatform.actors import Actor
from csplatform.errors import DomainError
from orders.models import OrderException
from orders.services import order_exception_raise
from tests.concurrency import run_at_once
from tests.factories import (
    CustomerFactory,
    OrderExceptionFactory,
    OrderFactory,
    TeamFactory,
    TicketFactory,
    admin_user,
    agent_user,
    online_agent,
    supervisor_user,
    ticket_state,
)
from tickets.choices import Presence
from tickets.models import AgentProfile, RoutingRule, Team, Ticket, TicketSettings
from tickets.services import (
    NotAllowed,
    ticket_create,
    ticket_open_for_order_exception,
    ticket_update,
    tickets_open_for_unticketed_exceptions,
)
from tickets.tasks import (
    ticket_open_for_order_exception_task,
    tickets_open_for_unticketed_exceptions_task,
)

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
STOREFRONT = Actor(kind="api_key", label="storefront")


def open_ticket(
    customer=None, *, kind="inquiry", channel="web", now=T0, priority=None, **kwargs
) -> Ticket:
    return ticket_create(
        customer=customer or CustomerFactory(),
        kind=kind,
        channel=channel,
        subject="请问什么时候发货？",
        body="我的订单还没发货",
        priority=priority,
        actor=STOREFRONT,
        now=now,
        **kwargs,
    )


def rule(team: Team, position: int = 100, **criteria) -> RoutingRule:
    return RoutingRule.objects.create(
        name=f"to {team.name}", team=team, position=position, **criteria
    )


# --- Routing rules ----------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("criteria", "matching", "other"),
    [
        ({"kind": "order_issue"}, {"kind": "order_issue"}, {"kind": "inquiry"}),
        ({"channel": "live_stream"}, {"channel": "live_stream"}, {"channel": "web"}),
        ({"customer_tier": "vip"}, {"tier": "vip"}, {"tier": "regular"}),
    ],
    ids=["kind", "channel", "customer_tier"],
)
def test_a_rule_sends_the_tickets_it_matches_to_its_team(criteria, matching, other):
    team = TeamFactory(name="Special")
    rule(team, **criteria)
    default_team = TicketSettings.load().default_team

    def ticket_for(spec: dict) -> Ticket:
        spec = dict(spec)
        customer = CustomerFactory(tier=spec.pop("tier", "regular"))
        return open_ticket(customer, **spec)

    assert ticket_for(matching).team == team
    assert ticket_for(other).team == default_team


@pytest.mark.django_db
def test_every_criterion_of_a_rule_must_match():
    team = TeamFactory()
    rule(team, kind="after_sales", channel="app", customer_tier="vip")
    vip = CustomerFactory(tier="vip")

    assert open_ticket(vip, kind="after_sales", channel="app").team == team
    assert open_ticket(vip, kind="after_sales", channel="web").team != team
    assert open_ticket(vip, kind="inquiry", channel="app").team != team
    assert open_ticket(CustomerFactory(), kind="after_sales", channel="app").team != team


@pytest.mark.django_db
def test_the_first_matching_rule_by_position_wins_whatever_the_order_of_creation():
    general, returns = TeamFactory(name="General returns"), TeamFactory(name="VIP returns")
    rule(general, position=20, kind="return_refund")
    rule(returns, position=10, kind="return_refund", customer_tier="vip")

    assert open_ticket(CustomerFactory(tier="vip"), kind="return_refund").team == returns
    assert open_ticket(CustomerFactory(), kind="return_refund").team == general


@pytest.mark.django_db
def test_an_inactive_rule_is_skipped():
    skipped, used = TeamFactory(), TeamFactory()
    rule(skipped, position=1, kind="complaint", active=False)
    rule(used, position=2, kind="complaint")

    assert open_ticket(kind="complaint").team == used


@pytest.mark.django_db
def test_a_ticket_no_rule_matches_goes_to_the_default_team_of_the_settings():
    rule(TeamFactory(), kind="complaint")
    fallback = TeamFactory(name="Fallback")
    settings = TicketSettings.load()
    settings.default_team = fallback
    settings.save()

    assert open_ticket(kind="inquiry").team == fallback


@pytest.mark.django_db
def test_a_rule_created_in_the_admin_routes_the_next_ticket(client):
    team = TeamFactory(name="Live stream desk")
    client.force_login(admin_user(is_staff=True))

    response = client.post(
        "/admin/tickets/routingrule/add/",
        {
            "name": "Live stream",
            "position": 5,
            "active": "on",
            "kind": "",
            "channel": "live_stream",
            "customer_tier": "",
            "team": team.pk,
            "set_priority": "high",
        },
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    ticket = open_ticket(channel="live_stream")
    assert (ticket.team, ticket.priority) == (team, "high")


# --- Priority ---------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("tier", "set_priority", "expected"),
    [
        ("regular", "", "normal"),
        ("regular", "low", "low"),
        ("regular", "urgent", "urgent"),
        ("vip", "", "high"),
        ("vip", "low", "high"),
        ("vip", "normal", "high"),
        ("vip", "urgent", "urgent"),
    ],
)
def test_a_rule_sets_the_priority_and_vip_customers_get_at_least_high(tier, set_priority, expected):
    rule(TeamFactory(), set_priority=set_priority)

    ticket = open_ticket(CustomerFactory(tier=tier))

    assert ticket.priority == expected
    assert ticket.events.get(type="created").payload["priority"] == expected


@pytest.mark.django_db
def test_a_vip_ticket_without_any_rule_is_high():
    assert open_ticket(CustomerFactory(tier="vip")).priority == "high"


# --- Auto-assignment --------------------------------------------------------------------------


@pytest.fixture
def team(db):
    team = TeamFactory(name="Pre-sales")
    rule(team)
    return team


def assignees(tickets) -> list[str | None]:
    return [t.assignee.username if t.assignee_id else None for t in tickets]


def solve(ticket: Ticket) -> None:
    Ticket.objects.filter(pk=ticket.pk).update(status="solved", solved_at=T0)


@pytest.mark.django_db
def test_auto_assignment_picks_only_online_active_members_of_the_team(team):
    online_agent(team, username="online")
    for presence in (Presence.AWAY, Presence.OFFLINE):
        away = online_agent(team, username=presence)
        AgentProfile.objects.filter(user=away).update(presence=presence)
    team.members.add(agent_user(username="no-profile"))
    online_agent(team, username="inactive", is_active=False)
    online_agent(TeamFactory(), username="other-team")

    tickets = [open_ticket(now=T0 + timedelta(minutes=i)) for i in range(6)]

    assert assignees(tickets) == ["online"] * 6


@pytest.mark.django_db
def test_nobody_online_leaves_the_ticket_unassigned(team):
    AgentProfile.objects.filter(user=online_agent(team)).update(presence=Presence.AWAY)

    ticket = open_ticket()

    assert ticket.assignee is None
    assert not ticket.events.filter(type="assignee").exists()


@pytest.mark.django_db
def test_auto_assignment_records_who_got_the_ticket(team):
    online_agent(team, username="li.na")

    ticket = open_ticket(now=T0)

    event = ticket.events.get(type="assignee")
    assert (event.new_value, event.actor_kind, event.actor_label, event.at) == (
        "li.na",
        "system",
        "auto-assignment",
        T0,
    )
    assert AgentProfile.objects.get(user=ticket.assignee).last_assigned_at == T0


@pytest.mark.django_db
def test_the_member_with_the_fewest_open_tickets_gets_the_next_one(team):
    busy, quiet = online_agent(team, username="busy"), online_agent(team, username="quiet")
    TicketFactory.create_batch(3, team=team, assignee=busy, status="open")
    TicketFactory.create_batch(1, team=team, assignee=quiet, status="pending")

    tickets = [open_ticket(now=T0 + timedelta(minutes=i)) for i in range(4)]

    # quiet 1 → 2 → 3, then both at 3 and quiet was assigned last: busy, then quiet again.
    assert assignees(tickets) == ["quiet", "quiet", "busy", "quiet"]


@pytest.mark.django_db
def test_solved_and_closed_tickets_do_not_count_as_load(team):
    veteran, newcomer = online_agent(team, username="veteran"), online_agent(team, username="new")
    TicketFactory.create_batch(5, team=team, assignee=veteran, status="solved")
    TicketFactory.create_batch(5, team=team, assignee=veteran, status="closed")
    TicketFactory.create_batch(1, team=team, assignee=newcomer, status="on_hold")

    assert open_ticket().assignee == veteran


@pytest.mark.django_db
def test_open_tickets_in_other_teams_count_towards_the_load(team):
    shared, dedicated = online_agent(team, username="shared"), online_agent(team, username="ded")
    TicketFactory.create_batch(2, team=TeamFactory(), assignee=shared, status="open")
    TicketFactory.create_batch(1, team=team, assignee=dedicated, status="open")

    assert open_ticket().assignee == dedicated


@pytest.mark.django_db
def test_an_agent_at_capacity_gets_no_more_tickets(team):
    full = online_agent(team, username="full", capacity=2)
    busy = online_agent(team, username="busy", capacity=20)
    TicketFactory.create_batch(2, team=team, assignee=full, status="open")
    TicketFactory.create_batch(6, team=team, assignee=busy, status="open")

    tickets = [open_ticket(now=T0 + timedelta(minutes=i)) for i in range(10)]

    # "full" has the fewest open tickets but no room: every ticket goes to "busy".
    assert assignees(tickets) == ["busy"] * 10


@pytest.mark.django_db
def test_capacity_is_filled_up_to_the_limit_and_then_the_ticket_waits(team):
    online_agent(team, username="a", capacity=2)
    online_agent(team, username="b", capacity=1)

    tickets = [open_ticket(now=T0 + timedelta(minutes=i)) for i in range(5)]

    assert Counter(assignees(tickets)) == {"a": 2, "b": 1, None: 2}


@pytest.mark.django_db
def test_equals_take_turns_round_robin(team):
    names = ["a", "b", "c", "d"]
    for name in names:
        online_agent(team, username=name)

    order = []
    for i in range(12):
        ticket = open_ticket(now=T0 + timedelta(minutes=i))
        order.append(ticket.assignee.username)
        solve(ticket)  # every load stays 0: only the turn decides

    assert sorted(order[:4]) == names
    assert order[4:8] == order[:4]
    assert order[8:12] == order[:4]


@pytest.mark.django_db
def test_100_tickets_to_4_equal_agents_give_25_each(team):
    for name in ("a", "b", "c", "d"):
        online_agent(team, username=name, capacity=30)
    customer = CustomerFactory()

    tickets = [open_ticket(customer, now=T0 + timedelta(seconds=i)) for i in range(100)]

    assert Counter(assignees(tickets)) == {"a": 25, "b": 25, "c": 25, "d": 25}


@pytest.mark.django_db
def test_100_tickets_solved_as_they_come_still_give_25_each(team):
    for name in ("a", "b", "c", "d"):
        online_agent(team, username=name, capacity=1)
    customer = CustomerFactory()

    counts = Counter()
    for i in range(100):
        ticket = open_ticket(customer, now=T0 + timedelta(seconds=i))
        counts[ticket.assignee.username] += 1
        solve(ticket)

    assert counts == {"a": 25, "b": 25, "c": 25, "d": 25}


@pytest.mark.django_db
def test_moving_a_ticket_to_another_team_auto_assigns_it_there(team):
    supervisor = supervisor_user()
    team.supervisor = supervisor
    team.save()
    ticket = open_ticket()
    logistics = TeamFactory(name="Logistics")
    carrier_expert = online_agent(logistics, username="carrier-expert")

    ticket_update(ticket=ticket, by_user=supervisor, team=logistics, now=T0 + timedelta(hours=1))

    ticket.refresh_from_db()
    assert (ticket.team, ticket.assignee) == (logistics, carrier_expert)


# --- Claiming and reassigning ------------------------------------------------------------------


@pytest.fixture
def desk(db):
    """A team with two agents (offline: nothing is auto-assigned) and its supervisor."""
    supervisor = supervisor_user(username="boss")
    team = TeamFactory(name="Desk", supervisor=supervisor)
    li, wang = agent_user(username="li"), agent_user(username="wang")
    team.members.add(li, wang)
    return team, li, wang, supervisor


def test_an_agent_claims_an_unassigned_ticket(desk):
    team, li, _wang, _boss = desk
    ticket = TicketFactory(team=team)

    ticket_update(ticket=ticket, by_user=li, assignee=li, now=T0)

    ticket.refresh_from_db()
    assert ticket.assignee == li


def test_an_agent_cannot_claim_a_ticket_someone_else_holds(desk):
    team, li, wang, _boss = desk
    ticket = TicketFactory(team=team, assignee=wang)
    before = ticket_state(ticket)

    with pytest.raises(NotAllowed):
        ticket_update(ticket=ticket, by_user=li, assignee=li, now=T0)

    assert ticket_state(ticket) == before


@pytest.mark.parametrize("held_by", [None, "li", "wang"])
def test_an_agent_cannot_give_a_ticket_to_someone_else(desk, held_by):
    team, li, wang, _boss = desk
    ticket = TicketFactory(team=team, assignee={"li": li, "wang": wang}.get(held_by))
    target = wang if held_by != "wang" else li
    before = ticket_state(ticket)

    with pytest.raises(NotAllowed):
        ticket_update(ticket=ticket, by_user=li, assignee=target, now=T0)

    assert ticket_state(ticket) == before


def test_an_agent_may_let_go_of_their_own_ticket_but_not_of_anothers(desk):
    team, li, wang, _boss = desk
    mine, theirs = TicketFactory(team=team, assignee=li), TicketFactory(team=team, assignee=wang)

    ticket_update(ticket=mine, by_user=li, assignee=None, now=T0)
    with pytest.raises(NotAllowed):
        ticket_update(ticket=theirs, by_user=li, assignee=None, now=T0)

    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert (mine.assignee, theirs.assignee) == (None, wang)


def test_a_supervisor_reassigns_a_ticket_to_another_member(desk):
    team, li, wang, boss = desk
    ticket = TicketFactory(team=team, assignee=li)

    ticket_update(ticket=ticket, by_user=boss, assignee=wang, now=T0)

    ticket.refresh_from_db()
    assert ticket.assignee == wang
    event = ticket.events.get(type="assignee")
    assert (event.old_value, event.new_value, event.actor_user) == ("li", "wang", boss)


def test_a_supervisor_of_another_team_may_not_reassign(desk):
    team, li, wang, _boss = desk
    other_boss = supervisor_user()
    TeamFactory(supervisor=other_boss)
    ticket = TicketFactory(team=team, assignee=li)

    with pytest.raises(NotAllowed):
        ticket_update(ticket=ticket, by_user=other_boss, assignee=wang, now=T0)


def test_nobody_assigns_a_ticket_to_someone_outside_its_team(desk):
    team, _li, _wang, boss = desk
    outsider = agent_user()
    ticket = TicketFactory(team=team)
    before = ticket_state(ticket)

    with pytest.raises(DomainError) as refused:
        ticket_update(ticket=ticket, by_user=boss, assignee=outsider, now=T0)

    assert refused.value.code == "assignee_not_in_team"
    assert ticket_state(ticket) == before


@pytest.mark.parametrize(
    ("who", "assignee", "status"),
    [
        ("li", "me", 200),
        ("li", "li", 200),
        ("li", "wang", 403),
        ("boss", "wang", 200),
        ("boss", "li", 200),
    ],
)
def test_through_the_api_agents_claim_and_only_supervisors_assign_others(
    client, desk, who, assignee, status
):
    team, li, _wang, boss = desk
    ticket = TicketFactory(team=team)
    client.force_login({"li": li, "boss": boss}[who])
    before = ticket_state(ticket)

    response = client.patch(
        f"/api/v1/tickets/{ticket.number}/", {"assignee": assignee}, content_type="application/json"
    )

    assert response.status_code == status, response.json()
    if status == 403:
        assert response.json()["code"] == "permission_denied"
        assert ticket_state(ticket) == before
        return
    expected = who if assignee == "me" else assignee
    assert response.json()["assignee"] == expected


def test_through_the_api_an_agent_cannot_take_a_colleagues_ticket(client, desk):
    team, li, wang, _boss = desk
    ticket = TicketFactory(team=team, assignee=wang)
    client.force_login(li)

    response = client.patch(
        f"/api/v1/tickets/{ticket.number}/", {"assignee": "me"}, content_type="application/json"
    )

    assert response.status_code == 403
    ticket.refresh_from_db()
    assert ticket.assignee == wang


# --- Order exceptions open a ticket ------------------------------------------------------------


@pytest.mark.django_db
def test_an_order_exception_opens_one_order_issue_ticket(django_capture_on_commit_callbacks):
    logistics = TeamFactory(name="Logistics")
    rule(logistics, kind="order_issue")
    order = OrderFactory(status="shipped", channel="app", number="SO-4242")

    with django_capture_on_commit_callbacks(execute=True):
        exc, created = order_exception_raise(order=order, type="parcel_lost", now=T0)

    assert created
    ticket = Ticket.objects.get(order_exception=exc)
    assert (ticket.kind, ticket.channel, ticket.status) == ("order_issue", "app", "new")
    assert (ticket.order, ticket.customer, ticket.team) == (order, order.customer, logistics)
    assert "SO-4242" in ticket.subject
    message = ticket.messages.get()
    assert (message.author_kind, message.automated, message.internal) == ("system", True, False)
    assert ticket.last_customer_message_at is None
    created_event = ticket.events.get(type="created")
    assert (created_event.actor_kind, created_event.actor_label) == ("system", "order exceptions")


@pytest.mark.django_db
def test_the_ticket_task_running_twice_still_opens_one_ticket():
    exc = OrderExceptionFactory(type="payment_failed")

    first = ticket_open_for_order_exception_task.delay(exc.pk).get()
    second = ticket_open_for_order_exception_task.delay(exc.pk).get()

    assert first == second
    assert Ticket.objects.filter(order=exc.order).count() == 1
    assert Ticket.objects.get(number=first).order_exception == exc


@pytest.mark.django_db
def test_the_ticket_task_for_a_vanished_exception_does_nothing():
    assert ticket_open_for_order_exception_task.delay(987654).get() is None
    assert not Ticket.objects.exists()


@pytest.mark.django_db
def test_a_second_exception_on_the_same_order_opens_its_own_ticket(
    django_capture_on_commit_callbacks,
):
    order = OrderFactory(status="paid")

    with django_capture_on_commit_callbacks(execute=True):
        order_exception_raise(order=order, type="amount_mismatch", now=T0)
        order_exception_raise(order=order, type="amount_mismatch", now=T0)  # already open
        order_exception_raise(order=order, type="shipping_overdue", now=T0)

    assert sorted(
        Ticket.objects.filter(order=order).values_list("order_exception__type", flat=True)
    ) == ["amount_mismatch", "shipping_overdue"]


@pytest.mark.django_db
def test_the_sweep_opens_the_tickets_a_lost_task_never_opened():
    lost = OrderExceptionFactory(type="parcel_lost", detected_at=T0 - timedelta(minutes=5))
    too_fresh = OrderExceptionFactory(type="parcel_lost", detected_at=T0 - timedelta(seconds=30))
    resolved = OrderExceptionFactory(
        type="parcel_lost", detected_at=T0 - timedelta(hours=1), resolved_at=T0
    )
    ticketed = OrderExceptionFactory(type="parcel_lost", detected_at=T0 - timedelta(hours=1))
    ticket_open_for_order_exception(exception_id=ticketed.pk, now=T0 - timedelta(hours=1))

    assert tickets_open_for_unticketed_exceptions(now=T0) == 1
    assert tickets_open_for_unticketed_exceptions(now=T0) == 0

    assert Ticket.objects.get(order_exception=lost).kind == "order_issue"
    assert not Ticket.objects.filter(order_exception__in=[too_fresh, resolved]).exists()
    assert Ticket.objects.filter(order_exception=ticketed).count() == 1
    assert OrderException.objects.filter(ticket__isnull=False).count() == 2


@pytest.mark.django_db
def test_the_sweep_task_catches_up_too():
    exc = OrderExceptionFactory(detected_at=T0)

    with time_machine.travel(T0 + timedelta(minutes=2), tick=False):
        assert tickets_open_for_unticketed_exceptions_task.delay().get() == 1

    assert Ticket.objects.filter(order_exception=exc).count() == 1


# --- Concurrency (PostgreSQL: row locks) -------------------------------------------------------


@pytest.mark.postgres(reason="threads assign at once under row locks; SQLite serialises writers")
@pytest.mark.django_db(transaction=True)
def test_20_tickets_created_at_once_spread_5_each_over_4_online_agents():
    team = TeamFactory(name="Rush hour")
    rule(team)
    agents = [online_agent(team, username=f"agent{i}") for i in range(4)]
    customers = [CustomerFactory() for _ in range(20)]

    run_at_once(20, lambda i: open_ticket(customers[i], now=None))

    loads = Counter(Ticket.objects.filter(team=team).values_list("assignee__username", flat=True))
    assert loads == {a.username: 5 for a in agents}
