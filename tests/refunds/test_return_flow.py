"""A return from request to payout, end to end through the services."""

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from csplatform.actors import Actor
from orders.choices import OrderStatus
from refunds.choices import RefundStatus, ReturnStatus
from refunds.models import GatewayPayout
from refunds.payouts import refund_payout
from refunds.rules import ReturnRefused
from refunds.services import (
    NeedsSupervisor,
    refund_create,
    return_request_approve,
    return_request_create,
    return_request_inspect,
    return_request_receive,
)
from tests.factories import OrderFactory, agent_user, supervisor_user

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
DELIVERED = datetime(2026, 3, 2, 15, 0, tzinfo=SHANGHAI)  # Monday afternoon
STOREFRONT = Actor(kind="api_key", label="shop")


def delivered_order(unit_price="99.00", quantity=2):
    return OrderFactory(
        status=OrderStatus.DELIVERED,
        lines=[{"sku": "TS-1", "unit_price": Decimal(unit_price), "quantity": quantity}],
        delivered_at=DELIVERED,
    )


def test_a_small_no_reason_return_is_approved_at_once_then_received_inspected_and_paid_once(
    django_capture_on_commit_callbacks,
):
    order = delivered_order()
    request = return_request_create(
        order=order,
        type="return_refund",
        reason="no_reason_7d",
        lines=[("TS-1", 1)],
        actor=STOREFRONT,
        now=DELIVERED + timedelta(days=2),
    )
    assert request.status == ReturnStatus.AWAITING_RETURN
    assert request.requested_amount == Decimal("99.00")
    assert request.ticket.kind == "return_refund"
    agent = agent_user()
    return_request_receive(request=request, by_user=agent, now=DELIVERED + timedelta(days=5))
    return_request_inspect(
        request=request, by_user=agent, passed=True, now=DELIVERED + timedelta(days=5, hours=1)
    )
    with django_capture_on_commit_callbacks(execute=True):
        refund = refund_create(
            request=request,
            amount=Decimal("99.00"),
            by_user=agent,
            now=DELIVERED + timedelta(days=5, hours=2),
        )
    order.refresh_from_db()
    assert order.refunded_amount == Decimal("99.00")
    refund.refresh_from_db()
    assert refund.status == RefundStatus.SUCCEEDED  # the payout task ran after commit
    refund_payout(refund_id=refund.pk)  # run again: nothing more is paid
    assert GatewayPayout.objects.count() == 1


def test_the_no_reason_window_ends_at_the_end_of_the_seventh_day_after_delivery():
    order = delivered_order()
    end_of_day_7 = datetime(2026, 3, 10, 0, 0, tzinfo=SHANGHAI)
    return_request_create(
        order=order,
        type="return_refund",
        reason="no_reason_7d",
        lines=[("TS-1", 1)],
        actor=STOREFRONT,
        now=end_of_day_7 - timedelta(seconds=1),
    )
    with pytest.raises(ReturnRefused) as refused:
        return_request_create(
            order=order,
            type="return_refund",
            reason="no_reason_7d",
            lines=[("TS-1", 1)],
            actor=STOREFRONT,
            now=end_of_day_7,
        )
    assert refused.value.code == "outside_return_window"


def test_a_large_refund_only_request_waits_for_a_supervisor_other_than_the_proposer():
    order = delivered_order(unit_price="1500.00", quantity=1)
    request = return_request_create(
        order=order,
        type="refund_only",
        reason="quality",
        lines=[("TS-1", 1)],
        actor=STOREFRONT,
        now=DELIVERED + timedelta(days=1),
    )
    assert request.status == ReturnStatus.REQUESTED
    agent = agent_user()
    with pytest.raises(NeedsSupervisor):
        return_request_approve(request=request, by_user=agent, now=DELIVERED + timedelta(days=1))
    boss = supervisor_user()
    return_request_approve(request=request, by_user=boss, now=DELIVERED + timedelta(days=1))
    request.refresh_from_db()
    assert request.status == ReturnStatus.REFUNDED
    assert request.proposed_by == agent
    assert request.decided_by == boss
