"""Apps built on tickets show their panels and carry out their remedies through registries in
tickets, which imports none of them."""

from decimal import Decimal

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from csplatform.actors import Actor
from tests.factories import OrderFactory, TicketFactory
from tickets.panels import Panel, ticket_panel_register, ticket_panels
from tickets.remedies import RefundGrounds, RefundRemedy, remedy_execute

pytestmark = pytest.mark.django_db


def test_the_ticket_page_shows_the_complaint_panel_above_the_return_panel():
    order = OrderFactory()
    ticket = TicketFactory(customer=order.customer, order=order)

    templates = [panel.template for panel in ticket_panels(ticket)]

    assert templates == [
        "complaints/partials/complaint_start.html",
        "refunds/partials/return_panel.html",
    ]


def test_a_panel_registered_again_replaces_the_first(monkeypatch):
    monkeypatch.setattr("tickets.panels._panels", {})
    ticket_panel_register(name="a", position=2, panel=lambda ticket: Panel("a.html"))
    ticket_panel_register(name="b", position=1, panel=lambda ticket: Panel("b.html"))
    ticket_panel_register(name="a", position=0, panel=lambda ticket: Panel("a2.html"))

    assert [p.template for p in ticket_panels(TicketFactory())] == ["a2.html", "b.html"]


def test_a_remedy_no_app_carries_out_is_a_configuration_error():
    order = OrderFactory()
    ticket = TicketFactory(customer=order.customer, order=order)
    remedy = RefundRemedy(
        order=order,
        amount=Decimal("1.00"),
        grounds=RefundGrounds.QUALITY,
        description="",
        actor=Actor.system(),
        ticket=ticket,
        now=timezone.now(),
    )

    with pytest.raises(ImproperlyConfigured):
        remedy_execute(kind="voucher", remedy=remedy)
