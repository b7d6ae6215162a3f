"""Resolving an order exception from the ticket page in a real browser: the order panel's form
is swapped for the outcome without a page reload, and a second resolve shows its refusal."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from orders.services import order_exception_raise, order_exception_resolve_by_agent
from tests.e2e.conftest import login
from tests.factories import OrderFactory, online_agent
from tickets.choices import TicketKind
from tickets.models import Team, Ticket

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("_expect_waits_like_the_page"),
]

PASSWORD = "secret-pass-123"


def test_an_agent_resolves_a_lost_parcel_from_its_ticket(page, screenshot):
    # The exception opens its order_issue ticket once committed; unrouted, it lands in the
    # default team (a data migration creates it).
    team = Team.objects.get(name="General service")
    online_agent(team, username="li.na", first_name="娜", last_name="李", password=PASSWORD)
    order = OrderFactory(number="SO-3000001", status="shipped")
    exception, _ = order_exception_raise(order=order, type="parcel_lost", now=order.placed_at)
    ticket = Ticket.objects.get(order_exception=exception)
    assert (ticket.team, ticket.kind) == (team, TicketKind.ORDER_ISSUE)

    login(page, "li.na")
    page.wait_for_url(re.compile(r"/desk/"))
    page.goto(f"/desk/tickets/{ticket.number}/")
    item = page.locator(f"#order-exception-{exception.pk}")
    expect(item.locator("form.exception-resolve")).to_be_visible()
    screenshot("order-exception-open")

    page.evaluate("window.__noReload = true")
    item.locator("select[name=outcome]").select_option("reshipped")
    item.locator("input[name=note]").fill("顺丰补发 SF9988776655")
    item.get_by_role("button", name="Resolve").click()

    item = page.locator(f"#order-exception-{exception.pk}")
    expect(item).to_contain_text("Reshipped")
    expect(item).to_contain_text("李娜")
    expect(item).to_contain_text("顺丰补发 SF9988776655")
    expect(item.locator("form")).to_have_count(0)
    expect(page.locator("#ticket-timeline")).to_contain_text("Parcel lost → Reshipped")
    assert page.evaluate("window.__noReload === true"), "the page was reloaded"
    screenshot("order-exception-resolved")


def test_an_exception_a_colleague_resolved_meanwhile_is_refused_on_the_panel(page, screenshot):
    team = Team.objects.get(name="General service")
    online_agent(team, username="li.na", password=PASSWORD)
    colleague = online_agent(team, username="wang.fang", first_name="芳", last_name="王")
    order = OrderFactory(number="SO-3000002", status="shipped")
    exception, _ = order_exception_raise(order=order, type="address_problem", now=order.placed_at)
    ticket = Ticket.objects.get(order_exception=exception)

    login(page, "li.na")
    page.wait_for_url(re.compile(r"/desk/"))
    page.goto(f"/desk/tickets/{ticket.number}/")
    order_exception_resolve_by_agent(exception=exception, user=colleague, outcome="no_action")

    item = page.locator(f"#order-exception-{exception.pk}")
    item.locator("select[name=outcome]").select_option("customer_notified")
    item.get_by_role("button", name="Resolve").click()

    expect(page.locator("#order-error")).to_have_text(
        "This exception is already resolved (No action needed)."
    )
    expect(page.locator(f"#order-exception-{exception.pk}")).to_contain_text("王芳")
    screenshot("order-exception-refused")
