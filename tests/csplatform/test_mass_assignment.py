"""A storefront sets only what is its own: fields it sends beyond its input are ignored, so it
cannot choose a ticket's priority, assignee or status, a complaint's grade, a return's
status or a refund."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from complaints.models import Complaint
from refunds.models import Refund, ReturnRequest
from tests.factories import (
    TeamFactory,
    api_key_header,
    online_agent,
    storefront_api_key,
    supervisor_user,
)
from tests.orders.test_order_api import order_body, order_url
from tests.refunds.helpers import delivered_order
from tickets.models import Ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def storefront():
    _, key = storefront_api_key()
    client = APIClient()
    client.credentials(**api_key_header(key))
    return client


CUSTOMER = {"external_id": "C-9", "name": "李雷", "phone": "13900001111", "tier": "regular"}


def test_a_storefront_cannot_choose_a_tickets_priority_assignee_team_or_status(storefront):
    elsewhere = TeamFactory(name="Elsewhere")
    favourite = online_agent(elsewhere, username="favourite")
    response = storefront.post(
        "/api/v1/tickets/",
        {
            "customer": CUSTOMER,
            "kind": "inquiry",
            "channel": "web",
            "subject": "急!!!",
            "body": "请马上处理",
            "priority": "urgent",
            "status": "solved",
            "assignee": favourite.username,
            "team": elsewhere.pk,
            "first_response_at": "2026-01-01T00:00:00Z",
        },
        format="json",
    )
    assert response.status_code == 201
    ticket = Ticket.objects.get(number=response.json()["number"])
    assert (ticket.priority, ticket.status) == ("normal", "new")
    assert ticket.assignee != favourite
    assert ticket.team != elsewhere
    assert ticket.first_response_at is None


def test_a_storefront_message_is_a_public_customer_message_and_changes_no_status(storefront):
    created = storefront.post(
        "/api/v1/tickets/",
        {"customer": CUSTOMER, "kind": "inquiry", "channel": "web", "subject": "s", "body": "b"},
        format="json",
    ).json()
    url = f"/api/v1/tickets/{created['number']}/messages/"
    refused = storefront.post(url, {"body": "psst", "internal": True}, format="json")
    assert refused.status_code == 400
    assert "internal" in refused.json()["errors"]

    response = storefront.post(url, {"body": "still waiting", "status": "solved"}, format="json")

    ticket = Ticket.objects.get(number=created["number"])
    assert ticket.status != "solved"
    if response.status_code in (200, 201):
        message = ticket.messages.order_by("-created_at", "-id").first()
        assert (message.author_kind, message.internal) == ("customer", False)
    else:
        assert response.status_code == 400
        assert "status" in response.json()["errors"]
    assert not ticket.messages.filter(internal=True).exists()


def test_a_storefront_cannot_grade_escalate_or_close_the_complaint_it_files(storefront):
    response = storefront.post(
        "/api/v1/complaints/",
        {
            "customer": {**CUSTOMER, "tier": "vip"},
            "category": "logistics",
            "channel": "web",
            "description": "快递太慢",
            "severity": "minor",
            "escalation_level": 4,
            "status": "closed",
        },
        format="json",
    )
    assert response.status_code == 201
    complaint = Complaint.objects.get(number=response.json()["number"])
    assert complaint.severity == "major"  # a VIP customer's complaint, by the rules
    assert (complaint.escalation_level, complaint.status) == (1, "received")


def test_a_storefront_cannot_file_a_return_as_refunded_nor_move_money(storefront):
    supervisor_user()  # someone to approve, were it needed
    order = delivered_order(delivered_at=timezone.now() - timedelta(days=2))
    response = storefront.post(
        "/api/v1/returns/",
        {
            "order_number": order.number,
            "type": "return_refund",
            "reason": "size_fit",
            "lines": [{"sku": "TS-1", "quantity": 1}],
            "status": "refunded",
            "refunded_amount": "99.00",
            "refunds": [{"amount": "99.00", "status": "succeeded"}],
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    request = ReturnRequest.objects.get(public_id=response.json()["id"])
    assert request.status == "requested"
    assert not Refund.objects.exists()
    order.refresh_from_db()
    assert order.refunded_amount == Decimal("0.00")


def test_an_order_put_cannot_set_what_refunds_paid_back(storefront):
    response = storefront.put(
        order_url(), order_body(refunded_amount="189.99", paid_amount="0.01"), format="json"
    )
    assert response.status_code in (200, 201)
    from orders.models import Order

    order = Order.objects.get(number="SO-1001")
    assert order.refunded_amount == Decimal("0.00")
