"""What a storefront sync (PUT) implies beyond the fields it sends."""

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from csplatform.actors import Actor
from csplatform.models import Storefront
from csplatform.privacy import mask_phone
from orders.choices import ExceptionType, OrderEventType, OrderStatus, PaymentStatus
from orders.models import OrderEvent
from orders.services import (
    LineInput,
    order_event_record,
    order_exception_raise,
    order_upsert,
    orders_cancel_unpaid,
)

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 5, 4, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
STOREFRONT = Actor(kind="api_key", label="shop")


def put(number="SO-7001", status=OrderStatus.PENDING_PAYMENT, quantity=1, now=T0):
    return order_upsert(
        storefront=Storefront.default(),
        number=number,
        customer={"external_id": "C-7", "name": "赵敏", "phone": "13700001111"},
        channel="app",
        currency="CNY",
        lines=[LineInput(sku="S1", name="保温杯", quantity=quantity, unit_price=Decimal("59.00"))],
        shipping_fee=Decimal("0"),
        discount=Decimal("0"),
        total=Decimal("59.00") * quantity,
        status=status,
        placed_at=T0,
        shipping_address={},
        actor=STOREFRONT,
        now=now,
    )


def test_an_order_that_arrives_already_paid_counts_its_total_as_paid():
    order, created = put(status=OrderStatus.SHIPPED)
    assert created
    assert order.paid_amount == order.total == Decimal("59.00")
    payment = order.payments.get()
    assert (payment.amount, payment.status) == (Decimal("59.00"), PaymentStatus.SUCCEEDED)
    assert order.refundable_amount == Decimal("59.00")


def test_an_unpaid_order_that_arrives_has_paid_nothing():
    order, _ = put()
    assert order.paid_amount == Decimal("0")
    assert not order.payments.exists()


def test_a_put_that_changes_nothing_writes_no_timeline_event():
    order, _ = put()
    put(now=T0 + timedelta(minutes=5))
    assert not OrderEvent.objects.filter(order=order, type=OrderEventType.REPLACED).exists()


def test_a_put_that_changes_a_line_records_which_fields_changed():
    order, _ = put()
    put(quantity=2, now=T0 + timedelta(minutes=5))
    event = OrderEvent.objects.get(order=order, type=OrderEventType.REPLACED)
    assert event.payload["changed"] == ["lines", "lines_total", "total"]


def test_shipping_by_put_resolves_shipping_overdue():
    order, _ = put(status=OrderStatus.PAID)
    order_exception_raise(order=order, type=ExceptionType.SHIPPING_OVERDUE, now=T0)
    put(status=OrderStatus.SHIPPED, now=T0 + timedelta(days=2))
    assert not order.exceptions.open().exists()


def test_cancelling_an_unpaid_order_resolves_its_payment_failure():
    order, _ = put()
    order_event_record(
        number=order.number,
        type="payment_failed",
        at=T0 + timedelta(minutes=1),
        payload={"reason": "余额不足"},
        actor=STOREFRONT,
        now=T0 + timedelta(minutes=1),
    )
    assert order.exceptions.open().filter(type=ExceptionType.PAYMENT_FAILED).exists()
    assert orders_cancel_unpaid(now=T0 + timedelta(minutes=30)) == 1
    assert not order.exceptions.open().exists()


def test_a_payment_failure_on_a_paid_order_is_refused_as_a_state_conflict():
    from csplatform.errors import ConflictError

    order, _ = put(status=OrderStatus.PAID)
    with pytest.raises(ConflictError) as refused:
        order_event_record(
            number=order.number,
            type="payment_failed",
            at=T0,
            payload={},
            actor=STOREFRONT,
            now=T0,
        )
    assert refused.value.code == "invalid_state"


@pytest.mark.parametrize("phone", ["+86 138 1234 8000", "8613812348000", "138-1234-8000"])
def test_a_mainland_mobile_number_is_masked_the_same_with_or_without_country_code(phone):
    assert mask_phone(phone) == "138****8000"


def test_totals_that_do_not_add_up_in_floating_point_are_accepted_on_every_database():
    # 59.90 + 8.00 - 5.00 is 62.900000000000006 in floating point (SQLite's arithmetic).
    order, _ = order_upsert(
        storefront=Storefront.default(),
        number="SO-7002",
        customer={"external_id": "C-8"},
        channel="web",
        currency="CNY",
        lines=[LineInput(sku="S1", name="杯子", quantity=1, unit_price=Decimal("59.90"))],
        shipping_fee=Decimal("8.00"),
        discount=Decimal("5.00"),
        total=Decimal("62.90"),
        status=OrderStatus.PENDING_PAYMENT,
        placed_at=T0,
        shipping_address={},
        actor=STOREFRONT,
        now=T0,
    )
    order.refresh_from_db()
    assert order.total == Decimal("62.90")
