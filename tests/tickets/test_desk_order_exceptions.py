"""Resolving an order exception from the ticket page: the order panel's form for each open
exception of the ticket's order, with an outcome and an optional note.

Django's test client drives the same URLs the htmx front end calls (``HX-Request`` header).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone, translation

from csplatform.api.errors import error_status
from orders.models import OrderEvent, OrderException
from orders.services import order_exception_resolve_by_agent
from tests.factories import (
    OrderExceptionFactory,
    OrderFactory,
    TeamFactory,
    TicketFactory,
    UserFactory,
    admin_user,
    online_agent,
    order_state,
    supervisor_user,
    ticket_state,
)
from tickets import services
from tickets.choices import TicketKind, TicketStatus
from tickets.models import TicketEvent
from tickets.services import NotAllowed

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
T0 = datetime(2026, 3, 2, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture
def agent(team):
    return online_agent(team, username="li.na", first_name="娜", last_name="李")


@pytest.fixture
def order():
    return OrderFactory(number="SO-88001", status="shipped", placed_at=T0)


@pytest.fixture
def exception(order):
    return OrderExceptionFactory(order=order, type="parcel_lost", detected_at=T0)


@pytest.fixture
def ticket(team, order, exception):
    return TicketFactory(
        team=team,
        customer=order.customer,
        order=order,
        order_exception=exception,
        kind=TicketKind.ORDER_ISSUE,
    )


def resolve_url(ticket, exception) -> str:
    return f"/desk/tickets/{ticket.number}/exceptions/{exception.pk}/resolve/"


def html(response) -> str:
    return response.content.decode()


def panel(page: str) -> str:
    return page.split('id="order-panel"', 1)[1].split("</section>", 1)[0]


# --- The panel --------------------------------------------------------------------------------


def test_each_open_exception_has_a_resolve_form_and_each_resolved_one_its_outcome(
    agent_client, ticket, order, exception
):
    delayed = OrderExceptionFactory(order=order, type="logistics_delayed", detected_at=T0)
    order_exception_resolve_by_agent(
        exception=delayed,
        user=supervisor_user(username="zhao.lei", first_name="磊", last_name="赵"),
        outcome="customer_notified",
        note="已短信告知预计延迟两天",
        now=T0 + timedelta(hours=1),
    )

    shown = panel(html(agent_client.get(f"/desk/tickets/{ticket.number}/")))

    lost, late = shown.split('id="order-exception-')[1:]
    assert lost.startswith(f'{exception.pk}"')
    assert "Parcel lost" in lost
    assert f'action="{resolve_url(ticket, exception)}"' in lost
    options = re.findall(r'<option value="(\w*)">', lost)
    assert options == ["", "resolved", "customer_notified", "reshipped", "refunded", "no_action"]
    assert ">Resolve</button>" in lost
    assert "Logistics delayed" in late
    assert "<form" not in late
    assert "Customer notified" in late
    assert "已短信告知预计延迟两天" in late
    assert "赵磊" in late


def test_a_closed_ticket_shows_its_exceptions_without_a_form(agent_client, team, order, exception):
    closed = TicketFactory(
        team=team, customer=order.customer, order=order, status=TicketStatus.CLOSED
    )

    shown = panel(html(agent_client.get(f"/desk/tickets/{closed.number}/")))

    assert "Parcel lost" in shown
    assert "<form" not in shown


def test_the_panel_reads_in_simplified_chinese(agent_client, ticket):
    agent_client.cookies["django_language"] = "zh-hans"
    # The middleware activates the language in the test's thread: restore it afterwards.
    with translation.override(translation.get_language()):
        shown = panel(html(agent_client.get(f"/desk/tickets/{ticket.number}/")))

    assert "已补发" in shown
    assert "无需处理" in shown
    assert "处理结果…" in shown
    assert ">标记为已处理</button>" in shown


# --- Resolving ---------------------------------------------------------------------------------


def test_an_agent_resolves_an_exception_and_the_panel_and_timeline_are_swapped_in(
    agent_client, agent, ticket, exception
):
    response = agent_client.post(
        resolve_url(ticket, exception),
        {"outcome": "reshipped", "note": "顺丰补发 SF1234567890"},
        **HTMX,
    )

    assert response.status_code == 200
    exception.refresh_from_db()
    assert (exception.outcome, exception.resolved_by, exception.resolution_note) == (
        "reshipped",
        agent,
        "顺丰补发 SF1234567890",
    )
    assert exception.resolved_at is not None
    order_event = OrderEvent.objects.get(order=exception.order, type="exception_resolved")
    assert (order_event.payload, order_event.actor_user) == (
        {"exception": "parcel_lost", "outcome": "reshipped"},
        agent,
    )
    ticket_event = TicketEvent.objects.get(ticket=ticket, type="exception_resolved")
    assert (ticket_event.old_value, ticket_event.new_value, ticket_event.actor_user) == (
        "parcel_lost",
        "reshipped",
        agent,
    )
    page = html(response)
    swapped = re.findall(r'<\w+ [^>]*id="([\w-]+)"[^>]*hx-swap-oob="true"', page)
    assert swapped == ["order-panel", "ticket-timeline"]
    shown = panel(page)
    assert "<form" not in shown
    assert "Reshipped" in shown
    assert "李娜" in shown
    assert "顺丰补发 SF1234567890" in shown
    timeline = page.split('id="ticket-timeline"', 1)[1]
    assert "<strong>Order exception resolved</strong> Parcel lost → Reshipped" in timeline


def test_without_javascript_resolving_redirects_back_to_the_ticket(agent_client, ticket, exception):
    response = agent_client.post(resolve_url(ticket, exception), {"outcome": "no_action"})

    assert response.status_code == 302
    assert response.url == f"/desk/tickets/{ticket.number}/"
    exception.refresh_from_db()
    assert exception.outcome == "no_action"


def test_a_second_resolve_is_refused_with_409_and_says_how_it_was_resolved(
    agent_client, agent, ticket, exception
):
    agent_client.post(resolve_url(ticket, exception), {"outcome": "reshipped"}, **HTMX)
    before = order_state(exception.order)

    response = agent_client.post(resolve_url(ticket, exception), {"outcome": "refunded"}, **HTMX)

    assert response.status_code == 409
    error = html(response).split('id="order-error">', 1)[1].split("</p>", 1)[0]
    assert error == "This exception is already resolved (Reshipped)."
    assert order_state(exception.order) == before
    assert TicketEvent.objects.filter(ticket=ticket, type="exception_resolved").count() == 1


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"outcome": "fixed"}, "Choose one of the listed outcomes."),
        ({"outcome": ""}, "Choose an outcome."),
        ({}, "Choose an outcome."),
        (
            {"outcome": "resolved", "note": "x" * 501},
            "Ensure this value has at most 500 characters (it has 501).",
        ),
    ],
    ids=["unknown outcome", "empty outcome", "no outcome", "note too long"],
)
def test_a_bad_outcome_or_note_is_refused_inline_with_a_clear_message_and_writes_nothing(
    agent_client, ticket, exception, data, message
):
    before = (order_state(exception.order), ticket_state(ticket))

    response = agent_client.post(resolve_url(ticket, exception), data, **HTMX)

    # 422 rather than 400: htmx swaps 403/409/422 answers only (base.html, csplatform.desk).
    assert response.status_code == 422
    error = html(response).split('id="order-error">', 1)[1].split("</p>", 1)[0]
    assert error == message
    assert (order_state(exception.order), ticket_state(ticket)) == before


def test_without_javascript_a_bad_outcome_comes_back_as_a_message_on_the_ticket(
    agent_client, ticket, exception
):
    response = agent_client.post(resolve_url(ticket, exception), {"outcome": "fixed"}, follow=True)

    assert response.status_code == 200
    assert "Choose one of the listed outcomes." in html(response)
    exception.refresh_from_db()
    assert exception.is_open


# --- Who may resolve what ------------------------------------------------------------------------


def test_another_teams_ticket_is_404_and_its_exception_stays_open(agent_client, order, exception):
    other = TicketFactory(
        team=TeamFactory(name="Live-stream desk"), customer=order.customer, order=order
    )

    response = agent_client.post(resolve_url(other, exception), {"outcome": "resolved"}, **HTMX)

    assert response.status_code == 404
    exception.refresh_from_db()
    assert exception.is_open


def test_an_exception_of_another_order_is_404_even_on_a_ticket_the_agent_sees(agent_client, ticket):
    elsewhere = OrderExceptionFactory(type="address_problem", detected_at=T0)

    response = agent_client.post(resolve_url(ticket, elsewhere), {"outcome": "resolved"}, **HTMX)

    assert response.status_code == 404
    elsewhere.refresh_from_db()
    assert elsewhere.is_open


def test_a_ticket_without_an_order_has_no_exception_to_resolve(agent_client, team, exception):
    bare = TicketFactory(team=team, order=None)

    response = agent_client.post(resolve_url(bare, exception), {"outcome": "resolved"}, **HTMX)

    assert response.status_code == 404


def test_a_user_without_a_desk_role_gets_404(client, ticket, exception):
    client.force_login(UserFactory())

    response = client.post(resolve_url(ticket, exception), {"outcome": "resolved"}, **HTMX)

    assert response.status_code == 404
    exception.refresh_from_db()
    assert exception.is_open


def test_the_resolve_form_needs_a_signed_in_user(client, ticket, exception):
    response = client.post(resolve_url(ticket, exception), {"outcome": "resolved"})

    assert response.status_code == 302
    assert "/login/" in response.url
    exception.refresh_from_db()
    assert exception.is_open


@pytest.mark.parametrize("role", ["supervisor", "admin"])
def test_the_teams_supervisor_and_an_admin_resolve_too(client, team, ticket, exception, role):
    user = supervisor_user() if role == "supervisor" else admin_user()
    if role == "supervisor":
        team.supervisor = user
        team.save(update_fields=["supervisor"])
    client.force_login(user)

    response = client.post(resolve_url(ticket, exception), {"outcome": "refunded"}, **HTMX)

    assert response.status_code == 200
    exception.refresh_from_db()
    assert (exception.outcome, exception.resolved_by) == ("refunded", user)


def test_a_closed_ticket_refuses_a_resolve_with_409(agent_client, team, order, exception):
    closed = TicketFactory(
        team=team, customer=order.customer, order=order, status=TicketStatus.CLOSED
    )

    response = agent_client.post(resolve_url(closed, exception), {"outcome": "resolved"}, **HTMX)

    assert response.status_code == 409
    assert "The ticket is closed." in html(response)
    exception.refresh_from_db()
    assert exception.is_open


def test_the_service_refuses_an_agent_outside_the_tickets_team(ticket, exception):
    outsider = online_agent(TeamFactory(), username="wang.fang")

    with pytest.raises(NotAllowed) as refused:
        services.ticket_order_exception_resolve(
            ticket=ticket, exception=exception, by_user=outsider, outcome="resolved", now=T0
        )

    assert error_status(refused.value) == 403
    assert OrderException.objects.get(pk=exception.pk).is_open


def test_the_service_refuses_an_exception_of_another_order(ticket, agent):
    elsewhere = OrderExceptionFactory(type="amount_mismatch", detected_at=T0)

    with pytest.raises(NotAllowed):
        services.ticket_order_exception_resolve(
            ticket=ticket, exception=elsewhere, by_user=agent, outcome="resolved", now=T0
        )

    assert OrderException.objects.get(pk=elsewhere.pk).is_open


def test_the_service_records_the_resolution_on_the_ticket_at_the_given_time(
    ticket, exception, agent
):
    now = timezone.now().replace(microsecond=0)

    services.ticket_order_exception_resolve(
        ticket=ticket,
        exception=exception,
        by_user=agent,
        outcome="refunded",
        note=" 退 99 ",
        now=now,
    )

    event = TicketEvent.objects.get(ticket=ticket, type="exception_resolved")
    assert (event.at, event.actor_label, event.payload) == (
        now,
        "li.na",
        {"exception_id": exception.pk},
    )
    exception.refresh_from_db()
    assert (exception.resolved_at, exception.resolution_note) == (now, "退 99")
