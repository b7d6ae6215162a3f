"""The order page, the order API and the order list load in a fixed number of queries.

Each count is exact (measured on the small case): a new query anywhere shows up here, and the
big case must not need a single query more than the small one.
"""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from csplatform.models import ApiKeyProfile
from orders.choices import ExceptionType
from tests.factories import (
    OrderEventFactory,
    OrderExceptionFactory,
    OrderFactory,
    PaymentFactory,
    ShipmentEventFactory,
    ShipmentFactory,
    agent_user,
    api_key_header,
    storefront_api_key,
)

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))

# API: the key; the order with its customer; lines, payments, shipments, their tracking events,
# the timeline and the exceptions.
ORDER_API_QUERIES = 8
# Page: session, user, the user's groups (read once for the desk check and the navigation);
# the order as above, less the key; the agent's profile (the presence switch in the top bar).
ORDER_PAGE_QUERIES = 11
# List: session, user, groups; the count, the page of orders with their customers, their open
# exceptions; the agent's profile (the presence switch).
ORDER_LIST_QUERIES = 7


def small_order():
    """One of everything the page shows: a line, a payment, a parcel with one tracking event,
    a timeline event, an open exception and one an agent resolved."""
    order = OrderFactory(status="shipped", lines=1, placed_at=T0)
    PaymentFactory(order=order)
    ShipmentEventFactory(shipment=ShipmentFactory(order=order))
    OrderEventFactory(order=order, type="created")
    OrderExceptionFactory(order=order, type=ExceptionType.LOGISTICS_DELAYED, detected_at=T0)
    resolved_by_agent(order, ExceptionType.PARCEL_LOST)
    return order


def resolved_by_agent(order, exception_type):
    """An exception an agent resolved: the page names the agent."""
    OrderExceptionFactory(
        order=order,
        type=exception_type,
        detected_at=T0,
        resolved_at=T0 + timedelta(hours=1),
        outcome="customer_notified",
        resolved_by=agent_user(),
    )


def big_order():
    order = OrderFactory(status="shipped", lines=30, placed_at=T0)
    PaymentFactory(order=order, status="failed", amount=order.total)
    PaymentFactory(order=order)
    agent = agent_user()
    for i in range(5):
        shipment = ShipmentFactory(order=order, shipped_at=T0 + timedelta(hours=i))
        ShipmentEventFactory.create_batch(4, shipment=shipment)
    for i in range(40):
        OrderEventFactory(
            order=order,
            at=T0 + timedelta(minutes=i),
            actor_kind="user" if i % 2 else "system",
            actor_user=agent if i % 2 else None,
            payload={"from": "paid", "to": "shipped"} if i % 3 else {"exception": "parcel_lost"},
        )
    for exception_type in list(ExceptionType)[:5]:
        OrderExceptionFactory(order=order, type=exception_type, detected_at=T0)
        resolved_by_agent(order, exception_type)
    return order


@pytest.fixture
def storefront_headers():
    """A key in use: its last use was noted a moment ago, so the measured request notes none
    (a key's last use is written at most once a minute)."""
    api_key, key = storefront_api_key()
    ApiKeyProfile.objects.filter(api_key=api_key).update(last_used_at=timezone.now())
    return api_key_header(key)


@pytest.mark.parametrize("build", [small_order, big_order], ids=["small", "big"])
def test_the_order_api_uses_the_same_queries_for_a_small_and_a_big_order(
    build, storefront_headers, django_assert_num_queries
):
    order = build()
    client = APIClient()

    with django_assert_num_queries(ORDER_API_QUERIES):
        response = client.get(f"/api/v1/orders/{order.number}/", **storefront_headers)

    assert response.status_code == 200
    body = response.json()
    assert len(body["lines"]) == order.lines.count()
    assert len(body["timeline"]) == order.events.count()
    assert len(body["shipments"]) == order.shipments.count()


def test_the_big_order_really_is_big():
    order = big_order()
    assert order.lines.count() == 30
    assert order.shipments.count() == 5
    assert sum(s.events.count() for s in order.shipments.all()) == 20
    assert order.events.count() == 40
    assert order.exceptions.count() == 10
    assert order.exceptions.filter(resolved_by__isnull=False).count() == 5


@pytest.mark.parametrize("build", [small_order, big_order], ids=["small", "big"])
def test_the_order_page_uses_the_same_queries_for_a_small_and_a_big_order(
    build, agent_client, django_assert_num_queries
):
    order = build()

    with django_assert_num_queries(ORDER_PAGE_QUERIES):
        response = agent_client.get(f"/desk/orders/{order.number}/")

    assert response.status_code == 200
    page = response.content.decode()
    assert page.count('<tr><td class="mono">') == order.lines.count()
    assert page.count("<li><time>") >= order.events.count()


@pytest.mark.parametrize("orders", [5, 60])
def test_the_order_list_uses_the_same_queries_for_5_and_60_orders(
    orders, agent_client, django_assert_num_queries
):
    for i in range(orders):
        order = OrderFactory(status="paid", placed_at=T0 + timedelta(minutes=i))
        if i % 2:
            OrderExceptionFactory(order=order, type="shipping_overdue")
            OrderExceptionFactory(order=order, type="amount_mismatch")

    with django_assert_num_queries(ORDER_LIST_QUERIES):
        response = agent_client.get("/desk/orders/")

    assert response.status_code == 200
    assert response.content.decode().count("/desk/orders/SO-") == min(orders, 50)
