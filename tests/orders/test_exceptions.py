"""Order exceptions: the timers of the periodic scans and the exceptions events raise.

Time is always explicit: the scans take ``now=``, events carry their ``at`` and ``now``, and the
Celery tasks run under ``time_machine``.
"""

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import transaction

from csplatform.actors import Actor
from csplatform.api.errors import error_body, error_status
from csplatform.errors import InvalidInput
from orders.choices import ExceptionOutcome, ExceptionType
from orders.models import OrderEvent, OrderException, OrderSettings
from orders.services import (
    ExceptionAlreadyResolved,
    LineInput,
    order_event_record,
    order_exception_raise,
    order_exception_resolve,
    order_exception_resolve_by_agent,
    order_upsert,
    orders_cancel_unpaid,
    orders_flag_logistics_delayed,
    orders_flag_shipping_overdue,
)
from orders.signals import order_exception_raised
from orders.tasks import (
    orders_cancel_unpaid_task,
    orders_flag_logistics_delayed_task,
    orders_flag_shipping_overdue_task,
)
from tests.concurrency import run_at_once
from tests.factories import (
    OrderExceptionFactory,
    OrderFactory,
    ShipmentFactory,
    agent_user,
    order_state,
    storefront_client,
)

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
STOREFRONT = Actor(kind="api_key", label="storefront")


def open_exceptions(order) -> list[str]:
    return list(OrderException.objects.open().filter(order=order).values_list("type", flat=True))


def record(order, type: str, at: datetime, **payload):
    """A storefront event, recorded the moment it happened."""
    return order_event_record(
        number=order.number, type=type, at=at, payload=payload, actor=STOREFRONT, now=at
    )


def set_thresholds(**fields) -> None:
    settings = OrderSettings.load()
    for name, value in fields.items():
        setattr(settings, name, value)
    settings.save()


@pytest.fixture
def raised_signals():
    """The ``exception_id`` of every ``order_exception_raised`` signal, in order."""
    received: list[int] = []

    def receiver(sender, exception_id, **kwargs):
        received.append(exception_id)

    order_exception_raised.connect(receiver, dispatch_uid="test-receiver")
    yield received
    order_exception_raised.disconnect(dispatch_uid="test-receiver")


# --- Unpaid orders are cancelled ---------------------------------------------------------------


def test_an_order_unpaid_for_29_minutes_59_seconds_is_left_alone():
    order = OrderFactory(status="pending_payment", placed_at=T0)

    cancelled = orders_cancel_unpaid(now=T0 + timedelta(minutes=29, seconds=59))

    assert cancelled == 0
    order.refresh_from_db()
    assert order.status == "pending_payment"


def test_an_order_unpaid_for_30_minutes_is_cancelled_by_the_system():
    order = OrderFactory(status="pending_payment", placed_at=T0)
    now = T0 + timedelta(minutes=30)

    cancelled = orders_cancel_unpaid(now=now)

    assert cancelled == 1
    order.refresh_from_db()
    assert (order.status, order.cancelled_at) == ("cancelled", now)
    event = OrderEvent.objects.get(order=order)
    assert event.type == "status_changed"
    assert event.payload == {
        "from": "pending_payment",
        "to": "cancelled",
        "reason": "payment_timeout",
    }
    assert (event.actor_kind, event.actor_label, event.at) == ("system", "unpaid timeout", now)


def test_cancelling_unpaid_orders_touches_neither_paid_orders_nor_recent_ones():
    paid = OrderFactory(status="paid", placed_at=T0 - timedelta(days=2))
    recent = OrderFactory(status="pending_payment", placed_at=T0 + timedelta(minutes=1))
    due = OrderFactory(status="pending_payment", placed_at=T0 - timedelta(days=1))

    assert orders_cancel_unpaid(now=T0 + timedelta(minutes=30)) == 1

    statuses = {o.number: o.status for o in (paid, recent, due) if not o.refresh_from_db()}
    assert statuses == {
        paid.number: "paid",
        recent.number: "pending_payment",
        due.number: "cancelled",
    }


def test_a_second_scan_cancels_nothing_more():
    order = OrderFactory(status="pending_payment", placed_at=T0)
    orders_cancel_unpaid(now=T0 + timedelta(minutes=30))

    assert orders_cancel_unpaid(now=T0 + timedelta(minutes=31)) == 0
    assert OrderEvent.objects.filter(order=order).count() == 1


def test_the_unpaid_timeout_edited_in_order_settings_changes_when_orders_are_cancelled():
    set_thresholds(unpaid_cancel_minutes=10)
    order = OrderFactory(status="pending_payment", placed_at=T0)

    assert orders_cancel_unpaid(now=T0 + timedelta(minutes=9, seconds=59)) == 0
    assert orders_cancel_unpaid(now=T0 + timedelta(minutes=10)) == 1
    order.refresh_from_db()
    assert order.status == "cancelled"


def test_a_longer_unpaid_timeout_keeps_a_30_minute_old_order_open():
    set_thresholds(unpaid_cancel_minutes=60)
    order = OrderFactory(status="pending_payment", placed_at=T0)

    assert orders_cancel_unpaid(now=T0 + timedelta(minutes=30)) == 0
    order.refresh_from_db()
    assert order.status == "pending_payment"


def test_the_scan_works_through_more_due_orders_than_one_batch():
    orders = OrderFactory.create_batch(5, status="pending_payment", placed_at=T0)

    assert orders_cancel_unpaid(now=T0 + timedelta(hours=1), batch_size=2) == 5
    assert {o.status for o in orders if not o.refresh_from_db()} == {"cancelled"}


# --- Paid orders not shipped in time -----------------------------------------------------------


@pytest.mark.parametrize("status", ["paid", "processing"])
def test_paid_order_not_shipped_within_24_hours_is_flagged_shipping_overdue(status):
    order = OrderFactory(status=status, placed_at=T0 - timedelta(minutes=5), paid_at=T0)
    now = T0 + timedelta(hours=24)

    assert orders_flag_shipping_overdue(now=now - timedelta(seconds=1)) == 0
    assert open_exceptions(order) == []

    assert orders_flag_shipping_overdue(now=now) == 1
    exception = OrderException.objects.get(order=order)
    assert (exception.type, exception.detected_at, exception.resolved_at) == (
        "shipping_overdue",
        now,
        None,
    )
    raised = OrderEvent.objects.get(order=order, type="exception_raised")
    assert raised.payload["exception"] == "shipping_overdue"
    assert raised.actor_kind == "system"


@pytest.mark.parametrize(
    "status", ["pending_payment", "shipped", "delivered", "completed", "cancelled", "closed"]
)
def test_an_order_that_is_not_waiting_to_ship_is_never_flagged_shipping_overdue(status):
    order = OrderFactory(status=status, placed_at=T0 - timedelta(days=5))

    assert orders_flag_shipping_overdue(now=T0) == 0
    assert open_exceptions(order) == []


def test_shipping_overdue_is_raised_once_however_often_the_scan_runs(raised_signals):
    order = OrderFactory(status="paid", paid_at=T0)

    assert orders_flag_shipping_overdue(now=T0 + timedelta(hours=24)) == 1
    assert orders_flag_shipping_overdue(now=T0 + timedelta(hours=25)) == 0
    assert orders_flag_shipping_overdue(now=T0 + timedelta(days=3)) == 0

    assert OrderException.objects.filter(order=order).count() == 1
    assert OrderEvent.objects.filter(order=order, type="exception_raised").count() == 1


def test_shipping_overdue_is_resolved_when_the_order_ships():
    order = OrderFactory(status="paid", paid_at=T0)
    orders_flag_shipping_overdue(now=T0 + timedelta(hours=24))
    shipped_at = T0 + timedelta(hours=30)

    record(order, "shipped", shipped_at, carrier="SF Express", tracking_number="SF1")

    exception = OrderException.objects.get(order=order, type="shipping_overdue")
    assert exception.resolved_at == shipped_at
    assert open_exceptions(order) == []
    resolved = OrderEvent.objects.get(order=order, type="exception_resolved")
    assert resolved.payload == {"exception": "shipping_overdue", "outcome": "resolved"}
    assert (resolved.actor_kind, resolved.actor_user) == ("system", None)
    assert (exception.outcome, exception.resolved_by, exception.resolution_note) == (
        "resolved",
        None,
        "",
    )


def test_shipping_overdue_is_resolved_when_the_order_is_cancelled():
    order = OrderFactory(status="processing", paid_at=T0)
    orders_flag_shipping_overdue(now=T0 + timedelta(hours=24))

    record(order, "cancelled", T0 + timedelta(hours=26))

    assert open_exceptions(order) == []


@pytest.mark.parametrize("status", ["paid", "processing"])
def test_delivery_without_a_shipped_report_resolves_shipping_overdue_and_is_never_flagged_again(
    status,
):
    order = OrderFactory(status=status, paid_at=T0)
    orders_flag_shipping_overdue(now=T0 + timedelta(hours=24))
    delivered_at = T0 + timedelta(hours=30)

    record(order, "delivered", delivered_at)

    assert open_exceptions(order) == []
    assert OrderException.objects.get(order=order).resolved_at == delivered_at
    order.refresh_from_db()
    assert order.shipped_at is None
    assert orders_flag_shipping_overdue(now=T0 + timedelta(days=5)) == 0
    assert open_exceptions(order) == []


def test_the_shipping_deadline_edited_in_order_settings_changes_when_orders_are_flagged():
    set_thresholds(ship_within_hours=48)
    order = OrderFactory(status="paid", paid_at=T0)

    assert orders_flag_shipping_overdue(now=T0 + timedelta(hours=24)) == 0
    assert orders_flag_shipping_overdue(now=T0 + timedelta(hours=48)) == 1
    assert open_exceptions(order) == ["shipping_overdue"]


def test_an_open_exception_of_another_type_does_not_stop_shipping_overdue():
    order = OrderFactory(status="paid", paid_at=T0)
    OrderExceptionFactory(order=order, type="amount_mismatch", detected_at=T0)

    assert orders_flag_shipping_overdue(now=T0 + timedelta(hours=24)) == 1
    assert sorted(open_exceptions(order)) == ["amount_mismatch", "shipping_overdue"]


def test_a_resolved_shipping_overdue_is_raised_again_even_with_another_exception_open():
    order = OrderFactory(status="paid", paid_at=T0)
    orders_flag_shipping_overdue(now=T0 + timedelta(hours=24))
    order_exception_resolve(order=order, type="shipping_overdue", now=T0 + timedelta(hours=25))
    OrderExceptionFactory(order=order, type="amount_mismatch", detected_at=T0)

    assert orders_flag_shipping_overdue(now=T0 + timedelta(hours=26)) == 1
    assert sorted(open_exceptions(order)) == ["amount_mismatch", "shipping_overdue"]
    assert OrderException.objects.filter(order=order, type="shipping_overdue").count() == 2


# --- Parcels without logistics updates ---------------------------------------------------------


def shipped_order(at: datetime = T0):
    order = OrderFactory(status="shipped", placed_at=at - timedelta(hours=1), shipped_at=at)
    ShipmentFactory(order=order, shipped_at=at, last_update_at=at)
    return order


def test_a_parcel_without_logistics_update_for_72_hours_is_flagged_logistics_delayed():
    order = shipped_order()

    assert orders_flag_logistics_delayed(now=T0 + timedelta(hours=72, seconds=-1)) == 0
    assert orders_flag_logistics_delayed(now=T0 + timedelta(hours=72)) == 1

    exception = OrderException.objects.get(order=order)
    assert (exception.type, exception.detected_at) == (
        "logistics_delayed",
        T0 + timedelta(hours=72),
    )


def test_logistics_delayed_is_raised_once_however_often_the_scan_runs():
    order = shipped_order()

    assert orders_flag_logistics_delayed(now=T0 + timedelta(hours=72)) == 1
    assert orders_flag_logistics_delayed(now=T0 + timedelta(hours=80)) == 0
    assert OrderException.objects.filter(order=order).count() == 1


def test_a_logistics_update_resets_the_72_hour_clock():
    order = shipped_order()
    update_at = T0 + timedelta(hours=50)
    record(order, "logistics_update", update_at, status="in_transit")

    assert orders_flag_logistics_delayed(now=T0 + timedelta(hours=72)) == 0
    assert orders_flag_logistics_delayed(now=update_at + timedelta(hours=72, seconds=-1)) == 0
    assert orders_flag_logistics_delayed(now=update_at + timedelta(hours=72)) == 1


def test_an_in_transit_update_resolves_logistics_delayed():
    order = shipped_order()
    orders_flag_logistics_delayed(now=T0 + timedelta(hours=72))

    record(order, "logistics_update", T0 + timedelta(hours=75), status="in_transit")

    assert open_exceptions(order) == []
    assert OrderException.objects.get(order=order).resolved_at == T0 + timedelta(hours=75)


def test_a_parcel_quiet_again_is_flagged_again_even_with_another_exception_open():
    order = shipped_order()
    OrderExceptionFactory(order=order, type="amount_mismatch", detected_at=T0)
    orders_flag_logistics_delayed(now=T0 + timedelta(hours=72))
    record(order, "logistics_update", T0 + timedelta(hours=75), status="in_transit")

    assert orders_flag_logistics_delayed(now=T0 + timedelta(hours=75 + 72)) == 1
    assert sorted(open_exceptions(order)) == ["amount_mismatch", "logistics_delayed"]


def test_delivered_parcels_and_orders_are_not_flagged_logistics_delayed():
    delivered = OrderFactory(status="delivered", shipped_at=T0)
    ShipmentFactory(order=delivered, shipped_at=T0, status="delivered", delivered_at=T0)
    lost = shipped_order()
    lost.shipments.update(status="lost")

    assert orders_flag_logistics_delayed(now=T0 + timedelta(days=10)) == 0


def test_an_order_delivered_without_a_shipment_is_never_flagged_by_the_logistics_scan():
    order = OrderFactory(status="paid", paid_at=T0)
    record(order, "delivered", T0 + timedelta(hours=2))

    assert orders_flag_logistics_delayed(now=T0 + timedelta(days=10)) == 0
    assert open_exceptions(order) == []


def test_the_logistics_silence_edited_in_order_settings_changes_when_parcels_are_flagged():
    set_thresholds(logistics_stale_hours=24)
    order = shipped_order()

    assert orders_flag_logistics_delayed(now=T0 + timedelta(hours=24)) == 1
    assert open_exceptions(order) == ["logistics_delayed"]


# --- Exceptions raised by storefront events ----------------------------------------------------


def test_a_payment_failed_event_raises_payment_failed_and_a_later_payment_resolves_it():
    order = OrderFactory(status="pending_payment", placed_at=T0)

    record(order, "payment_failed", T0 + timedelta(minutes=2), reason="card declined")

    exception = OrderException.objects.open().get(order=order)
    assert (exception.type, exception.details) == ("payment_failed", {"reason": "card declined"})

    record(order, "paid", T0 + timedelta(minutes=5), amount=str(order.total))

    assert open_exceptions(order) == []


def test_a_payment_that_differs_from_the_total_raises_amount_mismatch():
    order = OrderFactory(status="pending_payment", placed_at=T0)  # total 109.00

    record(order, "paid", T0 + timedelta(minutes=5), amount="100.00")

    exception = OrderException.objects.open().get(order=order)
    assert exception.type == "amount_mismatch"
    assert exception.details == {"paid": "100.00", "total": "109.00"}
    assert order.total == Decimal("109.00")


def test_a_payment_of_exactly_the_total_raises_nothing():
    order = OrderFactory(status="pending_payment", placed_at=T0)

    record(order, "paid", T0 + timedelta(minutes=5), amount=str(order.total))

    assert open_exceptions(order) == []


@pytest.mark.parametrize(
    ("logistics_status", "exception_type"),
    [
        ("lost", "parcel_lost"),
        ("returned_to_sender", "address_problem"),
        ("delayed", "logistics_delayed"),
    ],
)
def test_a_logistics_update_raises_the_exception_of_its_status(logistics_status, exception_type):
    order = shipped_order()

    record(
        order, "logistics_update", T0 + timedelta(hours=5), status=logistics_status, description="!"
    )

    assert open_exceptions(order) == [exception_type]


def test_delivery_resolves_parcel_lost_and_logistics_delayed():
    order = shipped_order()
    record(order, "logistics_update", T0 + timedelta(hours=5), status="delayed")
    record(order, "logistics_update", T0 + timedelta(hours=6), status="lost")
    assert sorted(open_exceptions(order)) == ["logistics_delayed", "parcel_lost"]

    record(order, "delivered", T0 + timedelta(hours=90))

    assert open_exceptions(order) == []


# --- Exceptions that later storefront events resolve ------------------------------------------


def replace(order, at: datetime, *, discount: Decimal) -> None:
    """The storefront sends the order again with another discount (and the total to match)."""
    order.refresh_from_db()
    lines = [
        LineInput(sku=line.sku, name=line.name, quantity=line.quantity, unit_price=line.unit_price)
        for line in order.lines.all()
    ]
    order_upsert(
        storefront=order.storefront,
        number=order.number,
        customer={"external_id": order.customer.external_id},
        channel=order.channel,
        currency=order.currency,
        lines=lines,
        shipping_fee=order.shipping_fee,
        discount=discount,
        total=order.lines_total + order.shipping_fee - discount,
        status=order.status,
        placed_at=order.placed_at,
        shipping_address=order.shipping_address,
        actor=STOREFRONT,
        now=at,
    )


def underpaid_order():
    """Total 109.00, 100.00 paid: amount_mismatch open."""
    order = OrderFactory(status="pending_payment", placed_at=T0)
    record(order, "paid", T0 + timedelta(minutes=5), amount="100.00")
    assert open_exceptions(order) == ["amount_mismatch"]
    return order


def test_an_order_sent_again_with_the_total_that_was_paid_resolves_amount_mismatch():
    order = underpaid_order()
    at = T0 + timedelta(hours=1)

    replace(order, at, discount=Decimal("9.00"))  # 99 + 10 - 9 = 100.00, what was paid

    assert open_exceptions(order) == []
    exception = OrderException.objects.get(order=order)
    assert (exception.resolved_at, exception.outcome, exception.resolved_by) == (
        at,
        "resolved",
        None,
    )
    event = OrderEvent.objects.get(order=order, type="exception_resolved")
    assert event.payload == {"exception": "amount_mismatch", "outcome": "resolved"}
    assert event.actor_kind == "system"


def test_an_order_sent_again_with_a_total_still_unlike_the_paid_amount_keeps_amount_mismatch():
    order = underpaid_order()

    replace(order, T0 + timedelta(hours=1), discount=Decimal("5.00"))  # 104.00, 100.00 paid

    assert open_exceptions(order) == ["amount_mismatch"]


def test_an_order_sent_again_unchanged_keeps_amount_mismatch():
    order = underpaid_order()

    replace(order, T0 + timedelta(hours=1), discount=Decimal("0.00"))

    assert open_exceptions(order) == ["amount_mismatch"]


def test_a_parcel_on_its_way_again_after_being_returned_resolves_address_problem():
    order = shipped_order()
    record(order, "logistics_update", T0 + timedelta(hours=20), status="returned_to_sender")
    assert open_exceptions(order) == ["address_problem"]
    at = T0 + timedelta(hours=40)

    record(order, "logistics_update", at, status="in_transit", description="改址后重新派送")

    assert open_exceptions(order) == []
    exception = OrderException.objects.get(order=order)
    assert (exception.resolved_at, exception.outcome, exception.resolved_by) == (
        at,
        "resolved",
        None,
    )
    event = OrderEvent.objects.get(order=order, type="exception_resolved")
    assert (event.payload, event.actor_kind) == (
        {"exception": "address_problem", "outcome": "resolved"},
        "system",
    )


def test_the_delivery_of_a_returned_parcel_resolves_address_problem():
    order = shipped_order()
    record(order, "logistics_update", T0 + timedelta(hours=20), status="returned_to_sender")

    record(order, "delivered", T0 + timedelta(hours=60))

    assert open_exceptions(order) == []
    assert OrderException.objects.get(order=order).outcome == "resolved"


def test_an_in_transit_update_older_than_the_return_leaves_address_problem_open():
    order = shipped_order()
    record(order, "logistics_update", T0 + timedelta(hours=20), status="returned_to_sender")

    # Sent late by the carrier: it happened before the parcel was returned.
    record(order, "logistics_update", T0 + timedelta(hours=10), status="in_transit")

    assert open_exceptions(order) == ["address_problem"]


def test_address_problem_stays_open_while_another_parcel_of_the_order_is_still_going_back():
    order = shipped_order()
    ShipmentFactory(order=order, tracking_number="YT2", shipped_at=T0, last_update_at=T0)
    first = order.shipments.exclude(tracking_number="YT2").get().tracking_number
    for tracking_number in (first, "YT2"):
        record(
            order,
            "logistics_update",
            T0 + timedelta(hours=20),
            status="returned_to_sender",
            tracking_number=tracking_number,
        )

    record(
        order,
        "logistics_update",
        T0 + timedelta(hours=30),
        status="in_transit",
        tracking_number="YT2",
    )
    assert open_exceptions(order) == ["address_problem"]

    record(
        order,
        "logistics_update",
        T0 + timedelta(hours=31),
        status="in_transit",
        tracking_number=first,
    )
    assert open_exceptions(order) == []


@pytest.mark.parametrize("status", ["delayed", "lost"])
def test_a_delayed_or_lost_parcel_after_its_return_leaves_address_problem_open(status):
    order = shipped_order()
    record(order, "logistics_update", T0 + timedelta(hours=20), status="returned_to_sender")

    record(order, "logistics_update", T0 + timedelta(hours=30), status=status)

    assert "address_problem" in open_exceptions(order)


# --- Agents resolve exceptions with an outcome --------------------------------------------------


@pytest.mark.parametrize("exception_type", ExceptionType.values)
def test_an_agent_resolves_any_open_exception_with_an_outcome_and_a_note_on_the_timeline(
    exception_type,
):
    agent = agent_user(username="li.na")
    exception = OrderExceptionFactory(type=exception_type, detected_at=T0)
    now = T0 + timedelta(hours=3)

    resolved = order_exception_resolve_by_agent(
        exception=exception,
        user=agent,
        outcome="customer_notified",
        note="  已电话告知客户  ",
        now=now,
    )

    resolved.refresh_from_db()
    assert (resolved.resolved_at, resolved.outcome, resolved.resolved_by) == (
        now,
        "customer_notified",
        agent,
    )
    assert resolved.resolution_note == "已电话告知客户"
    event = OrderEvent.objects.get(order=exception.order, type="exception_resolved")
    assert event.payload == {"exception": exception_type, "outcome": "customer_notified"}
    assert (event.actor_kind, event.actor_user, event.actor_label) == ("user", agent, "li.na")
    assert (event.at, event.recorded_at) == (now, now)


@pytest.mark.parametrize("outcome", ExceptionOutcome.values)
def test_each_outcome_of_the_list_may_be_chosen(outcome):
    exception = OrderExceptionFactory(type="parcel_lost", detected_at=T0)

    order_exception_resolve_by_agent(
        exception=exception, user=agent_user(), outcome=outcome, now=T0
    )

    exception.refresh_from_db()
    assert (exception.outcome, exception.resolution_note) == (outcome, "")


def test_the_outcomes_are_the_five_of_the_issue():
    assert ExceptionOutcome.values == [
        "resolved",
        "customer_notified",
        "reshipped",
        "refunded",
        "no_action",
    ]


def test_an_exception_already_resolved_by_an_agent_is_refused_with_409_and_kept_as_it_was():
    exception = OrderExceptionFactory(type="parcel_lost", detected_at=T0)
    first = agent_user()
    order_exception_resolve_by_agent(
        exception=exception, user=first, outcome="reshipped", note="补发", now=T0
    )
    before = order_state(exception.order)

    with pytest.raises(ExceptionAlreadyResolved) as refused:
        order_exception_resolve_by_agent(
            exception=exception, user=agent_user(), outcome="refunded", now=T0 + timedelta(1)
        )

    assert error_status(refused.value) == 409
    assert error_body(refused.value)["code"] == "exception_already_resolved"
    assert error_body(refused.value)["outcome"] == "reshipped"
    assert order_state(exception.order) == before


def test_an_exception_the_system_resolved_is_refused_to_an_agent():
    order = OrderFactory(status="paid", paid_at=T0)
    orders_flag_shipping_overdue(now=T0 + timedelta(hours=24))
    record(order, "shipped", T0 + timedelta(hours=25), carrier="ZTO", tracking_number="Z1")
    exception = OrderException.objects.get(order=order)

    with pytest.raises(ExceptionAlreadyResolved):
        order_exception_resolve_by_agent(
            exception=exception, user=agent_user(), outcome="no_action", now=T0
        )

    exception.refresh_from_db()
    assert (exception.outcome, exception.resolved_by) == ("resolved", None)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"outcome": "fixed"}, "outcome"),
        ({"outcome": ""}, "outcome"),
        ({"outcome": "resolved", "note": "x" * 501}, "note"),
    ],
    ids=["unknown outcome", "no outcome", "note too long"],
)
def test_an_unknown_outcome_or_an_overlong_note_is_invalid_input_and_writes_nothing(fields, field):
    exception = OrderExceptionFactory(type="address_problem", detected_at=T0)
    before = order_state(exception.order)

    with pytest.raises(InvalidInput) as refused:
        order_exception_resolve_by_agent(exception=exception, user=agent_user(), now=T0, **fields)

    assert error_status(refused.value) == 400
    assert list(error_body(refused.value)["errors"]) == [field]
    assert order_state(exception.order) == before


def test_a_note_of_500_characters_is_kept_whole():
    exception = OrderExceptionFactory(type="address_problem", detected_at=T0)

    order_exception_resolve_by_agent(
        exception=exception, user=agent_user(), outcome="resolved", note="址" * 500, now=T0
    )

    exception.refresh_from_db()
    assert exception.resolution_note == "址" * 500


def test_the_storefront_reads_the_outcome_but_never_the_agents_note_or_name():
    agent = agent_user(username="li.na")
    exception = OrderExceptionFactory(type="parcel_lost", detected_at=T0)
    order_exception_resolve_by_agent(
        exception=exception, user=agent, outcome="reshipped", note="内部：仓库漏发", now=T0
    )

    body = storefront_client().get(f"/api/v1/orders/{exception.order.number}/").json()

    assert [(e["type"], e["outcome"]) for e in body["exceptions"]] == [("parcel_lost", "reshipped")]
    resolved = [e for e in body["timeline"] if e["type"] == "exception_resolved"]
    assert [e["payload"] for e in resolved] == [
        {"exception": "parcel_lost", "outcome": "reshipped"}
    ]
    assert "内部：仓库漏发" not in str(body)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_agents_resolving_the_same_exception_at_once_one_wins_the_other_gets_409():
    exception = OrderExceptionFactory(type="parcel_lost", detected_at=T0)
    agents = [agent_user(), agent_user()]

    def resolve(i: int) -> str:
        try:
            order_exception_resolve_by_agent(
                exception=exception, user=agents[i], outcome=["reshipped", "refunded"][i], now=T0
            )
        except ExceptionAlreadyResolved:
            return "refused"
        return "resolved"

    assert sorted(run_at_once(2, resolve)) == ["refused", "resolved"]
    assert OrderEvent.objects.filter(order=exception.order, type="exception_resolved").count() == 1


# --- The signal other apps listen to -----------------------------------------------------------


def test_order_exception_raised_is_sent_only_after_the_transaction_commits(
    raised_signals, django_capture_on_commit_callbacks
):
    order = OrderFactory(status="paid", paid_at=T0)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        orders_flag_shipping_overdue(now=T0 + timedelta(hours=24))
        assert raised_signals == []  # not yet: the change has not committed

    exception = OrderException.objects.get(order=order)
    assert callbacks  # it waited for the commit
    assert raised_signals == [exception.pk]


def test_order_exception_raised_is_not_sent_when_the_transaction_rolls_back(
    raised_signals, django_capture_on_commit_callbacks
):
    order = OrderFactory(status="paid", paid_at=T0)

    with (  # noqa: PT012 - the raise must happen inside the transaction it rolls back
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        order_exception_raise(order=order, type="shipping_overdue", now=T0)
        raise RuntimeError("the caller failed after raising the exception")

    assert callbacks == []
    assert raised_signals == []
    assert not OrderException.objects.exists()


def test_order_exception_raised_is_not_sent_again_for_an_exception_already_open(
    raised_signals, django_capture_on_commit_callbacks
):
    order = OrderFactory(status="shipped")

    with django_capture_on_commit_callbacks(execute=True):
        first, created = order_exception_raise(order=order, type="parcel_lost", now=T0)
        again, created_again = order_exception_raise(order=order, type="parcel_lost", now=T0)

    assert (created, created_again) == (True, False)
    assert again == first
    assert raised_signals == [first.pk]


# --- The Celery tasks call the scans with the current time -------------------------------------


def test_the_unpaid_task_cancels_with_the_clocks_time():
    order = OrderFactory(status="pending_payment", placed_at=T0)

    with time_machine.travel(T0 + timedelta(minutes=29), tick=False):
        assert orders_cancel_unpaid_task() == 0
    with time_machine.travel(T0 + timedelta(minutes=30), tick=False):
        assert orders_cancel_unpaid_task() == 1

    order.refresh_from_db()
    assert (order.status, order.cancelled_at) == ("cancelled", T0 + timedelta(minutes=30))


def test_the_shipping_overdue_task_flags_with_the_clocks_time():
    order = OrderFactory(status="paid", paid_at=T0)

    with time_machine.travel(T0 + timedelta(hours=23), tick=False):
        assert orders_flag_shipping_overdue_task() == 0
    with time_machine.travel(T0 + timedelta(hours=24), tick=False):
        assert orders_flag_shipping_overdue_task() == 1

    assert OrderException.objects.get(order=order).detected_at == T0 + timedelta(hours=24)


def test_the_logistics_delayed_task_flags_with_the_clocks_time():
    order = shipped_order()

    with time_machine.travel(T0 + timedelta(hours=71), tick=False):
        assert orders_flag_logistics_delayed_task() == 0
    with time_machine.travel(T0 + timedelta(hours=72), tick=False):
        assert orders_flag_logistics_delayed_task() == 1

    assert open_exceptions(order) == ["logistics_delayed"]
