"""The return rules: windows, categories, quantities and amounts (``refunds.rules``)."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from csplatform.api.errors import error_body, error_status
from csplatform.errors import InvalidInput
from orders.choices import OrderStatus
from orders.models import OrderLine
from refunds.choices import ReturnStatus
from refunds.models import CategoryRule, RefundRules, ReturnRequest
from refunds.rules import ReturnRefused, window_end
from refunds.services import (
    refund_create,
    return_request_approve,
    return_request_cancel,
    return_request_inspect,
    return_request_receive,
    return_request_reject,
)
from refunds.timers import returns_close_unreturned
from tests.factories import OrderFactory, order_state, supervisor_user
from tickets.models import Ticket

from .helpers import DAY, DELIVERED, SHANGHAI, STOREFRONT, delivered_order, file_request

pytestmark = pytest.mark.django_db

LAST_MOMENT = datetime(2026, 3, 9, 23, 59, 59, tzinfo=SHANGHAI)
WINDOW_END = datetime(2026, 3, 10, 0, 0, tzinfo=SHANGHAI)


def refused(code: str, **kwargs) -> ReturnRefused:
    with pytest.raises(ReturnRefused) as caught:
        file_request(**kwargs)
    assert caught.value.code == code, error_body(caught.value)
    return caught.value


# --- The no-reason window: 7 calendar days after the day of delivery -------------------------


def test_the_window_ends_at_midnight_after_the_seventh_day_in_the_business_time_zone():
    assert window_end(DELIVERED, 7) == WINDOW_END
    # The day counts in Shanghai: 00:30 on 2 March there is still 1 March in UTC.
    early = datetime(2026, 3, 2, 0, 30, tzinfo=SHANGHAI)
    late = datetime(2026, 3, 2, 23, 59, tzinfo=SHANGHAI)
    assert window_end(early, 7) == window_end(late, 7) == WINDOW_END
    assert window_end(early.astimezone(UTC), 7) == WINDOW_END


def test_a_no_reason_return_is_accepted_at_the_last_second_of_the_window():
    request = file_request(delivered_order(), now=LAST_MOMENT)
    assert request.pk is not None


def test_a_no_reason_return_is_refused_from_midnight_after_the_window_naming_the_rule():
    order = delivered_order()
    error = refused("outside_return_window", order=order, now=WINDOW_END)
    assert error_status(error) == 422
    assert error.extra["window_ended_at"] == WINDOW_END.isoformat()
    assert error.extra["sku"] == "TS-1"


def test_the_day_of_delivery_does_not_count_even_when_delivered_just_after_midnight():
    order = delivered_order(delivered_at=datetime(2026, 3, 2, 0, 0, 1, tzinfo=SHANGHAI))
    file_request(order, now=LAST_MOMENT)
    refused("outside_return_window", order=order, now=WINDOW_END)


def test_a_refused_request_writes_nothing():
    order = delivered_order()
    before = order_state(order)
    refused("outside_return_window", order=order, now=WINDOW_END)
    assert order_state(order) == before
    assert not ReturnRequest.objects.exists()
    assert not Ticket.objects.exists()


def test_a_change_of_mind_reason_gets_the_no_reason_window_not_the_warranty():
    order = delivered_order()
    refused("outside_return_window", order=order, reason="size_fit", now=WINDOW_END)
    refused("outside_return_window", order=order, reason="other", now=WINDOW_END)
    file_request(order, reason="size_fit", now=LAST_MOMENT)


def test_a_no_reason_return_waits_for_delivery():
    order = OrderFactory(
        status=OrderStatus.SHIPPED, lines=[{"sku": "TS-1", "quantity": 1}], delivered_at=None
    )
    refused("not_delivered_yet", order=order, now=DELIVERED)


def test_the_window_follows_the_admins_setting():
    rules = RefundRules.load()
    rules.no_reason_days = 15
    rules.save()
    order = delivered_order()
    file_request(order, now=WINDOW_END + 7 * DAY - timedelta(seconds=1))
    refused("outside_return_window", order=order, now=WINDOW_END + 8 * DAY)


# --- Categories and warranty -------------------------------------------------------------------


def test_a_category_excluded_from_no_reason_returns_refuses_them_and_size_or_fit_too():
    CategoryRule.objects.create(category="underwear", no_reason_returns=False)
    order = delivered_order([{"sku": "U-1", "category": "underwear", "quantity": 1}])
    error = refused("category_excluded", order=order, lines=[("U-1", 1)])
    assert error.extra["sku"] == "U-1"
    refused("category_excluded", order=order, lines=[("U-1", 1)], reason="size_fit")
    # A fault of the merchant is still covered.
    file_request(order, lines=[("U-1", 1)], reason="quality")


def test_a_category_can_shorten_the_no_reason_window():
    CategoryRule.objects.create(category="fresh", no_reason_days=3)
    order = delivered_order([{"sku": "F-1", "category": "fresh", "quantity": 2}])
    end = datetime(2026, 3, 6, 0, 0, tzinfo=SHANGHAI)
    file_request(order, lines=[("F-1", 1)], now=end - timedelta(seconds=1))
    refused("outside_return_window", order=order, lines=[("F-1", 1)], now=end)


def test_a_quality_problem_is_covered_for_the_default_warranty_of_30_days():
    order = delivered_order()
    end = window_end(DELIVERED, 30)
    assert end == datetime(2026, 4, 2, 0, 0, tzinfo=SHANGHAI)
    file_request(order, reason="quality", now=end - timedelta(seconds=1))
    refused("outside_warranty", order=order, reason="quality", now=end)


def test_a_category_warranty_replaces_the_default_one():
    CategoryRule.objects.create(category="electronics", warranty_days=365)
    order = delivered_order([{"sku": "E-1", "category": "electronics", "quantity": 2}])
    file_request(order, lines=[("E-1", 1)], reason="quality", now=DELIVERED + 300 * DAY)
    refused(
        "outside_warranty",
        order=order,
        lines=[("E-1", 1)],
        reason="quality",
        now=window_end(DELIVERED, 365),
    )


def test_a_category_without_warranty_means_none_not_the_default():
    CategoryRule.objects.create(category="clearance", warranty_days=0)
    order = delivered_order([{"sku": "C-1", "category": "clearance", "quantity": 2}])
    # The day of delivery itself is still open; the next day is not.
    file_request(order, lines=[("C-1", 1)], reason="quality", now=DELIVERED + timedelta(hours=8))
    refused(
        "outside_warranty",
        order=order,
        lines=[("C-1", 1)],
        reason="quality",
        now=datetime(2026, 3, 3, 0, 0, tzinfo=SHANGHAI),
    )


# --- Refund only ---------------------------------------------------------------------------------


def test_refund_only_after_delivery_needs_a_reason_other_than_no_reason():
    order = delivered_order()
    refused("refund_only_needs_reason", order=order, type="refund_only")
    request = file_request(order, type="refund_only", reason="quality")
    assert request.requested_amount == Decimal("99.00")


def test_refund_only_before_shipment_refunds_the_whole_line():
    order = OrderFactory(
        status=OrderStatus.PAID,
        lines=[
            {"sku": "A", "unit_price": "50.00", "quantity": 3},
            {"sku": "B", "unit_price": "20.00", "quantity": 1},
        ],
    )
    request = file_request(
        order, type="refund_only", reason="other", lines=[("A", 1)], now=order.paid_at + DAY
    )
    assert [(line.order_line.sku, line.quantity) for line in request.lines.all()] == [("A", 3)]
    assert request.requested_amount == Decimal("150.00")
    # Nothing of line A is left to claim.
    refused(
        "quantity_exceeds_returnable",
        order=order,
        type="refund_only",
        reason="other",
        lines=[("A", 1)],
        now=order.paid_at + DAY,
    )


def test_refund_only_before_shipment_refuses_an_amount_other_than_the_whole_line():
    order = OrderFactory(status=OrderStatus.PAID, lines=[{"sku": "A", "quantity": 2}])
    error = refused(
        "whole_line_before_shipment",
        order=order,
        type="refund_only",
        reason="other",
        lines=[("A", 1)],
        amount=Decimal("99.00"),
        now=order.paid_at + DAY,
    )
    assert error.extra["amount_due"] == "198.00"


# --- Quantities --------------------------------------------------------------------------------


def test_a_request_may_not_exceed_what_was_bought():
    error = refused("quantity_exceeds_returnable", order=delivered_order(), lines=[("TS-1", 3)])
    assert error.extra["returnable"] == 2


def test_units_in_an_open_request_cannot_be_claimed_again():
    order = delivered_order()
    file_request(order, lines=[("TS-1", 1)])
    error = refused("quantity_exceeds_returnable", order=order, lines=[("TS-1", 2)])
    assert error.extra["returnable"] == 1
    file_request(order, lines=[("TS-1", 1)])
    refused("quantity_exceeds_returnable", order=order, lines=[("TS-1", 1)])


def test_a_cancelled_request_frees_its_units():
    order = delivered_order()
    first = file_request(order, lines=[("TS-1", 2)])
    return_request_cancel(request=first, actor=STOREFRONT, now=DELIVERED + 2 * DAY)
    file_request(order, lines=[("TS-1", 2)], now=DELIVERED + 2 * DAY)


def test_a_rejected_request_frees_its_units():
    order = delivered_order()
    first = file_request(order, lines=[("TS-1", 2)], reason="size_fit")  # not auto-approved
    assert first.status == ReturnStatus.REQUESTED
    return_request_reject(
        request=first, by_user=supervisor_user(), reason="Worn", now=DELIVERED + 2 * DAY
    )
    file_request(order, lines=[("TS-1", 2)], now=DELIVERED + 2 * DAY)


def test_a_return_closed_because_the_goods_never_came_frees_its_units():
    order = delivered_order()
    first = file_request(order, lines=[("TS-1", 2)])
    assert first.status == ReturnStatus.AWAITING_RETURN
    returns_close_unreturned(now=DELIVERED + 9 * DAY)
    file_request(order, lines=[("TS-1", 2)], reason="quality", now=DELIVERED + 9 * DAY)


def test_returned_units_count_once_while_received_and_for_good_after_the_refund():
    order = delivered_order()
    boss = supervisor_user()
    first = file_request(order, lines=[("TS-1", 1)])
    return_request_receive(request=first, by_user=boss, now=DELIVERED + 3 * DAY)
    assert OrderLine.objects.get(order=order).quantity_returned == 1
    # The received unit is not counted twice: one unit is still returnable.
    error = refused("quantity_exceeds_returnable", order=order, lines=[("TS-1", 2)])
    assert error.extra["returnable"] == 1
    return_request_inspect(request=first, by_user=boss, passed=True, now=DELIVERED + 3 * DAY)
    refund_create(request=first, amount=Decimal("99.00"), by_user=boss, now=DELIVERED + 3 * DAY)
    refused("quantity_exceeds_returnable", order=order, lines=[("TS-1", 2)])
    file_request(order, lines=[("TS-1", 1)], now=DELIVERED + 3 * DAY)


def test_units_refunded_without_return_cannot_be_claimed_again():
    order = delivered_order()
    first = file_request(order, type="refund_only", reason="quality", lines=[("TS-1", 2)])
    assert first.status == ReturnStatus.REFUNDED  # within the automatic approval limit
    refused("quantity_exceeds_returnable", order=order, reason="quality", lines=[("TS-1", 1)])


def test_an_unknown_sku_is_refused_by_name():
    error = refused("unknown_sku", order=delivered_order(), lines=[("NOPE", 1)])
    assert error.extra["sku"] == "NOPE"


def test_each_sku_appears_once_and_quantities_are_positive():
    with pytest.raises(InvalidInput):
        file_request(delivered_order(), lines=[("TS-1", 1), ("TS-1", 1)])
    with pytest.raises(InvalidInput):
        file_request(delivered_order(), lines=[("TS-1", 0)])
    with pytest.raises(InvalidInput):
        file_request(delivered_order(), lines=[])


# --- Amounts -----------------------------------------------------------------------------------


def test_the_amount_defaults_to_what_the_units_are_worth():
    request = file_request(delivered_order(), lines=[("TS-1", 2)], reason="size_fit")
    assert request.requested_amount == Decimal("198.00")


def test_the_amount_may_not_exceed_what_the_units_are_worth():
    error = refused("amount_exceeds_items", order=delivered_order(), amount=Decimal("99.01"))
    assert error.extra["items_value"] == "99.00"
    assert file_request(delivered_order(), amount=Decimal("60.00")).requested_amount == Decimal(
        "60.00"
    )


def test_the_amount_may_not_exceed_what_is_still_refundable_on_the_order():
    order = delivered_order(
        [{"sku": "TS-1", "unit_price": "300.00", "quantity": 2}], discount=Decimal("110.00")
    )
    assert order.paid_amount == Decimal("500.00")  # 600 + 10 shipping − 110
    boss = supervisor_user()
    first = file_request(order, type="refund_only", reason="quality", lines=[("TS-1", 1)])
    return_request_approve(request=first, by_user=boss, now=DELIVERED + DAY)
    order.refresh_from_db()
    assert order.refunded_amount == Decimal("300.00")
    error = refused(
        "amount_exceeds_refundable", order=order, reason="quality", amount=Decimal("200.01")
    )
    assert error.extra["refundable"] == "200.00"
    # Without an amount the request asks for what is left.
    assert file_request(order, reason="quality").requested_amount == Decimal("200.00")


def test_a_refund_is_refused_when_other_refunds_took_the_money_since_the_request():
    order = delivered_order(
        [{"sku": "TS-1", "unit_price": "300.00", "quantity": 2}], discount=Decimal("110.00")
    )  # 500.00 paid
    boss = supervisor_user()
    first = file_request(order, lines=[("TS-1", 1)], reason="size_fit")
    second = file_request(order, lines=[("TS-1", 1)], reason="size_fit")
    assert first.requested_amount == second.requested_amount == Decimal("300.00")
    for request in (first, second):
        return_request_approve(request=request, by_user=boss, now=DELIVERED + DAY)
        return_request_receive(request=request, by_user=boss, now=DELIVERED + 2 * DAY)
        return_request_inspect(request=request, by_user=boss, passed=True, now=DELIVERED + 2 * DAY)
    refund_create(request=first, amount=Decimal("300.00"), by_user=boss, now=DELIVERED + 3 * DAY)
    before = order_state(order)
    with pytest.raises(ReturnRefused) as caught:
        refund_create(
            request=second, amount=Decimal("200.01"), by_user=boss, now=DELIVERED + 3 * DAY
        )
    assert caught.value.code == "amount_exceeds_refundable"
    assert order_state(order) == before
    refund_create(request=second, amount=Decimal("200.00"), by_user=boss, now=DELIVERED + 3 * DAY)
    order.refresh_from_db()
    assert order.refunded_amount == order.paid_amount


def test_nothing_refundable_refuses_a_refund_but_not_an_exchange():
    order = delivered_order(
        [{"sku": "TS-1", "unit_price": "100.00", "quantity": 2}], discount=Decimal("110.00")
    )
    assert order.paid_amount == Decimal("100.00")
    first = file_request(order, type="refund_only", reason="quality", lines=[("TS-1", 1)])
    assert first.status == ReturnStatus.REFUNDED
    order.refresh_from_db()
    assert order.refunded_amount == order.paid_amount
    refused("amount_exceeds_refundable", order=order, reason="quality")
    exchange = file_request(order, type="exchange", reason="size_fit")
    assert exchange.requested_amount == Decimal("0.00")


def test_an_unpaid_order_has_nothing_to_return():
    order = OrderFactory(status=OrderStatus.PENDING_PAYMENT, lines=[{"sku": "TS-1"}])
    refused("not_paid", order=order, type="refund_only", reason="other")
