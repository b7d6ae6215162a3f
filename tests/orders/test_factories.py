"""The shared factories build rows the database accepts, consistent with their status."""

from decimal import Decimal

import pytest

from csplatform.roles import role_of
from orders.choices import OrderStatus
from orders.models import Order
from tests.factories import (
    OrderExceptionFactory,
    OrderFactory,
    OrderLineFactory,
    PaymentFactory,
    ShipmentEventFactory,
    admin_user,
    agent_user,
    demo_user,
    order_lines_add,
    supervisor_user,
)

pytestmark = pytest.mark.django_db


def test_an_order_total_adds_up_from_its_lines_shipping_and_discount():
    order = OrderFactory(
        lines=[{"unit_price": "12.50", "quantity": 2}, {"unit_price": "5"}],
        shipping_fee=Decimal("8.00"),
        discount=Decimal("3.00"),
    )

    assert order.lines.count() == 2
    assert order.lines_total == Decimal("30.00")
    assert order.total == Decimal("35.00")


def test_lines_added_later_keep_the_total_adding_up():
    order = OrderFactory(lines=1)

    order_lines_add(order, [{"unit_price": "1.01", "quantity": 3}])

    stored = Order.objects.get(pk=order.pk)
    assert [line.sku for line in stored.lines.all()] == ["SKU-001", "SKU-002"]
    assert stored.total == stored.lines_total + stored.shipping_fee - stored.discount
    assert stored.lines_total == Decimal("102.03")


@pytest.mark.parametrize("status", OrderStatus.values)
def test_an_order_built_in_a_status_carries_the_timestamps_of_the_stages_passed(status):
    order = OrderFactory(status=status)

    assert (order.paid_at is not None) == (
        status in {"paid", "processing", "shipped", "delivered", "completed"}
    )
    assert (order.shipped_at is not None) == (status in {"shipped", "delivered", "completed"})
    assert (order.cancelled_at is not None) == (status == "cancelled")
    assert (order.closed_at is not None) == (status == "closed")


def test_the_other_order_factories_build_valid_rows():
    OrderLineFactory()
    PaymentFactory()
    ShipmentEventFactory()
    OrderExceptionFactory()


@pytest.mark.parametrize(
    ("make_user", "role"),
    [(agent_user, "agent"), (supervisor_user, "supervisor"), (admin_user, "admin")],
)
def test_role_helpers_put_users_in_their_role_group(make_user, role):
    assert role_of(make_user()) == role


def test_a_demo_user_holds_a_role_and_the_demo_group():
    user = demo_user()

    assert sorted(user.groups.values_list("name", flat=True)) == ["agent", "demo"]
