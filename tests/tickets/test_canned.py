"""Canned replies: only the five variables, refused when the reply is saved, filled when used."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError

from tests.factories import (
    CannedReplyFactory,
    CustomerFactory,
    OrderFactory,
    ShipmentFactory,
    TeamFactory,
    TicketFactory,
    admin_user,
    agent_user,
)
from tickets.admin import CannedReplyForm
from tickets.canned import VARIABLES, render
from tickets.models import CannedReply
from tickets.selectors import canned_replies_for

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))

EVERY_VARIABLE = (
    "{{ customer.name }}|{{ order.number }}|{{ order.status }}|"
    "{{ shipment.tracking_number }}|{{ agent.name }}"
)


def test_the_variables_are_exactly_the_five_of_the_issue():
    assert sorted(VARIABLES) == sorted(
        [
            "customer.name",
            "order.number",
            "order.status",
            "shipment.tracking_number",
            "agent.name",
        ]
    )


# --- Refused when saved --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "unknown"),
    [
        ("您好 {{ customer.nmae }}", ["customer.nmae"]),
        ("{{ order.total }} 元", ["order.total"]),
        ("{{customer.phone}} / {{ agent.email }}", ["agent.email", "customer.phone"]),
        ("{{ order.number|upper }}", ["order.number|upper"]),
    ],
)
def test_full_clean_refuses_an_unknown_variable_and_names_it(body, unknown):
    reply = CannedReply(title="Bad", body=body)

    with pytest.raises(ValidationError) as refused:
        reply.full_clean()

    [message] = refused.value.message_dict["body"]
    for name in unknown:
        assert name in message
    for name in VARIABLES:  # and lists what is allowed
        assert name in message


@pytest.mark.parametrize("team", [None, "team"])
def test_a_reply_with_known_variables_is_valid_for_a_team_or_for_everyone(team):
    reply = CannedReply(
        title="Shipped",
        body=f"您好 {EVERY_VARIABLE} {{{{order.number}}}}",
        team=TeamFactory() if team else None,
    )

    reply.full_clean()


def test_the_admin_form_refuses_an_unknown_variable_and_names_it():
    form = CannedReplyForm(
        data={"title": "Typo", "team": "", "active": "on", "body": "{{ shipment.tracking }}"}
    )

    assert not form.is_valid()
    assert "shipment.tracking" in form.errors["body"][0]


def test_saving_an_unknown_variable_in_the_admin_shows_the_error_and_stores_nothing(client):
    client.force_login(admin_user(is_staff=True))

    response = client.post(
        "/admin/tickets/cannedreply/add/",
        {"title": "Typo", "team": "", "active": "on", "body": "您好 {{ costumer.name }}"},
    )

    assert response.status_code == 200  # the form again, with its error
    assert "costumer.name" in response.content.decode()
    assert not CannedReply.objects.exists()


def test_saving_known_variables_in_the_admin_stores_the_reply(client):
    client.force_login(admin_user(is_staff=True))
    team = TeamFactory()

    response = client.post(
        "/admin/tickets/cannedreply/add/",
        {"title": "Shipped", "team": team.pk, "active": "on", "body": EVERY_VARIABLE},
    )

    assert response.status_code == 302
    assert CannedReply.objects.get().team == team


# --- Filled when used ----------------------------------------------------------------------------


def test_every_variable_is_filled_from_the_ticket_its_order_parcel_and_agent():
    customer = CustomerFactory(name="张伟")
    order = OrderFactory(customer=customer, number="SO-2024", status="shipped")
    ShipmentFactory(order=order, tracking_number="SF0001", shipped_at=T0)
    ShipmentFactory(order=order, tracking_number="SF0002", shipped_at=T0 + timedelta(days=1))
    ticket = TicketFactory(customer=customer, order=order)
    agent = agent_user(first_name="Na", last_name="Li")
    reply = CannedReplyFactory(body=EVERY_VARIABLE)

    text = render(reply.body, ticket=ticket, agent=agent)

    # The latest parcel's tracking number; the order status as the customer reads it.
    assert text == "张伟|SO-2024|Shipped|SF0002|Na Li"


def test_a_ticket_without_an_order_fills_the_order_variables_with_empty_strings():
    ticket = TicketFactory(customer=CustomerFactory(name="李娜"), order=None)
    agent = agent_user(username="wang.fang", first_name="", last_name="")

    text = render(EVERY_VARIABLE, ticket=ticket, agent=agent)

    assert text == "李娜||||wang.fang"  # an agent without a full name signs with the username


def test_an_order_without_a_parcel_fills_the_tracking_number_with_an_empty_string():
    order = OrderFactory(number="SO-7", status="paid")
    ticket = TicketFactory(customer=order.customer, order=order)

    text = render(
        "{{ order.number }} {{order.status}} [{{ shipment.tracking_number }}]",
        ticket=ticket,
        agent=agent_user(),
    )

    assert text == "SO-7 Paid []"


def test_the_factory_reply_reads_as_a_sentence_once_filled():
    order = OrderFactory(number="SO-88", customer=CustomerFactory(name="王芳"))
    ticket = TicketFactory(customer=order.customer, order=order)

    text = render(CannedReplyFactory().body, ticket=ticket, agent=agent_user())

    assert text == "您好 王芳，您的订单 SO-88 已发出。"


def test_sending_never_fails_on_a_variable_stored_before_the_rule_existed():
    """Validation belongs to saving; a row written around it is sent with the text left as is."""
    reply = CannedReplyFactory(body="{{ customer.name }} {{ legacy.field }}")
    ticket = TicketFactory(customer=CustomerFactory(name="赵敏"))

    assert render(reply.body, ticket=ticket, agent=agent_user()) == "赵敏 {{ legacy.field }}"


# --- Per team or global ------------------------------------------------------------------------


def test_a_ticket_offers_its_teams_replies_and_the_global_ones_that_are_active():
    presales, logistics = TeamFactory(), TeamFactory()
    own = CannedReplyFactory(title="Pre-sales greeting", team=presales)
    everyone = CannedReplyFactory(title="Thanks", team=None)
    CannedReplyFactory(title="Carrier delay", team=logistics)
    CannedReplyFactory(title="Retired", team=presales, active=False)
    CannedReplyFactory(title="Retired global", team=None, active=False)

    assert set(canned_replies_for(presales.pk)) == {own, everyone}
    assert set(canned_replies_for(None)) == {everyone}
