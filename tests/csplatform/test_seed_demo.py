"""``manage.py seed_demo``: demo logins and believable orders, idempotent, never in production."""

from __future__ import annotations

import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from csplatform.roles import ADMIN, DEMO_GROUP, ROLES
from demo import orders as demo
from demo.management.commands.seed_demo import SEEDERS
from orders.choices import ExceptionType, OrderEventType, OrderStatus, PaymentStatus
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
from orders.transitions import STATUS_TIMESTAMP

pytestmark = pytest.mark.django_db

ORDERS = 60
User = get_user_model()
S = OrderStatus


def seed(orders: int = ORDERS, **options) -> str:
    """Orders only: the tickets seeder has its own tests (tests/tickets/test_seed_tickets.py)."""
    out = io.StringIO()
    call_command("seed_demo", orders=orders, stdout=out, **{"tickets": 0, **options})
    return out.getvalue()


def delete_aftercare_rows() -> None:
    """The rows the refunds, complaints and surveys seeders hang on orders and tickets (through
    protected foreign keys), deleted before a test deletes orders or tickets."""
    from complaints.models import Complaint
    from refunds.models import GatewayPayout, Refund, ReturnRequest
    from surveys.models import SurveyInvitation, SurveyResponse

    SurveyResponse.objects.all().delete()
    SurveyInvitation.objects.all().delete()
    GatewayPayout.objects.all().delete()
    Refund.objects.all().delete()
    ReturnRequest.objects.all().delete()
    Complaint.objects.all().delete()


def row_counts() -> dict[str, int]:
    models = (
        User,
        Customer,
        Order,
        OrderLine,
        Payment,
        Shipment,
        ShipmentEvent,
        OrderEvent,
        OrderException,
    )
    return {model.__name__: model.objects.count() for model in models}


def order_contents() -> dict[str, tuple]:
    """What an order is, apart from timestamps, which follow the clock of the run."""
    return {
        o.number: (o.customer.external_id, o.status, o.channel, o.total, o.shipping_address)
        for o in Order.objects.select_related("customer")
    }


def test_demo_users_log_in_with_demo_and_hold_their_role_and_the_demo_group():
    seed()

    for role in ROLES:
        user = User.objects.get(username=role)
        assert set(user.groups.values_list("name", flat=True)) == {role, DEMO_GROUP}
        assert authenticate(username=role, password="demo") == user
        assert user.first_name
        assert user.last_name


def test_only_the_demo_admin_is_staff_and_no_demo_user_is_superuser():
    seed()

    staff = set(User.objects.filter(is_staff=True).values_list("username", flat=True))
    assert staff == {ADMIN}
    assert not User.objects.filter(is_superuser=True).exists()


def test_a_changed_demo_password_survives_a_second_run():
    seed()
    agent = User.objects.get(username="agent")
    agent.set_password("changed-by-hand")
    agent.save()

    seed()

    assert authenticate(username="agent", password="changed-by-hand") == agent
    assert authenticate(username="agent", password="demo") is None


def test_an_existing_account_with_a_demo_name_is_not_turned_into_a_demo_login():
    real_admin = User.objects.create_user("admin", password="a-real-secret")

    output = seed()

    real_admin.refresh_from_db()
    assert not real_admin.groups.exists()
    assert not real_admin.is_staff
    assert real_admin.check_password("a-real-secret")
    assert "'admin' exists and is not a demo account" in output


def test_orders_cover_every_status():
    seed()

    assert set(Order.objects.values_list("status", flat=True)) == set(S.values)


def test_orders_are_numbered_from_so_1000001():
    seed()

    numbers = sorted(Order.objects.values_list("number", flat=True))
    assert numbers == [f"SO-{1_000_000 + k}" for k in range(1, ORDERS + 1)]


def test_about_one_customer_per_three_orders_and_every_customer_ordered():
    seed()

    assert Customer.objects.count() == ORDERS // 3
    assert not Customer.objects.filter(orders__isnull=True).exists()
    for customer in Customer.objects.all():
        assert len(customer.phone) == 11
        assert customer.phone.startswith("1")
        assert 2 <= len(customer.name) <= 4


def test_order_totals_add_up_from_their_lines():
    seed()

    for order in Order.objects.prefetch_related("lines"):
        lines = list(order.lines.all())
        assert 1 <= len(lines) <= 4
        assert order.lines_total == sum((line.line_total for line in lines), Decimal(0))
        assert order.total == order.lines_total + order.shipping_fee - order.discount
        assert order.shipping_fee in {Decimal(0), Decimal(8), Decimal(10), Decimal(12)}
        assert order.total.as_tuple().exponent == -2


def test_paid_orders_are_paid_in_full_once_and_unpaid_orders_not_at_all():
    seed()

    for order in Order.objects.prefetch_related("payments"):
        succeeded = [p for p in order.payments.all() if p.status == PaymentStatus.SUCCEEDED]
        assert order.refunded_amount == 0
        if order.paid_at is None:
            assert order.paid_amount == 0
            assert not succeeded
        else:
            assert order.paid_amount == order.total
            assert [p.amount for p in succeeded] == [order.total]
            assert succeeded[0].at == order.paid_at


def test_timestamps_follow_the_lifecycle_within_the_last_90_days():
    seed()
    now = timezone.now()

    for order in Order.objects.all():
        assert now - timedelta(days=90) <= order.placed_at <= now
        column = STATUS_TIMESTAMP.get(order.status)
        if column:
            assert getattr(order, column) is not None, order.number
        happened = [
            getattr(order, name)
            for name in ("placed_at", "paid_at", "shipped_at", "delivered_at", "completed_at")
            if getattr(order, name) is not None
        ]
        assert happened == sorted(happened), order.number
        assert all(moment <= now for moment in happened)
    unpaid = (S.PENDING_PAYMENT, S.CANCELLED)
    assert not Order.objects.filter(status__in=unpaid, paid_at__isnull=False).exists()
    assert not Order.objects.filter(status=S.SHIPPED, delivered_at__isnull=False).exists()


def test_orders_that_left_the_warehouse_have_a_tracked_shipment():
    seed()

    shipped = Order.objects.filter(shipped_at__isnull=False).prefetch_related("shipments__events")
    assert shipped.exists()
    for order in shipped:
        (shipment,) = order.shipments.all()
        assert shipment.tracking_number
        assert shipment.carrier
        assert shipment.shipped_at == order.shipped_at
        assert shipment.events.all()[0].at == order.shipped_at
        assert (shipment.delivered_at is not None) == (order.delivered_at is not None)
    assert not Shipment.objects.filter(order__shipped_at__isnull=True).exists()


def test_every_timeline_starts_with_created_and_records_each_status_change():
    seed()

    for order in Order.objects.prefetch_related("events"):
        events = list(order.events.all())
        assert events[0].type == OrderEventType.CREATED
        assert all(e.fingerprint is None and e.recorded_at >= e.at for e in events)
        reached = {e.payload["to"] for e in events if "to" in e.payload}
        assert order.status == S.PENDING_PAYMENT or order.status in reached


def test_open_exceptions_sit_only_on_orders_still_under_way_and_resolved_ones_after_detection():
    seed(orders=300)

    assert OrderException.objects.exists()
    still_under_way = {
        ExceptionType.PAYMENT_FAILED: {S.PENDING_PAYMENT},
        ExceptionType.SHIPPING_OVERDUE: {S.PAID, S.PROCESSING},
        ExceptionType.LOGISTICS_DELAYED: {S.SHIPPED},
        ExceptionType.PARCEL_LOST: {S.SHIPPED},
        ExceptionType.ADDRESS_PROBLEM: {S.SHIPPED},
    }
    for exception in OrderException.objects.open().select_related("order"):
        assert exception.order.status in still_under_way[exception.type]
    for exception in OrderException.objects.filter(resolved_at__isnull=False):
        assert exception.detected_at <= exception.resolved_at


def test_running_twice_creates_nothing_new():
    seed()
    before = row_counts()

    output = seed()

    assert row_counts() == before
    assert "created nothing" in output


def test_a_larger_count_adds_only_the_missing_orders():
    seed(orders=40)
    first = dict(Order.objects.values_list("number", "id"))

    seed(orders=ORDERS)

    assert Order.objects.count() == ORDERS
    assert dict(Order.objects.filter(number__in=first).values_list("number", "id")) == first
    assert Customer.objects.count() == ORDERS // 3


def test_an_order_is_the_same_whether_seeded_in_one_run_or_in_steps():
    seed(orders=40)
    seed(orders=ORDERS)
    in_steps = order_contents()
    delete_aftercare_rows()
    Order.objects.all().delete()
    Customer.objects.all().delete()

    seed(orders=ORDERS)

    assert order_contents() == in_steps


def test_another_seed_gives_other_orders():
    seed(seed=1)
    first = order_contents()
    delete_aftercare_rows()
    Order.objects.all().delete()
    Customer.objects.all().delete()

    seed(seed=2)

    assert order_contents() != first


def test_output_ends_with_the_demo_logins():
    output = seed()

    logins = output[output.index("Demo logins") :]
    assert "'demo'" in logins
    for role in ROLES:
        assert role in logins


def test_each_app_seeds_after_the_apps_it_builds_on_and_reports_what_it_created():
    # Returns and complaints are filed from tickets about orders; surveys ask about all three;
    # the teams get their support mailboxes.
    assert SEEDERS == (
        "demo.orders.seed",
        "demo.tickets.seed",
        "demo.refunds.seed",
        "demo.complaints.seed",
        "demo.surveys.seed",
        "demo.messaging.seed",
    )

    output = seed(tickets=200)

    reported = [line.split(":")[0] for line in output.splitlines() if ": created" in line]
    assert reported == [
        "orders",
        "tickets",
        "refunds",
        "complaints",
        "surveys",
        "messaging",
    ]


def test_refused_where_demo_accounts_are_not_allowed(settings):
    settings.DEMO_ACCOUNTS_ALLOWED = False

    with pytest.raises(CommandError, match="DEMO_ACCOUNTS_ALLOWED"):
        seed()

    assert not User.objects.exists()
    assert not Order.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_seeding_outside_a_transaction_commits_every_batch(monkeypatch):
    # Outside a transaction PostgreSQL commits each batch while the next is built.
    monkeypatch.setattr(demo, "BATCH_ORDERS", 25)

    seed()
    before = row_counts()
    seed()

    assert Order.objects.count() == ORDERS
    assert row_counts() == before
    assert set(Order.objects.values_list("status", flat=True)) == set(S.values)
