"""The return timers, with time driven explicitly through ``now``."""

from datetime import datetime, timedelta
from decimal import Decimal
from unittest import mock

import pytest

from orders.models import Order
from refunds.choices import RefundStatus, ReturnStatus
from refunds.models import Refund, ReturnEvent
from refunds.payouts import PAYOUT_LEASE
from refunds.services import (
    return_request_approve,
    return_request_receive,
    return_request_ship_back,
)
from refunds.tasks import refund_payout_task
from refunds.timers import (
    LOST_PAYOUT,
    STUCK_PAYOUT,
    refunds_requeue_stuck,
    returns_auto_approve,
    returns_close_unreturned,
    returns_refund_breaches,
    returns_timers_run,
)
from tests.factories import RefundFactory, agent_user, supervisor_user
from tickets.choices import Priority
from tickets.models import Notification

from .helpers import (
    DAY,
    DELIVERED,
    SHANGHAI,
    STOREFRONT,
    default_team,
    delivered_order,
    file_request,
)

pytestmark = pytest.mark.django_db

SECOND = timedelta(seconds=1)
FILED = DELIVERED + DAY


def unanswered(**kwargs):
    request = file_request(delivered_order(), reason="size_fit", now=FILED, **kwargs)
    assert request.status == ReturnStatus.REQUESTED
    return request


# --- Merchant did not answer: approved after 48 hours -----------------------------------------


def test_a_request_is_approved_automatically_at_48_hours_and_not_before():
    request = unanswered()
    assert returns_auto_approve(now=FILED + timedelta(hours=48) - SECOND) == 0
    request.refresh_from_db()
    assert request.status == ReturnStatus.REQUESTED
    assert returns_auto_approve(now=FILED + timedelta(hours=48)) == 1
    request.refresh_from_db()
    assert request.status == ReturnStatus.AWAITING_RETURN
    assert request.decided_by is None
    assert request.decided_at == FILED + timedelta(hours=48)
    assert "did not answer" in request.decision_reason
    approved = ReturnEvent.objects.get(request=request, new_status=ReturnStatus.APPROVED)
    assert (approved.actor_kind, approved.actor_label) == ("system", "response timeout")
    assert returns_auto_approve(now=FILED + timedelta(hours=49)) == 0


def test_an_unanswered_refund_only_request_is_approved_and_refunded_whatever_its_amount():
    order = delivered_order([{"sku": "TV", "unit_price": "1500.00", "quantity": 1}])
    request = file_request(
        order, type="refund_only", reason="quality", lines=[("TV", 1)], now=FILED
    )
    assert request.status == ReturnStatus.REQUESTED  # above the automatic approval limit
    assert returns_auto_approve(now=FILED + timedelta(hours=48)) == 1
    request.refresh_from_db()
    assert request.status == ReturnStatus.REFUNDED
    order.refresh_from_db()
    assert order.refunded_amount == Decimal("1500.00")


def test_an_answered_request_is_left_alone():
    request = unanswered()
    return_request_approve(request=request, by_user=agent_user(), now=FILED + DAY)
    assert returns_auto_approve(now=FILED + 3 * DAY) == 0


def test_a_request_that_can_no_longer_be_approved_stops_waiting_and_stays_for_an_agent():
    order = delivered_order([{"sku": "TV", "unit_price": "1500.00", "quantity": 1}])
    request = file_request(
        order, type="refund_only", reason="quality", lines=[("TV", 1)], now=FILED
    )
    # Meanwhile the money went back another way (set up directly: only the rule matters).
    Order.objects.filter(pk=order.pk).update(refunded_amount=Decimal("1000.00"))
    assert returns_auto_approve(now=FILED + timedelta(hours=48)) == 0
    request.refresh_from_db()
    assert request.status == ReturnStatus.REQUESTED
    assert request.respond_due_at is None
    failed = ReturnEvent.objects.get(request=request, type="auto_approve_failed")
    assert failed.payload["code"] == "amount_exceeds_refundable"
    assert not Refund.objects.exists()


# --- Goods not sent back within 7 days: the return closes --------------------------------------


def test_an_approved_return_closes_when_the_goods_are_not_sent_back_within_seven_days():
    request = file_request(delivered_order(), now=FILED)  # approved at once
    assert request.return_due_at == FILED + 7 * DAY
    assert returns_close_unreturned(now=FILED + 7 * DAY - SECOND) == 0
    assert returns_close_unreturned(now=FILED + 7 * DAY) == 1
    request.refresh_from_db()
    assert request.status == ReturnStatus.CLOSED
    assert request.return_due_at is None
    closed = ReturnEvent.objects.get(request=request, new_status=ReturnStatus.CLOSED)
    assert closed.actor_kind == "system"
    assert "not sent back" in closed.reason


def test_goods_sent_back_in_time_keep_the_return_open():
    request = file_request(delivered_order(), now=FILED)
    return_request_ship_back(
        request=request, carrier="SF", tracking_number="SF1", actor=STOREFRONT, now=FILED + DAY
    )
    assert returns_close_unreturned(now=FILED + 8 * DAY) == 0
    request.refresh_from_db()
    assert request.status == ReturnStatus.AWAITING_RETURN


# --- Received but not refunded within 3 working days: breach, once -----------------------------

FRIDAY_16 = datetime(2026, 3, 6, 16, 0, tzinfo=SHANGHAI)
WEDNESDAY_16 = datetime(2026, 3, 11, 16, 0, tzinfo=SHANGHAI)


def received_on_friday():
    request = file_request(delivered_order(), now=FILED)
    return_request_receive(request=request, by_user=agent_user(), now=FRIDAY_16)
    request.refresh_from_db()
    assert request.refund_due_at == WEDNESDAY_16
    return request


def test_a_refund_not_made_within_three_working_days_breaches_once_and_escalates():
    boss = supervisor_user()
    team = default_team()
    team.supervisor = boss
    team.save()
    request = received_on_friday()
    ticket = request.ticket
    assert ticket.team == team
    assert ticket.priority == Priority.NORMAL
    assert returns_refund_breaches(now=WEDNESDAY_16 - SECOND) == 0
    assert returns_refund_breaches(now=WEDNESDAY_16) == 1
    request.refresh_from_db()
    ticket.refresh_from_db()
    assert request.refund_breached_at == WEDNESDAY_16
    assert ticket.priority == Priority.HIGH
    assert list(Notification.objects.values_list("user", "kind")) == [(boss.pk, "refund_overdue")]
    # Recorded once, however often the sweep runs.
    assert returns_refund_breaches(now=WEDNESDAY_16 + DAY) == 0
    assert ReturnEvent.objects.filter(request=request, type="refund_overdue").count() == 1
    assert Notification.objects.count() == 1
    ticket.refresh_from_db()
    assert ticket.priority == Priority.HIGH


def test_a_refund_made_in_time_does_not_breach():
    from refunds.services import refund_create, return_request_inspect

    request = received_on_friday()
    boss = supervisor_user()
    return_request_inspect(request=request, by_user=boss, passed=True, now=FRIDAY_16)
    refund_create(request=request, amount=Decimal("99.00"), by_user=boss, now=FRIDAY_16 + DAY)
    assert returns_refund_breaches(now=WEDNESDAY_16 + DAY) == 0


# --- Payouts that got stuck are queued again ----------------------------------------------------


def pending_refund(created_at, attempts=0):
    return RefundFactory(
        request=None, order=delivered_order(), created_at=created_at, attempts=attempts
    )


def test_a_payout_never_tried_a_minute_after_its_commit_is_queued_again():
    """Its task was lost (the broker was down at the commit): the next sweep, a minute on."""
    refund = pending_refund(FILED)
    assert timedelta(minutes=1) == LOST_PAYOUT
    with mock.patch.object(refund_payout_task, "delay") as delay:
        assert refunds_requeue_stuck(now=FILED + LOST_PAYOUT - SECOND) == 0
        assert refunds_requeue_stuck(now=FILED + LOST_PAYOUT) == 1
    delay.assert_called_once_with(refund.pk)


def test_a_pending_payout_nobody_tried_for_ten_minutes_is_queued_again():
    """Tried once and left pending (a lost retry): its retries back off, the sweep waits."""
    refund = pending_refund(FILED, attempts=1)
    with mock.patch.object(refund_payout_task, "delay") as delay:
        assert refunds_requeue_stuck(now=FILED + STUCK_PAYOUT - SECOND) == 0
        assert refunds_requeue_stuck(now=FILED + STUCK_PAYOUT) == 1
    delay.assert_called_once_with(refund.pk)


def test_a_payout_in_flight_is_not_queued_again_until_its_lease_runs_out():
    refund = pending_refund(FILED)
    now = FILED + STUCK_PAYOUT
    Refund.objects.filter(pk=refund.pk).update(payout_lease_until=now + PAYOUT_LEASE)
    with mock.patch.object(refund_payout_task, "delay") as delay:
        assert refunds_requeue_stuck(now=now) == 0
        assert refunds_requeue_stuck(now=now + PAYOUT_LEASE) == 1
    delay.assert_called_once_with(refund.pk)


def test_settled_payouts_are_not_queued_again():
    refund = pending_refund(FILED)
    Refund.objects.filter(pk=refund.pk).update(
        status=RefundStatus.SUCCEEDED, provider_reference="X"
    )
    with mock.patch.object(refund_payout_task, "delay") as delay:
        assert refunds_requeue_stuck(now=FILED + DAY) == 0
    delay.assert_not_called()


def test_the_sweep_runs_every_timer():
    unanswered()
    with mock.patch.object(refund_payout_task, "delay"):
        result = returns_timers_run(now=FILED + timedelta(hours=48))
    assert result == {
        "auto_approved": 1,
        "closed_unreturned": 0,
        "refund_breaches": 0,
        "payouts_requeued": 0,
    }
