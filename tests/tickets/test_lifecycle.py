"""The ticket lifecycle: every pair of statuses, reopening, follow-ups and the auto-close.

The expected table is written out here from the issue, not read from ``tickets.transitions``:
new → open, pending, on_hold or solved; open, pending and on_hold move freely among each other
and to solved; solved → closed, and solved → open when the ticket is reopened; closed is final
and no status moves to itself.
"""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import transaction

from csplatform.actors import Actor
from csplatform.api.errors import error_body, error_status
from csplatform.errors import ConflictError
from tests.factories import (
    OrderFactory,
    TeamFactory,
    TicketFactory,
    agent_user,
    ticket_state,
)
from tickets.choices import TicketStatus
from tickets.models import Ticket, TicketEvent, TicketSettings
from tickets.services import (
    ticket_customer_message,
    ticket_reply,
    ticket_update,
    tickets_close_solved,
)
from tickets.tasks import tickets_close_solved_task
from tickets.transitions import (
    TicketTransitionNotAllowed,
    allowed_next,
    check_transition,
    ticket_apply_transition,
)

STATUSES = ["new", "open", "pending", "on_hold", "solved", "closed"]
ALLOWED = {
    "new": {"open", "pending", "on_hold", "solved"},
    "open": {"pending", "on_hold", "solved"},
    "pending": {"open", "on_hold", "solved"},
    "on_hold": {"open", "pending", "solved"},
    "solved": {"open", "closed"},
    "closed": set(),
}
ALL_PAIRS = [(current, target) for current in STATUSES for target in STATUSES]
PAIR_IDS = [f"{current}->{target}" for current, target in ALL_PAIRS]

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
NOW = T0 + timedelta(hours=5)
STOREFRONT = Actor(kind="api_key", label="storefront")


def is_allowed(current: str, target: str) -> bool:
    return target in ALLOWED[current]


def in_lifecycle_order(statuses) -> list[str]:
    """The statuses as a refusal and the API list them: in the order of the lifecycle."""
    return [status for status in STATUSES if status in statuses]


def ticket_in(status: str, **kwargs) -> Ticket:
    return TicketFactory(status=status, created_at=T0, **kwargs)


def test_the_lifecycle_has_exactly_the_six_statuses_of_the_issue():
    assert sorted(TicketStatus.values) == sorted(STATUSES)


@pytest.mark.parametrize("status", STATUSES)
def test_allowed_next_lists_the_statuses_the_table_allows(status):
    assert allowed_next(status) == in_lifecycle_order(ALLOWED[status])


@pytest.mark.parametrize(("current", "target"), ALL_PAIRS, ids=PAIR_IDS)
def test_check_transition_allows_exactly_the_table(current, target):
    if is_allowed(current, target):
        check_transition(current, target)
        return
    with pytest.raises(TicketTransitionNotAllowed) as refused:
        check_transition(current, target)
    error = refused.value
    assert error_status(error) == 409
    assert error_body(error) == {
        "code": "invalid_transition",
        "detail": error.detail,
        "current_status": current,
        "requested_status": target,
        "allowed": in_lifecycle_order(ALLOWED[current]),
    }


@pytest.mark.django_db
@pytest.mark.parametrize(("current", "target"), ALL_PAIRS, ids=PAIR_IDS)
def test_applying_a_transition_stamps_and_records_one_event_or_writes_nothing(current, target):
    ticket = ticket_in(current, reopen_count=2)
    before = ticket_state(ticket)

    with transaction.atomic():
        locked = Ticket.objects.select_for_update().get(pk=ticket.pk)
        if not is_allowed(current, target):
            with pytest.raises(TicketTransitionNotAllowed):
                ticket_apply_transition(
                    ticket=locked, target=target, actor=Actor.system("test"), now=NOW
                )
            assert ticket_state(ticket) == before
            return
        ticket_apply_transition(ticket=locked, target=target, actor=Actor.system("test"), now=NOW)
        locked.save()

    ticket.refresh_from_db()
    old = before["ticket"]
    assert ticket.status == target
    reopened = current == "solved" and target == "open"
    assert ticket.solved_at == (
        NOW if target == "solved" else None if reopened else old["solved_at"]
    )
    assert ticket.closed_at == (NOW if target == "closed" else old["closed_at"])
    assert ticket.reopen_count == (3 if reopened else 2)
    event = TicketEvent.objects.get(ticket=ticket)
    assert event.type == ("reopened" if reopened else "status")
    assert (event.old_value, event.new_value) == (current, target)
    assert (event.at, event.actor_kind, event.actor_label) == (NOW, "system", "test")


# --- Through the service an agent's change goes through -------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(("current", "target"), ALL_PAIRS, ids=PAIR_IDS)
def test_ticket_update_follows_the_table_and_writes_nothing_when_it_refuses(current, target):
    team = TeamFactory()
    agent = agent_user()
    team.members.add(agent)
    ticket = ticket_in(current, team=team)
    before = ticket_state(ticket)

    if current == target:
        if current == "closed":
            # Nothing about a closed ticket changes, not even to "closed".
            with pytest.raises(ConflictError) as refused:
                ticket_update(ticket=ticket, by_user=agent, status=target, now=NOW)
            assert error_status(refused.value) == 409
            assert ticket_state(ticket) == before
        else:
            # Asking for the status a ticket already has is not a transition.
            ticket_update(ticket=ticket, by_user=agent, status=target, now=NOW)
            assert ticket_state(ticket)["events"] == []
            assert Ticket.objects.get(pk=ticket.pk).status == current
        return

    if not is_allowed(current, target):
        with pytest.raises(TicketTransitionNotAllowed) as refused:
            ticket_update(ticket=ticket, by_user=agent, status=target, now=NOW)
        assert error_body(refused.value)["allowed"] == in_lifecycle_order(ALLOWED[current])
        assert ticket_state(ticket) == before
        return

    ticket_update(ticket=ticket, by_user=agent, status=target, now=NOW)

    ticket.refresh_from_db()
    assert ticket.status == target
    assert ticket.updated_at == NOW
    events = list(TicketEvent.objects.filter(ticket=ticket))
    assert [(e.old_value, e.new_value, e.actor_user) for e in events] == [(current, target, agent)]


# --- Through the agent API ------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(("current", "target"), ALL_PAIRS, ids=PAIR_IDS)
def test_patching_the_status_is_applied_with_200_or_refused_with_409_listing_the_allowed(
    client, current, target
):
    team = TeamFactory()
    agent = agent_user()
    team.members.add(agent)
    client.force_login(agent)
    ticket = ticket_in(current, team=team)
    before = ticket_state(ticket)

    with time_machine.travel(NOW, tick=False):
        response = client.patch(
            f"/api/v1/tickets/{ticket.number}/",
            {"status": target},
            content_type="application/json",
        )

    if current == target and current != "closed":
        assert response.status_code == 200, response.json()
        assert response.json()["status"] == current
        assert ticket_state(ticket)["events"] == []
        return
    if not is_allowed(current, target):
        assert response.status_code == 409, response.json()
        body = response.json()
        if current == target:  # closed → closed: nothing changes on a closed ticket
            assert body["code"] == "ticket_closed"
        else:
            assert body["code"] == "invalid_transition"
            assert body["current_status"] == current
            assert body["requested_status"] == target
            assert body["allowed"] == in_lifecycle_order(ALLOWED[current])
        assert body["detail"]
        assert ticket_state(ticket) == before
        return

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == target
    assert body["allowed_next_statuses"] == in_lifecycle_order(ALLOWED[target])
    ticket.refresh_from_db()
    assert ticket.status == target
    assert [(e.old_value, e.new_value) for e in ticket.events.all()] == [(current, target)]


# --- Reopening and follow-ups ----------------------------------------------------------------


@pytest.mark.django_db
def test_a_customer_message_on_a_solved_ticket_reopens_it_and_counts_the_reopen():
    ticket = ticket_in("solved")

    received, message = ticket_customer_message(
        ticket=ticket, body="还是没收到货", actor=STOREFRONT, now=NOW
    )

    assert received.pk == ticket.pk
    ticket.refresh_from_db()
    assert ticket.status == "open"
    assert ticket.reopen_count == 1
    assert ticket.solved_at is None
    assert ticket.last_customer_message_at == NOW
    assert message.ticket_id == ticket.pk
    assert message.author_kind == "customer"
    reopened = ticket.events.get(type="reopened")
    assert (reopened.old_value, reopened.new_value, reopened.at) == ("solved", "open", NOW)
    assert reopened.actor_kind == "api_key"


@pytest.mark.django_db
def test_each_reopen_adds_one_to_the_reopen_count():
    team = TeamFactory()
    agent = agent_user()
    team.members.add(agent)
    ticket = ticket_in("solved", team=team)

    for i in range(3):
        at = NOW + timedelta(hours=i)
        ticket_customer_message(ticket=ticket, body="再问一下", actor=STOREFRONT, now=at)
        ticket_reply(ticket=ticket, user=agent, body="已处理", then_status="solved", now=at)

    ticket.refresh_from_db()
    assert ticket.reopen_count == 3
    assert ticket.status == "solved"
    assert ticket.events.filter(type="reopened").count() == 3


@pytest.mark.django_db
@pytest.mark.parametrize("status", ["pending", "on_hold"])
def test_a_customer_message_brings_a_waiting_ticket_back_to_open_without_a_reopen(status):
    ticket = ticket_in(status)

    ticket_customer_message(ticket=ticket, body="有进展吗？", actor=STOREFRONT, now=NOW)

    ticket.refresh_from_db()
    assert ticket.status == "open"
    assert ticket.reopen_count == 0
    assert not ticket.events.filter(type="reopened").exists()


@pytest.mark.django_db
@pytest.mark.parametrize("status", ["new", "open"])
def test_a_customer_message_on_an_active_ticket_leaves_its_status(status):
    ticket = ticket_in(status)

    ticket_customer_message(ticket=ticket, body="补充一下", actor=STOREFRONT, now=NOW)

    ticket.refresh_from_db()
    assert ticket.status == status
    assert list(ticket.events.values_list("type", flat=True)) == ["customer_message"]


@pytest.mark.django_db
def test_a_customer_message_on_a_closed_ticket_opens_a_new_ticket_linked_to_it():
    order = OrderFactory(status="shipped")
    closed = ticket_in("closed", customer=order.customer, order=order, kind="order_issue")
    before = ticket_state(closed)

    follow_up, message = ticket_customer_message(
        ticket=closed, body="又出问题了", actor=STOREFRONT, now=NOW
    )

    assert follow_up.pk != closed.pk
    assert follow_up.linked_from == closed
    assert follow_up.status == "new"
    assert (follow_up.customer, follow_up.order, follow_up.kind, follow_up.channel) == (
        closed.customer,
        order,
        "order_issue",
        closed.channel,
    )
    assert list(follow_up.messages.all()) == [message]
    assert (message.body, message.author_kind, message.created_at) == (
        "又出问题了",
        "customer",
        NOW,
    )
    after = ticket_state(closed)
    assert after["ticket"] == before["ticket"]  # still closed, nothing reopened
    assert after["messages"] == before["messages"]
    [event] = closed.events.all()
    assert (event.type, event.new_value) == ("follow_up", follow_up.number)
    assert list(closed.follow_ups.all()) == [follow_up]


# --- Auto-close of solved tickets ------------------------------------------------------------


def solved_at(moment: datetime, **kwargs) -> Ticket:
    return TicketFactory(
        status="solved", created_at=moment - timedelta(hours=1), solved_at=moment, **kwargs
    )


@pytest.mark.django_db
def test_a_solved_ticket_is_left_alone_until_96_hours_have_passed():
    ticket = solved_at(T0)

    closed = tickets_close_solved(now=T0 + timedelta(hours=96) - timedelta(seconds=1))

    assert closed == 0
    ticket.refresh_from_db()
    assert ticket.status == "solved"
    assert not ticket.events.exists()


@pytest.mark.django_db
def test_a_solved_ticket_closes_after_96_hours_without_a_customer_reply():
    ticket = solved_at(T0)
    now = T0 + timedelta(hours=96)

    closed = tickets_close_solved(now=now)

    assert closed == 1
    ticket.refresh_from_db()
    assert ticket.status == "closed"
    assert ticket.closed_at == now
    assert ticket.updated_at == now
    event = ticket.events.get()
    assert (event.type, event.old_value, event.new_value) == ("status", "solved", "closed")
    assert (event.actor_kind, event.actor_label, event.at) == ("system", "auto-close", now)


@pytest.mark.django_db
def test_the_auto_close_delay_is_configurable_in_ticket_settings():
    settings = TicketSettings.load()
    settings.auto_close_solved_after_hours = 72
    settings.save()
    early, late = solved_at(T0), solved_at(T0 + timedelta(seconds=1))

    assert tickets_close_solved(now=T0 + timedelta(hours=72)) == 1

    early.refresh_from_db()
    late.refresh_from_db()
    assert (early.status, late.status) == ("closed", "solved")


@pytest.mark.django_db
def test_a_customer_reply_after_solving_keeps_the_ticket_from_closing():
    ticket = solved_at(T0)
    ticket_customer_message(
        ticket=ticket, body="还有问题", actor=STOREFRONT, now=T0 + timedelta(hours=95)
    )

    assert tickets_close_solved(now=T0 + timedelta(hours=97)) == 0

    ticket.refresh_from_db()
    assert ticket.status == "open"


@pytest.mark.django_db
def test_a_ticket_solved_again_counts_its_96_hours_from_the_new_solve():
    team = TeamFactory()
    agent = agent_user()
    team.members.add(agent)
    ticket = solved_at(T0, team=team)
    ticket_customer_message(
        ticket=ticket, body="还有问题", actor=STOREFRONT, now=T0 + timedelta(hours=10)
    )
    resolved = T0 + timedelta(hours=20)
    ticket_reply(ticket=ticket, user=agent, body="好的", then_status="solved", now=resolved)

    assert tickets_close_solved(now=resolved + timedelta(hours=96) - timedelta(seconds=1)) == 0
    assert tickets_close_solved(now=resolved + timedelta(hours=96)) == 1


@pytest.mark.django_db
@pytest.mark.parametrize("status", ["new", "open", "pending", "on_hold", "closed"])
def test_the_auto_close_touches_only_solved_tickets(status):
    ticket = TicketFactory(status=status, created_at=T0 - timedelta(days=30))
    before = ticket_state(ticket)

    assert tickets_close_solved(now=T0) == 0

    assert ticket_state(ticket) == before


@pytest.mark.django_db
def test_the_auto_close_works_through_every_batch():
    tickets = [solved_at(T0 - timedelta(minutes=i)) for i in range(5)]

    assert tickets_close_solved(now=T0 + timedelta(hours=96), batch_size=2) == 5

    assert Ticket.objects.filter(pk__in=[t.pk for t in tickets], status="closed").count() == 5


@pytest.mark.django_db
def test_the_auto_close_task_closes_what_is_due_at_the_time_it_runs():
    due, not_yet = solved_at(T0), solved_at(T0 + timedelta(hours=2))

    with time_machine.travel(T0 + timedelta(hours=97), tick=False):
        assert tickets_close_solved_task.delay().get() == 1

    due.refresh_from_db()
    not_yet.refresh_from_db()
    assert (due.status, not_yet.status) == ("closed", "solved")
    assert due.closed_at == T0 + timedelta(hours=97)
