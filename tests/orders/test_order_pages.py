"""The agent's order pages: /desk/orders/ and /desk/orders/<number>/."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from orders.services import order_exception_resolve, order_exception_resolve_by_agent
from tests.factories import (
    CustomerFactory,
    OrderEventFactory,
    OrderExceptionFactory,
    OrderFactory,
    PaymentFactory,
    ShipmentEventFactory,
    ShipmentFactory,
    agent_user,
)

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def test_the_order_page_shows_lines_payments_shipments_timeline_and_exceptions(agent_client):
    order = OrderFactory(
        number="SO-2001",
        status="shipped",
        placed_at=T0,
        lines=[{"sku": "TEE-RED-M", "name": "Red T-shirt"}, {"sku": "CAP-01", "name": "Cap"}],
    )
    PaymentFactory(order=order, transaction_id="ALI-7788")
    shipment = ShipmentFactory(order=order, carrier="ZTO", tracking_number="ZTO123456")
    ShipmentEventFactory(shipment=shipment, description="Left the Hangzhou hub")
    OrderEventFactory(order=order, type="paid", actor_label="shop-hangzhou")
    OrderExceptionFactory(order=order, type="logistics_delayed")

    response = agent_client.get("/desk/orders/SO-2001/")

    assert response.status_code == 200
    page = response.content.decode()
    for text in (
        "TEE-RED-M",
        "Red T-shirt",
        "CAP-01",
        "ALI-7788",
        "ZTO123456",
        "Left the Hangzhou hub",
        "shop-hangzhou",
        "Logistics delayed",
    ):
        assert text in page, text
    next_possible = page.split("Next possible", 1)[1].split("</span>", 1)[0]
    assert "delivered" in next_possible.lower()


def test_the_order_page_masks_the_customer_and_shows_the_address_to_district_level(
    agent_client,
):
    customer = CustomerFactory(phone="13812348000", email="zhang.wei@example.com")
    OrderFactory(number="SO-2002", customer=customer)

    page = agent_client.get("/desk/orders/SO-2002/").content.decode()

    assert '<dd class="mono" id="customer-phone">138****8000</dd>' in page
    assert "z***@example.com" in page
    assert "西湖区" in page
    for secret in ("13812348000", "zhang.wei", "文三路", "310012"):
        assert secret not in page


def test_the_order_list_shows_orders_newest_first_with_their_open_exceptions(agent_client):
    old = OrderFactory(number="SO-3001", placed_at=T0)
    new = OrderFactory(number="SO-3002", placed_at=T0 + timedelta(hours=1))
    OrderExceptionFactory(order=old, type="payment_failed")
    OrderExceptionFactory(order=new, type="parcel_lost", resolved_at=T0 + timedelta(hours=2))

    page = agent_client.get("/desk/orders/").content.decode()

    assert page.index("SO-3002") < page.index("SO-3001")
    assert page.count("Payment failed") == 1
    assert "Parcel lost" not in page  # resolved


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"q": "SO-4001"}, ["SO-4001"]),
        ({"q": "so-4001"}, ["SO-4001"]),
        ({"q": "13900004002"}, ["SO-4002"]),
        ({"q": "王"}, ["SO-4002"]),
        ({"status": "paid"}, ["SO-4002"]),
        ({"exceptions": "open"}, ["SO-4001"]),
        ({"status": "not-a-status"}, ["SO-4001", "SO-4002"]),
    ],
)
def test_the_order_list_searches_and_filters(agent_client, query, expected):
    first = OrderFactory(number="SO-4001", customer__name="李娜")
    OrderFactory(
        number="SO-4002", status="paid", customer__name="王芳", customer__phone="13900004002"
    )
    OrderExceptionFactory(order=first, type="payment_failed")

    page = agent_client.get("/desk/orders/", query).content.decode()

    assert [n for n in ("SO-4001", "SO-4002") if f">{n}</a>" in page] == expected


def test_an_htmx_search_gets_only_the_rows(agent_client):
    OrderFactory(number="SO-5001")

    response = agent_client.get("/desk/orders/", {"q": "SO-5001"}, HTTP_HX_REQUEST="true")

    page = response.content.decode()
    assert "SO-5001" in page
    assert "<html" not in page


@pytest.mark.parametrize("path", ["/desk/orders/SO-%00/", "/desk/orders/" + "9" * 50 + "/"])
def test_an_order_number_no_order_can_have_is_404_not_an_error(agent_client, path):
    assert agent_client.get(path).status_code == 404


def test_a_search_with_a_nul_character_is_answered_not_an_error(agent_client):
    OrderFactory(number="SO-6001")

    response = agent_client.get("/desk/orders/", {"q": "SO-6001\x00"})

    assert response.status_code == 200
    assert "SO-6001" in response.content.decode()


def test_an_order_delivered_without_a_shipped_report_shows_no_ship_time_and_says_so(agent_client):
    order = OrderFactory(number="SO-2051", status="delivered", placed_at=T0, shipped_at=None)

    page = agent_client.get(f"/desk/orders/{order.number}/").content.decode()

    assert "Delivered without a shipment reported." in page
    assert "Not shipped yet." not in page
    facts = page.split("<dt>Shipped</dt>", 1)[1].split("</dd>", 1)[0]
    assert facts == "<dd>—"


def test_the_order_page_shows_how_each_exception_ended_who_ended_it_and_the_note(agent_client):
    order = OrderFactory(number="SO-2061", status="shipped", placed_at=T0)
    lost = OrderExceptionFactory(order=order, type="parcel_lost", detected_at=T0)
    OrderExceptionFactory(order=order, type="logistics_delayed", detected_at=T0)
    order_exception_resolve_by_agent(
        exception=lost,
        user=agent_user(username="li.na"),
        outcome="reshipped",
        note="顺丰补发 SF99",
        now=T0 + timedelta(hours=1),
    )
    order_exception_resolve(order=order, type="logistics_delayed", now=T0 + timedelta(hours=2))

    page = agent_client.get(f"/desk/orders/{order.number}/").content.decode()

    rows = page.split('id="exceptions"', 1)[1].split("</table>", 1)[0].split("<tr")[2:]
    lost_row, delayed_row = rows
    assert "Parcel lost" in lost_row
    assert all(text in lost_row for text in ("Reshipped", "li.na", "顺丰补发 SF99"))
    assert "Logistics delayed" in delayed_row
    assert 'Resolved <span class="muted">· system</span>' in delayed_row
    timeline = page.split('id="timeline"', 1)[1].split("</ol>", 1)[0]
    assert "<strong>Exception resolved</strong> Parcel lost: Reshipped" in timeline
    assert "<strong>Exception resolved</strong> Logistics delayed: Resolved" in timeline
