"""The storefront's order endpoints of api.md: PUT and GET /api/v1/orders/{number}/, and
POST /api/v1/orders/{number}/events/."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import IntegrityError, transaction
from rest_framework.test import APIClient

from orders.models import (
    Customer,
    Order,
    OrderEvent,
    OrderException,
    OrderLine,
    Payment,
    Shipment,
    ShipmentEvent,
)
from tests.concurrency import run_at_once
from tests.factories import (
    CustomerFactory,
    OrderEventFactory,
    OrderFactory,
    ShipmentFactory,
    api_key_header,
    order_state,
    storefront_api_key,
)

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def order_url(number: str = "SO-1001") -> str:
    return f"/api/v1/orders/{number}/"


def events_url(number: str = "SO-1001") -> str:
    return f"/api/v1/orders/{number}/events/"


def order_body(**changes) -> dict:
    """A valid PUT body: lines 2 × 99.50 + 1 × 0.99 = 199.99, + 10.00 shipping − 20.00 = 189.99."""
    body = {
        "channel": "app",
        "customer": {
            "external_id": "C-778",
            "name": "张伟",
            "phone": "13812348000",
            "email": "zhang.wei@example.com",
            "tier": "vip",
        },
        "currency": "CNY",
        "lines": [
            {
                "sku": "TEE-RED-M",
                "name": "T-shirt",
                "quantity": 2,
                "unit_price": "99.50",
                "category": "apparel",
            },
            {"sku": "STICKER", "name": "Sticker", "quantity": 1, "unit_price": "0.99"},
        ],
        "shipping_fee": "10.00",
        "discount": "20.00",
        "total": "189.99",
        "status": "pending_payment",
        "placed_at": T0.isoformat(),
        "shipping_address": {
            "name": "张伟",
            "phone": "13987654321",
            "province": "浙江省",
            "city": "杭州市",
            "district": "西湖区",
            "line1": "文三路 90 号 3 幢 501",
            "postcode": "310012",
        },
    }
    body.update(changes)
    return body


def assert_invalid(response, *fields: str) -> dict:
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "invalid"
    assert body["detail"]
    for field in fields:
        assert field in body["errors"], body
    return body


# --- PUT: create and replace ---------------------------------------------------------------------


def test_put_of_a_new_number_creates_the_order_with_201(storefront):
    response = storefront.put(order_url(), order_body(), format="json")

    assert response.status_code == 201, response.json()
    order = Order.objects.get(number="SO-1001")
    assert order.status == "pending_payment"
    assert order.channel == "app"
    assert order.placed_at == T0
    assert (order.lines_total, order.shipping_fee, order.discount, order.total) == (
        Decimal("199.99"),
        Decimal("10.00"),
        Decimal("20.00"),
        Decimal("189.99"),
    )
    assert [(line.sku, line.quantity, line.unit_price) for line in order.lines.all()] == [
        ("TEE-RED-M", 2, Decimal("99.50")),
        ("STICKER", 1, Decimal("0.99")),
    ]
    assert order.customer.external_id == "C-778"
    assert order.customer.tier == "vip"
    assert list(order.events.values_list("type", "actor_kind", "actor_label")) == [
        ("created", "api_key", "storefront")
    ]
    assert response.json()["number"] == "SO-1001"
    assert response.json()["total"] == "189.99"


def test_put_of_a_known_number_replaces_the_order_with_200(storefront):
    storefront.put(order_url(), order_body(), format="json")
    lines = [
        {"sku": "TEE-RED-M", "name": "T-shirt", "quantity": 1, "unit_price": "99.50"},
        {"sku": "CAP", "name": "Cap", "quantity": 3, "unit_price": "30.00"},
    ]

    response = storefront.put(
        order_url(),
        order_body(lines=lines, shipping_fee="0.00", discount="0.00", total="189.50"),
        format="json",
    )

    assert response.status_code == 200, response.json()
    assert Order.objects.count() == 1
    order = Order.objects.get(number="SO-1001")
    assert order.total == Decimal("189.50")
    assert order.lines_total == Decimal("189.50")
    assert sorted(order.lines.values_list("sku", "quantity")) == [("CAP", 3), ("TEE-RED-M", 1)]
    replaced = order.events.get(type="replaced")
    assert set(replaced.payload["changed"]) >= {"lines_total", "shipping_fee", "discount", "total"}
    assert Customer.objects.count() == 1


def test_put_with_a_total_that_does_not_add_up_is_400_naming_total(storefront):
    response = storefront.put(order_url(), order_body(total="190.00"), format="json")

    body = assert_invalid(response, "total")
    assert "189.99" in body["errors"]["total"][0]
    assert not Order.objects.exists()


def test_replace_with_a_total_that_does_not_add_up_changes_nothing(storefront):
    storefront.put(order_url(), order_body(), format="json")
    order = Order.objects.get(number="SO-1001")
    before = order_state(order)

    response = storefront.put(order_url(), order_body(shipping_fee="0.00"), format="json")

    assert_invalid(response, "total")
    assert order_state(order) == before


def test_a_discount_larger_than_lines_and_shipping_is_400_naming_discount(storefront):
    response = storefront.put(
        order_url(), order_body(discount="210.00", total="0.00"), format="json"
    )

    body = assert_invalid(response, "discount")
    assert "total" not in body["errors"]
    assert not Order.objects.exists()


def test_a_discount_equal_to_lines_and_shipping_makes_a_free_order(storefront):
    response = storefront.put(
        order_url(), order_body(discount="209.99", total="0.00"), format="json"
    )

    assert response.status_code == 201, response.json()
    assert Order.objects.get().total == Decimal("0.00")


def test_the_same_sku_twice_is_400_naming_lines(storefront):
    line = {"sku": "TEE-RED-M", "name": "T-shirt", "quantity": 1, "unit_price": "99.50"}

    response = storefront.put(
        order_url(), order_body(lines=[line, line], total="189.00"), format="json"
    )

    assert_invalid(response, "lines")
    assert not Order.objects.exists()


def test_amounts_are_stored_as_decimals_and_returned_as_decimal_strings(storefront):
    lines = [{"sku": "PEN", "name": "Pen", "quantity": 3, "unit_price": "0.10"}]

    response = storefront.put(
        order_url(),
        order_body(lines=lines, shipping_fee="0.20", discount="0", total="0.50"),
        format="json",
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    for field in ("lines_total", "shipping_fee", "discount", "total", "paid_amount"):
        assert isinstance(body[field], str), field
    assert (body["lines_total"], body["shipping_fee"], body["discount"], body["total"]) == (
        "0.30",
        "0.20",
        "0.00",
        "0.50",
    )
    assert body["lines"][0]["unit_price"] == "0.10"
    assert body["lines"][0]["line_total"] == "0.30"
    order = Order.objects.get()
    assert isinstance(order.total, Decimal)
    assert order.total == Decimal("0.50")


def test_amounts_sent_as_json_numbers_are_read_as_decimals_not_floats(storefront):
    # 3 × 0.1 + 0.2 is 0.5000000000000001 in floating point: a float would fail the check.
    lines = [{"sku": "PEN", "name": "Pen", "quantity": 3, "unit_price": 0.1}]

    response = storefront.put(
        order_url(), order_body(lines=lines, shipping_fee=0.2, discount=0, total=0.5), format="json"
    )

    assert response.status_code == 201, response.json()
    assert response.json()["total"] == "0.50"


def test_replace_asking_for_a_status_the_lifecycle_refuses_is_409_and_changes_nothing(
    storefront,
):
    storefront.put(order_url(), order_body(), format="json")
    order = Order.objects.get(number="SO-1001")
    before = order_state(order)
    lines = [{"sku": "CAP", "name": "Cap", "quantity": 1, "unit_price": "199.99"}]

    response = storefront.put(
        order_url(),
        order_body(
            status="shipped",
            lines=lines,
            customer={"external_id": "C-778", "name": "李娜", "phone": "13900000000"},
        ),
        format="json",
    )

    assert response.status_code == 409, response.json()
    assert response.json()["code"] == "invalid_transition"
    assert response.json()["allowed"] == ["paid", "cancelled", "closed"]
    assert order_state(order) == before


INVALID_BODIES = {
    "empty object": {},
    "a list": [order_body()],
    "a string": "SO-1001",
    "no lines": order_body(lines=[]),
    "lines not a list": order_body(lines={"sku": "A"}),
    "line not an object": order_body(lines=["TEE-RED-M"]),
    "line without sku": order_body(lines=[{"name": "T", "quantity": 1, "unit_price": "1"}]),
    "quantity 0": order_body(
        lines=[{"sku": "A", "name": "A", "quantity": 0, "unit_price": "1"}], total="11"
    ),
    "quantity not a number": order_body(
        lines=[{"sku": "A", "name": "A", "quantity": "two", "unit_price": "1"}]
    ),
    "negative price": order_body(
        lines=[{"sku": "A", "name": "A", "quantity": 1, "unit_price": "-1.00"}], total="-11"
    ),
    "price with three decimals": order_body(
        lines=[{"sku": "A", "name": "A", "quantity": 1, "unit_price": "1.005"}]
    ),
    "price NaN": order_body(lines=[{"sku": "A", "name": "A", "quantity": 1, "unit_price": "NaN"}]),
    "price Infinity": order_body(
        lines=[{"sku": "A", "name": "A", "quantity": 1, "unit_price": "Infinity"}]
    ),
    "total not a number": order_body(total="abc"),
    "total missing": {k: v for k, v in order_body().items() if k != "total"},
    "total too large": order_body(total="100000000000.00"),
    "negative shipping": order_body(shipping_fee="-10.00", total="169.99"),
    "unknown channel": order_body(channel="fax"),
    "unknown status": order_body(status="lost_in_space"),
    "currency lower case": order_body(currency="cny"),
    "placed_at not a time": order_body(placed_at="yesterday"),
    "customer missing": {k: v for k, v in order_body().items() if k != "customer"},
    "customer a string": order_body(customer="C-778"),
    "customer without external_id": order_body(customer={"name": "张伟"}),
    "customer e-mail invalid": order_body(customer={"external_id": "C-1", "email": "not-mail"}),
    "customer tier unknown": order_body(customer={"external_id": "C-1", "tier": "platinum"}),
    "NUL in a sku": order_body(
        lines=[{"sku": "A\x00", "name": "A", "quantity": 1, "unit_price": "199.99"}]
    ),
    "address a list": order_body(shipping_address=["浙江省"]),
    "sku too long": order_body(
        lines=[{"sku": "A" * 65, "name": "A", "quantity": 1, "unit_price": "199.99"}]
    ),
    # Each amount fits its column, but 2 × 9 999 999 999.99 of lines does not.
    "lines total beyond any order": order_body(
        lines=[{"sku": "A", "name": "A", "quantity": 2, "unit_price": "9999999999.99"}],
        shipping_fee="0",
        discount="9999999999.99",
        total="9999999999.99",
    ),
}


@pytest.mark.parametrize("body", INVALID_BODIES.values(), ids=INVALID_BODIES.keys())
def test_an_invalid_body_is_400_with_field_errors_never_500(storefront, body):
    response = storefront.put(order_url(), body, format="json")

    assert_invalid(response)
    assert not Order.objects.exists()


def test_a_body_that_is_not_json_is_400(storefront):
    response = storefront.put(order_url(), "{not json", content_type="application/json")

    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"


def test_an_order_number_longer_than_stored_numbers_is_400_naming_number(storefront):
    response = storefront.put(order_url("SO-" + "9" * 40), order_body(), format="json")

    assert_invalid(response, "number")
    assert not Order.objects.exists()


@pytest.mark.parametrize("number", ["SO-\x00", "SO-" + "9" * 40])
def test_a_number_that_no_order_can_have_is_404_on_get_and_events(storefront, number):
    assert storefront.get(order_url(number)).status_code == 404
    response = storefront.post(
        events_url(number), {"type": "processing", "at": T0.isoformat()}, format="json"
    )
    assert response.status_code == 404


# --- GET -----------------------------------------------------------------------------------------


def test_get_returns_the_order_with_lines_payments_shipments_exceptions_and_timeline(storefront):
    order = OrderFactory(status="shipped", lines=2, placed_at=T0)
    shipment = ShipmentFactory(order=order)
    OrderEventFactory(order=order, type="created")
    OrderException.objects.create(order=order, type="logistics_delayed", detected_at=T0)

    response = storefront.get(order_url(order.number))

    assert response.status_code == 200
    body = response.json()
    assert body["number"] == order.number
    assert body["status"] == "shipped"
    assert body["allowed_next_statuses"] == ["delivered"]
    assert [line["sku"] for line in body["lines"]] == ["SKU-001", "SKU-002"]
    assert body["shipments"][0]["tracking_number"] == shipment.tracking_number
    assert [e["type"] for e in body["exceptions"]] == ["logistics_delayed"]
    assert [e["type"] for e in body["timeline"]] == ["created"]
    assert body["payments"] == []
    assert body["placed_at"] == "2026-03-02T10:00:00+08:00"


def test_get_masks_the_customers_phone_and_e_mail_and_gives_the_address_to_district_level(
    storefront,
):
    customer = CustomerFactory(phone="13812348000", email="zhang.wei@example.com")
    order = OrderFactory(
        customer=customer,
        shipping_address={
            "name": "张伟",
            "phone": "13987654321",
            "province": "浙江省",
            "city": "杭州市",
            "district": "西湖区",
            "line1": "文三路 90 号 3 幢 501",
            "postcode": "310012",
        },
    )

    response = storefront.get(order_url(order.number))

    body = response.json()
    assert body["customer"]["phone"] == "138****8000"
    assert body["customer"]["email"] == "z***@example.com"
    assert body["shipping_address"] == {
        "name": "张*",
        "phone": "139****4321",
        "province": "浙江省",
        "city": "杭州市",
        "district": "西湖区",
    }
    raw = response.content.decode()
    for secret in ("13812348000", "13987654321", "zhang.wei", "文三路", "310012"):
        assert secret not in raw


def test_get_of_an_unknown_order_is_404_with_an_error_body(storefront):
    response = storefront.get(order_url("SO-404"))

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert response.json()["detail"]


# --- POST events ---------------------------------------------------------------------------------

AT = T0 + timedelta(hours=2)


def post_event(client, number: str, type: str, at: datetime = AT, **fields):
    return client.post(events_url(number), {"type": type, "at": at.isoformat(), **fields}, "json")


def test_paid_event_records_a_succeeded_payment_and_moves_the_order_to_paid(storefront):
    order = OrderFactory(placed_at=T0)

    response = post_event(
        storefront,
        order.number,
        "paid",
        amount=str(order.total),
        method="wechat_pay",
        transaction_id="WX-1",
    )

    assert response.status_code == 201, response.json()
    assert response.json()["order"] == order.number
    assert response.json()["order_status"] == "paid"
    assert response.json()["event"]["type"] == "paid"
    payment = Payment.objects.get(order=order)
    assert (payment.amount, payment.method, payment.transaction_id, payment.status) == (
        order.total,
        "wechat_pay",
        "WX-1",
        "succeeded",
    )
    assert payment.at == AT
    order.refresh_from_db()
    assert (order.status, order.paid_amount, order.paid_at) == ("paid", payment.amount, AT)


def test_payment_failed_event_records_a_failed_payment_and_keeps_the_order_pending(storefront):
    order = OrderFactory(placed_at=T0)

    response = post_event(
        storefront, order.number, "payment_failed", amount=str(order.total), reason="card declined"
    )

    assert response.status_code == 201, response.json()
    payment = Payment.objects.get(order=order)
    assert (payment.status, payment.failure_reason) == ("failed", "card declined")
    order.refresh_from_db()
    assert (order.status, order.paid_amount) == ("pending_payment", Decimal("0.00"))


def test_payment_failed_event_on_a_paid_order_is_409(storefront):
    order = OrderFactory(status="paid", placed_at=T0)
    before = order_state(order)

    response = post_event(storefront, order.number, "payment_failed", reason="late notice")

    assert response.status_code == 409
    assert order_state(order) == before


@pytest.mark.parametrize(
    ("current", "type", "expected"),
    [
        ("paid", "processing", "processing"),
        ("shipped", "delivered", "delivered"),
        ("delivered", "completed", "completed"),
        ("processing", "cancelled", "cancelled"),
        ("completed", "closed", "closed"),
    ],
)
def test_status_events_move_the_order(storefront, current, type, expected):
    order = OrderFactory(status=current, placed_at=T0)

    response = post_event(storefront, order.number, type)

    assert response.status_code == 201, response.json()
    order.refresh_from_db()
    assert order.status == expected


def test_shipped_event_records_the_shipment_and_its_first_tracking_event(storefront):
    order = OrderFactory(status="processing", placed_at=T0)

    response = post_event(
        storefront, order.number, "shipped", carrier="ZTO", tracking_number="ZTO7788"
    )

    assert response.status_code == 201, response.json()
    shipment = Shipment.objects.get(order=order)
    assert (shipment.carrier, shipment.tracking_number, shipment.status) == (
        "ZTO",
        "ZTO7788",
        "in_transit",
    )
    assert shipment.shipped_at == shipment.last_update_at == AT
    assert list(shipment.events.values_list("status", flat=True)) == ["in_transit"]
    order.refresh_from_db()
    assert (order.status, order.shipped_at) == ("shipped", AT)


def test_delivered_event_marks_the_shipments_delivered(storefront):
    order = OrderFactory(status="shipped", placed_at=T0)
    shipment = ShipmentFactory(order=order, shipped_at=T0)

    post_event(storefront, order.number, "delivered")

    shipment.refresh_from_db()
    assert (shipment.status, shipment.delivered_at) == ("delivered", AT)


def test_logistics_update_event_records_a_tracking_event_and_the_parcels_status(storefront):
    order = OrderFactory(status="shipped", placed_at=T0)
    shipment = ShipmentFactory(order=order, shipped_at=T0)

    response = post_event(
        storefront, order.number, "logistics_update", status="delayed", description="Typhoon"
    )

    assert response.status_code == 201, response.json()
    shipment.refresh_from_db()
    assert (shipment.status, shipment.last_update_at) == ("delayed", AT)
    tracking = ShipmentEvent.objects.get(shipment=shipment)
    assert (tracking.status, tracking.description, tracking.at) == ("delayed", "Typhoon", AT)
    order.refresh_from_db()
    assert order.status == "shipped"


def test_logistics_update_for_an_order_without_shipment_is_409(storefront):
    order = OrderFactory(status="paid", placed_at=T0)

    response = post_event(storefront, order.number, "logistics_update", status="in_transit")

    assert response.status_code == 409
    assert response.json()["code"] == "no_shipment"
    assert not OrderEvent.objects.filter(order=order).exists()


@pytest.mark.parametrize(
    ("status", "type", "fields", "missing"),
    [
        ("pending_payment", "paid", {"method": "alipay"}, "amount"),
        ("pending_payment", "paid", {"amount": ""}, "amount"),
        ("paid", "shipped", {"tracking_number": "SF1"}, "carrier"),
        ("paid", "shipped", {"carrier": "SF Express"}, "tracking_number"),
        ("paid", "shipped", {}, "carrier"),
        ("shipped", "logistics_update", {"description": "Left the hub"}, "status"),
    ],
)
def test_an_event_without_the_fields_its_type_requires_is_400_naming_them(
    storefront, status, type, fields, missing
):
    order = OrderFactory(status=status, placed_at=T0)
    before = order_state(order)

    response = post_event(storefront, order.number, type, **fields)

    assert_invalid(response, missing)
    assert order_state(order) == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"type": "teleported", "at": AT.isoformat()}, "type"),
        ({"type": "created", "at": AT.isoformat()}, "type"),
        ({"type": "processing"}, "at"),
        ({"type": "processing", "at": "soon"}, "at"),
        ({"type": "paid", "at": AT.isoformat(), "amount": "-1.00"}, "amount"),
        ({"type": "paid", "at": AT.isoformat(), "amount": "lots"}, "amount"),
        ({"type": "logistics_update", "at": AT.isoformat(), "status": "teleported"}, "status"),
        ({"type": "logistics_update", "at": AT.isoformat(), "status": "delivered"}, "status"),
    ],
)
def test_an_invalid_event_is_400_naming_the_field(storefront, body, field):
    order = OrderFactory(status="paid", placed_at=T0)

    response = storefront.post(events_url(order.number), body, format="json")

    assert_invalid(response, field)


def test_an_event_for_an_unknown_order_is_404(storefront):
    response = post_event(storefront, "SO-404", "paid", amount="10.00")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert not OrderEvent.objects.exists()


# --- Replays -------------------------------------------------------------------------------------


def counts(order: Order) -> dict[str, int]:
    return {
        "events": OrderEvent.objects.filter(order=order).count(),
        "payments": Payment.objects.filter(order=order).count(),
        "shipments": Shipment.objects.filter(order=order).count(),
        "shipment_events": ShipmentEvent.objects.filter(shipment__order=order).count(),
        "exceptions": OrderException.objects.filter(order=order).count(),
    }


REPLAYED = [
    ("pending_payment", {"type": "paid", "amount": "109.00", "method": "alipay"}),
    ("pending_payment", {"type": "paid", "amount": "99.00"}),  # amount_mismatch raised once
    ("pending_payment", {"type": "payment_failed", "reason": "insufficient funds"}),
    ("paid", {"type": "shipped", "carrier": "SF Express", "tracking_number": "SF9"}),
    ("shipped", {"type": "logistics_update", "status": "lost", "description": "Missing"}),
    ("shipped", {"type": "delivered"}),
]


@pytest.mark.parametrize(
    ("status", "event"), REPLAYED, ids=[f"{e['type']}-{i}" for i, (_, e) in enumerate(REPLAYED)]
)
def test_a_replayed_event_is_acknowledged_with_200_and_recorded_once(storefront, status, event):
    order = OrderFactory(status=status, placed_at=T0)  # total 99.00 + 10.00 = 109.00
    if status == "shipped":
        ShipmentFactory(order=order)
    body = {**event, "at": AT.isoformat()}

    first = storefront.post(events_url(order.number), body, format="json")
    after_first = counts(order)
    second = storefront.post(events_url(order.number), body, format="json")

    assert first.status_code == 201, first.json()
    assert second.status_code == 200, second.json()
    assert second.json() == first.json()
    assert counts(order) == after_first
    assert OrderEvent.objects.filter(order=order, type=event["type"]).count() == 1


def test_a_replay_after_the_order_moved_on_is_still_acknowledged_not_refused(storefront):
    order = OrderFactory(placed_at=T0)
    paid = {"type": "paid", "at": AT.isoformat(), "amount": str(order.total)}
    storefront.post(events_url(order.number), paid, format="json")
    post_event(storefront, order.number, "shipped", carrier="SF", tracking_number="SF1")

    response = storefront.post(events_url(order.number), paid, format="json")

    assert response.status_code == 200, response.json()
    assert Payment.objects.filter(order=order).count() == 1
    order.refresh_from_db()
    assert order.status == "shipped"


def test_a_replay_that_writes_the_amount_differently_is_the_same_event(storefront):
    order = OrderFactory(placed_at=T0)
    amount = order.total.normalize()  # 109 rather than 109.00

    first = post_event(storefront, order.number, "paid", amount=str(order.total))
    second = post_event(storefront, order.number, "paid", amount=f"{amount:f}")

    assert (first.status_code, second.status_code) == (201, 200)
    assert Payment.objects.filter(order=order).count() == 1


def test_the_same_type_at_another_time_is_a_new_event(storefront):
    order = OrderFactory(status="shipped", placed_at=T0)
    shipment = ShipmentFactory(order=order, shipped_at=T0)

    first = post_event(storefront, order.number, "logistics_update", at=AT, status="in_transit")
    second = post_event(
        storefront,
        order.number,
        "logistics_update",
        at=AT + timedelta(hours=1),
        status="in_transit",
    )

    assert (first.status_code, second.status_code) == (201, 201)
    assert OrderEvent.objects.filter(order=order, type="logistics_update").count() == 2
    assert shipment.events.count() == 2
    shipment.refresh_from_db()
    assert shipment.last_update_at == AT + timedelta(hours=1)


def test_the_same_type_and_time_with_another_payload_is_a_new_event(storefront):
    order = OrderFactory(status="shipped", placed_at=T0)
    ShipmentFactory(order=order, shipped_at=T0)

    first = post_event(storefront, order.number, "logistics_update", status="in_transit")
    second = post_event(
        storefront, order.number, "logistics_update", status="in_transit", description="Hub B"
    )

    assert (first.status_code, second.status_code) == (201, 201)
    assert OrderEvent.objects.filter(order=order, type="logistics_update").count() == 2


def test_a_second_paid_event_at_another_time_is_a_new_event_the_lifecycle_refuses(storefront):
    order = OrderFactory(placed_at=T0)
    post_event(storefront, order.number, "paid", amount=str(order.total))

    response = post_event(
        storefront, order.number, "paid", at=AT + timedelta(minutes=1), amount=str(order.total)
    )

    assert response.status_code == 409
    assert response.json()["allowed"] == ["processing", "shipped", "delivered", "cancelled"]
    assert Payment.objects.filter(order=order).count() == 1


def test_a_refused_event_is_not_recorded_so_its_replay_is_refused_again(storefront):
    order = OrderFactory(status="cancelled", placed_at=T0)

    first = post_event(storefront, order.number, "paid", amount=str(order.total))
    second = post_event(storefront, order.number, "paid", amount=str(order.total))

    assert (first.status_code, second.status_code) == (409, 409)
    assert not OrderEvent.objects.filter(order=order).exists()


def test_the_database_refuses_two_events_with_the_same_fingerprint_on_one_order():
    order = OrderFactory(placed_at=T0)
    OrderEventFactory(order=order, type="paid", fingerprint="f" * 64)

    with pytest.raises(IntegrityError), transaction.atomic():
        OrderEventFactory(order=order, type="paid", fingerprint="f" * 64)

    OrderEventFactory(order=OrderFactory(placed_at=T0), type="paid", fingerprint="f" * 64)
    OrderEventFactory(order=order, type="status_changed", fingerprint=None)
    OrderEventFactory(order=order, type="status_changed", fingerprint=None)


@pytest.mark.postgres(reason="requests in threads race for one order's row lock")
@pytest.mark.django_db(transaction=True)
def test_the_same_event_sent_concurrently_is_recorded_once():
    order = OrderFactory(placed_at=T0)
    _, key = storefront_api_key()
    body = {"type": "paid", "at": AT.isoformat(), "amount": str(order.total)}
    senders = 6

    def send(_n: int) -> int:
        # Each thread has its own client and its own database connection.
        client = APIClient()
        client.credentials(**api_key_header(key))
        return client.post(events_url(order.number), body, format="json").status_code

    statuses = run_at_once(senders, send)

    assert sorted(statuses) == [200] * (senders - 1) + [201]
    assert Payment.objects.filter(order=order).count() == 1
    assert OrderEvent.objects.filter(order=order, type="paid").count() == 1
    order.refresh_from_db()
    assert (order.status, order.paid_amount) == ("paid", order.total)


@pytest.mark.parametrize("moment", ["0003-01-01T00:00:00+08:00", "2100-01-01T00:00:00Z"])
def test_an_order_placed_outside_the_years_2000_to_2099_is_refused(storefront, moment):
    response = storefront.put(order_url(), order_body(placed_at=moment), format="json")

    assert response.status_code == 400
    assert response.json()["errors"]["placed_at"] == ["Give a moment in the years 2000–2099."]
    assert not Order.objects.filter(number="SO-1001").exists()


def test_an_event_dated_before_2000_is_refused(storefront):
    order = OrderFactory(placed_at=T0)

    response = post_event(
        storefront, order.number, "paid", at=datetime(1999, 12, 31, tzinfo=UTC), amount="1.00"
    )

    assert response.status_code == 400
    assert "at" in response.json()["errors"]
    assert not OrderEvent.objects.filter(order=order, type="paid").exists()


@pytest.mark.postgres(reason="requests in threads race to insert one order number")
@pytest.mark.django_db(transaction=True)
def test_the_same_new_order_put_concurrently_is_created_once_and_replaced_by_the_others():
    _, key = storefront_api_key()

    def put(_n: int) -> int:
        client = APIClient()
        client.credentials(**api_key_header(key))
        return client.put(order_url(), order_body(), format="json").status_code

    assert sorted(run_at_once(6, put)) == [200] * 5 + [201]
    order = Order.objects.get(number="SO-1001")
    assert order.lines.count() == 2
    assert Customer.objects.filter(external_id="C-778").count() == 1
    assert OrderEvent.objects.filter(order=order, type="created").count() == 1


@pytest.mark.postgres(reason="requests in threads race to insert one order number")
@pytest.mark.django_db(transaction=True)
def test_two_storefronts_putting_the_same_new_number_at_once_one_gets_it_the_other_404():
    from tests.factories import StorefrontFactory

    keys = [storefront_api_key()[1], storefront_api_key(storefront=StorefrontFactory())[1]]

    def put(n: int) -> int:
        client = APIClient()
        client.credentials(**api_key_header(keys[n]))
        return client.put(order_url(), order_body(), format="json").status_code

    assert sorted(run_at_once(2, put)) == [201, 404]
    assert Order.objects.filter(number="SO-1001").count() == 1


def test_order_lines_of_other_orders_are_untouched_by_a_replace(storefront):
    other = OrderFactory(lines=2)
    storefront.put(order_url(), order_body(), format="json")

    storefront.put(order_url(), order_body(lines=order_body()["lines"][:1], total="189.00"), "json")

    assert OrderLine.objects.filter(order=other).count() == 2
    assert OrderLine.objects.filter(order__number="SO-1001").count() == 1
