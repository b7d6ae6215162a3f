"""The order lifecycle: every allowed and every refused transition, in the service and the API.

The expected table is written out here from the issue, not read from ``orders.transitions``:
pending_payment → paid → processing → shipped → delivered → completed, where a paid order may
ship without a separate processing step, and a paid or processing order may be reported
delivered without a separate shipped step (the live-stream manual: "从已支付更新为已发货或已签收");
cancelled from pending_payment, paid or processing;
closed from pending_payment (an unpaid order closed), delivered, completed and cancelled;
closed is final and no status moves to itself.
"""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import transaction

from csplatform.actors import Actor
from csplatform.api.errors import error_body, error_status
from orders.choices import OrderStatus
from orders.models import Order, OrderEvent
from orders.transitions import (
    OrderTransitionNotAllowed,
    allowed_next,
    check_transition,
    order_apply_transition,
)
from tests.factories import OrderFactory, order_state

STATUSES = [
    "pending_payment",
    "paid",
    "processing",
    "shipped",
    "delivered",
    "completed",
    "cancelled",
    "closed",
]
ALLOWED = {
    "pending_payment": {"paid", "cancelled", "closed"},
    "paid": {"processing", "shipped", "delivered", "cancelled"},
    "processing": {"shipped", "delivered", "cancelled"},
    "shipped": {"delivered"},
    "delivered": {"completed", "closed"},
    "completed": {"closed"},
    "cancelled": {"closed"},
    "closed": set(),
}
# The column each status stamps when the order enters it (processing stamps none).
STAMPED_COLUMN = {
    "paid": "paid_at",
    "shipped": "shipped_at",
    "delivered": "delivered_at",
    "completed": "completed_at",
    "cancelled": "cancelled_at",
    "closed": "closed_at",
}
TIMESTAMP_COLUMNS = sorted(STAMPED_COLUMN.values())

ALL_PAIRS = [(current, target) for current in STATUSES for target in STATUSES]
PAIR_IDS = [f"{current}->{target}" for current, target in ALL_PAIRS]

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
AT = T0 + timedelta(hours=3)  # when the change happened, as reported
NOW = AT + timedelta(seconds=7)  # when the platform records it


def is_allowed(current: str, target: str) -> bool:
    return target in ALLOWED[current]


def in_lifecycle_order(statuses) -> list[str]:
    """The statuses as a refusal and the API list them: in the order of the lifecycle."""
    return [status for status in STATUSES if status in statuses]


def test_the_lifecycle_has_exactly_the_eight_statuses_of_the_issue():
    assert sorted(OrderStatus.values) == sorted(STATUSES)


@pytest.mark.parametrize("status", STATUSES)
def test_allowed_next_lists_the_statuses_the_table_allows(status):
    assert allowed_next(status) == in_lifecycle_order(ALLOWED[status])


@pytest.mark.parametrize(("current", "target"), ALL_PAIRS, ids=PAIR_IDS)
def test_check_transition_allows_exactly_the_table(current, target):
    if is_allowed(current, target):
        check_transition(current, target)
        return
    with pytest.raises(OrderTransitionNotAllowed) as refused:
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
def test_applying_a_transition_moves_stamps_and_records_one_event_or_writes_nothing(
    current, target
):
    order = OrderFactory(status=current, placed_at=T0)
    before = order_state(order)

    with transaction.atomic():
        locked = Order.objects.select_for_update().get(pk=order.pk)
        if not is_allowed(current, target):
            with pytest.raises(OrderTransitionNotAllowed):
                order_apply_transition(
                    order=locked, target=target, at=AT, actor=Actor.system("test"), now=NOW
                )
        else:
            event = order_apply_transition(
                order=locked, target=target, at=AT, actor=Actor.system("test"), now=NOW
            )

    if not is_allowed(current, target):
        assert order_state(order) == before
        return

    order.refresh_from_db()
    assert order.status == target
    for column in TIMESTAMP_COLUMNS:
        expected = AT if column == STAMPED_COLUMN.get(target) else before["order"][column]
        assert getattr(order, column) == expected, column
    assert list(OrderEvent.objects.filter(order=order)) == [event]
    assert event.type == "status_changed"
    assert event.payload == {"from": current, "to": target}
    assert (event.at, event.recorded_at) == (AT, NOW)
    assert (event.actor_kind, event.actor_label) == ("system", "test")


# --- Through the storefront API ---------------------------------------------------------------


def lifecycle_event(order: Order, target: str) -> dict:
    """The storefront event that asks for ``target``, with the fields its type requires."""
    body = {"type": target, "at": AT.isoformat()}
    if target == "paid":
        body.update(amount=str(order.total), method="alipay", transaction_id="TX-42")
    if target == "shipped":
        body.update(carrier="SF Express", tracking_number="SF1234567890")
    return body


# Every target but pending_payment has an event type of the same name; nothing moves back to
# pending_payment, which only a PUT could ask for (covered below).
EVENT_PAIRS = [pair for pair in ALL_PAIRS if pair[1] != "pending_payment"]


@pytest.mark.parametrize(
    ("current", "target"), EVENT_PAIRS, ids=[f"{c}->{t}" for c, t in EVENT_PAIRS]
)
def test_lifecycle_event_is_applied_with_201_or_refused_with_409_listing_the_allowed(
    storefront, current, target
):
    order = OrderFactory(status=current, placed_at=T0)
    before = order_state(order)

    response = storefront.post(
        f"/api/v1/orders/{order.number}/events/", lifecycle_event(order, target), format="json"
    )

    if not is_allowed(current, target):
        assert response.status_code == 409, response.json()
        body = response.json()
        assert body["code"] == "invalid_transition"
        assert body["allowed"] == in_lifecycle_order(ALLOWED[current])
        assert body["current_status"] == current
        assert body["detail"]
        assert order_state(order) == before
        return

    assert response.status_code == 201, response.json()
    assert response.json()["order_status"] == target
    order.refresh_from_db()
    assert order.status == target
    if target in STAMPED_COLUMN:
        assert getattr(order, STAMPED_COLUMN[target]) == AT
    events = list(OrderEvent.objects.filter(order=order))
    assert len(events) == 1
    assert events[0].type == target
    assert events[0].payload["from"] == current
    assert events[0].payload["to"] == target
    assert events[0].actor_kind == "api_key"


def replacement(order: Order, status: str) -> dict:
    """The PUT body that repeats the stored order, asking for ``status``."""
    return {
        "channel": order.channel,
        "customer": {
            "external_id": order.customer.external_id,
            "name": order.customer.name,
            "phone": order.customer.phone,
            "email": order.customer.email,
        },
        "currency": order.currency,
        "lines": [
            {
                "sku": line.sku,
                "name": line.name,
                "quantity": line.quantity,
                "unit_price": str(line.unit_price),
                "category": line.category,
            }
            for line in order.lines.all()
        ],
        "shipping_fee": str(order.shipping_fee),
        "discount": str(order.discount),
        "total": str(order.total),
        "status": status,
        "placed_at": order.placed_at.isoformat(),
        "shipping_address": order.shipping_address,
    }


CHANGE_PAIRS = [(current, target) for current, target in ALL_PAIRS if current != target]


@pytest.mark.parametrize(
    ("current", "target"), CHANGE_PAIRS, ids=[f"{c}->{t}" for c, t in CHANGE_PAIRS]
)
def test_replacing_an_order_with_another_status_follows_the_same_table(storefront, current, target):
    order = OrderFactory(status=current, placed_at=T0)
    before = order_state(order)

    with time_machine.travel(NOW, tick=False):
        response = storefront.put(
            f"/api/v1/orders/{order.number}/", replacement(order, target), format="json"
        )

    if not is_allowed(current, target):
        assert response.status_code == 409, response.json()
        assert response.json()["code"] == "invalid_transition"
        assert response.json()["allowed"] == in_lifecycle_order(ALLOWED[current])
        assert order_state(order) == before
        return

    assert response.status_code == 200, response.json()
    order.refresh_from_db()
    assert order.status == target
    if target in STAMPED_COLUMN:
        assert getattr(order, STAMPED_COLUMN[target]) == NOW
    changes = list(OrderEvent.objects.filter(order=order, type="status_changed"))
    assert [event.payload for event in changes] == [{"from": current, "to": target}]


def test_replacing_an_order_with_its_own_status_is_not_a_transition(storefront):
    order = OrderFactory(status="pending_payment", placed_at=T0)

    response = storefront.put(
        f"/api/v1/orders/{order.number}/", replacement(order, "pending_payment"), format="json"
    )

    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "pending_payment"
    assert not OrderEvent.objects.filter(order=order, type="status_changed").exists()


# --- Delivered without a shipped report ---------------------------------------------------------


@pytest.mark.parametrize("status", ["paid", "processing"])
def test_an_order_reported_delivered_before_any_shipped_report_is_delivered_and_never_shipped(
    storefront, status
):
    order = OrderFactory(status=status, placed_at=T0)

    response = storefront.post(
        f"/api/v1/orders/{order.number}/events/", lifecycle_event(order, "delivered"), format="json"
    )

    assert response.status_code == 201, response.json()
    order.refresh_from_db()
    assert (order.status, order.delivered_at, order.shipped_at) == ("delivered", AT, None)
    assert not order.shipments.exists()
    event = OrderEvent.objects.get(order=order)
    assert (event.type, event.payload) == ("delivered", {"from": status, "to": "delivered"})
    shown = storefront.get(f"/api/v1/orders/{order.number}/").json()
    assert (shown["shipped_at"], shown["shipments"]) == (None, [])
    assert shown["allowed_next_statuses"] == ["completed", "closed"]


def test_an_order_delivered_without_shipping_completes_and_closes_like_any_delivered_one(
    storefront,
):
    order = OrderFactory(status="paid", placed_at=T0)
    for target in ("delivered", "completed", "closed"):
        response = storefront.post(
            f"/api/v1/orders/{order.number}/events/",
            lifecycle_event(order, target),
            format="json",
        )
        assert response.status_code == 201, (target, response.json())

    order.refresh_from_db()
    assert (order.status, order.shipped_at) == ("closed", None)
    assert order.delivered_at == order.completed_at == order.closed_at == AT
