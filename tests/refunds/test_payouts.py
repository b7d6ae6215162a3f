"""Exactly-once payouts: committed first, paid once, retried, given up, crash-safe."""

from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal
from unittest import mock

import pytest
from django.db import transaction
from django.test import override_settings

from csplatform.errors import ConflictError
from refunds import payouts as refund_payouts
from refunds import services
from refunds.choices import RefundStatus, ReturnStatus
from refunds.gateways import GatewayUnavailable, SimulatedGateway
from refunds.models import GatewayPayout, Refund, ReturnEvent
from refunds.payouts import MAX_PAYOUT_ATTEMPTS, PAYOUT_LEASE, refund_fail, refund_payout
from refunds.services import (
    refund_create,
    refund_retry,
    return_request_inspect,
    return_request_receive,
)
from refunds.tasks import refund_payout_task
from tests.factories import agent_user, supervisor_user

from .helpers import DAY, DELIVERED, delivered_order, file_request

NOW = DELIVERED + 3 * DAY


class SpyGateway:
    """The simulated provider, recording each call and whether a transaction was open."""

    def __init__(self, fail_times: int = 0):
        self.calls = []
        self.fail_times = fail_times
        self.inner = SimulatedGateway(latency_ms=0, failure_rate=0)

    def __call__(self):
        return self

    def refund(self, **kwargs):
        self.calls.append(
            {"in_transaction": transaction.get_connection().in_atomic_block, **kwargs}
        )
        if len(self.calls) <= self.fail_times:
            raise GatewayUnavailable("provider down")
        return self.inner.refund(**kwargs)


def inspected_request():
    boss = supervisor_user()
    request = file_request(delivered_order(), lines=[("TS-1", 2)], reason="quality")
    return_request_receive(request=request, by_user=boss, now=DELIVERED + 2 * DAY)
    return_request_inspect(request=request, by_user=boss, passed=True, now=DELIVERED + 2 * DAY)
    return request, boss


def new_refund(amount="99.00"):
    request, boss = inspected_request()
    with mock.patch.object(refund_payout_task, "delay"):
        refund = refund_create(request=request, amount=Decimal(amount), by_user=boss, now=NOW)
    return refund


@contextmanager
def retries_run_in_process():
    """Run the task and its retries here and now (the test settings propagate a retry as an
    exception instead)."""
    conf = refund_payout_task.app.conf
    propagates = conf.task_eager_propagates
    conf.task_eager_propagates = False
    try:
        yield
    finally:
        conf.task_eager_propagates = propagates


def payouts(refund) -> int:
    return GatewayPayout.objects.filter(idempotency_key=refund.idempotency_key).count()


# --- Committed first ----------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_gateway_is_called_after_the_refund_is_committed_never_inside_its_transaction():
    request, boss = inspected_request()
    spy = SpyGateway()
    with mock.patch.object(refund_payouts, "gateway", spy), transaction.atomic():
        refund = refund_create(request=request, amount=Decimal("99.00"), by_user=boss, now=NOW)
        assert spy.calls == []  # nothing goes out while the transaction may still roll back
    assert len(spy.calls) == 1
    assert spy.calls[0]["in_transaction"] is False
    assert spy.calls[0]["idempotency_key"] == f"refund-{refund.pk}"
    refund.refresh_from_db()
    assert refund.status == RefundStatus.SUCCEEDED
    assert refund.provider_reference == GatewayPayout.objects.get().reference


@pytest.mark.django_db
def test_a_rolled_back_refund_is_never_paid(django_capture_on_commit_callbacks):
    request, boss = inspected_request()
    with mock.patch.object(refund_payout_task, "delay") as payout_queued:
        with django_capture_on_commit_callbacks() as callbacks:
            refund_create(request=request, amount=Decimal("99.00"), by_user=boss, now=NOW)
        assert callbacks  # queued for after the commit, not run
        payout_queued.assert_not_called()
    assert not GatewayPayout.objects.exists()


# --- Paid once ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_payout_run_twice_pays_once():
    refund = new_refund()
    spy = SpyGateway()
    with mock.patch.object(refund_payouts, "gateway", spy):
        first = refund_payout(refund_id=refund.pk, now=NOW)
        second = refund_payout(refund_id=refund.pk, now=NOW + DAY)
    assert first.status == second.status == RefundStatus.SUCCEEDED
    assert len(spy.calls) == 1  # a settled refund does not go to the gateway again
    assert payouts(refund) == 1
    assert GatewayPayout.objects.get().amount == Decimal("99.00")


@pytest.mark.django_db
def test_a_worker_killed_after_the_gateway_paid_is_retried_and_pays_once():
    refund = new_refund()
    spy = SpyGateway()

    def killed_after_the_call():
        class Killed:
            def refund(self, **kwargs):
                spy.refund(**kwargs)
                raise SystemExit("worker killed")

        return Killed()

    with (
        mock.patch.object(refund_payouts, "gateway", killed_after_the_call),
        pytest.raises(SystemExit),
    ):
        refund_payout(refund_id=refund.pk, now=NOW)
    refund.refresh_from_db()
    assert refund.status == RefundStatus.PENDING
    assert payouts(refund) == 1
    with mock.patch.object(refund_payouts, "gateway", spy):
        # While the lease runs the dead worker might still be calling: nobody else calls.
        refund_payout(refund_id=refund.pk, now=NOW + PAYOUT_LEASE - timedelta(seconds=1))
        assert len(spy.calls) == 1
        retried = refund_payout(refund_id=refund.pk, now=NOW + PAYOUT_LEASE)
    assert retried.status == RefundStatus.SUCCEEDED
    assert payouts(refund) == 1
    assert retried.provider_reference == GatewayPayout.objects.get().reference
    paid = ReturnEvent.objects.get(request=refund.request, type="refund_paid")
    assert paid.payload["repeated"] is True


@pytest.mark.django_db
def test_a_crash_inside_the_settling_transaction_is_retried_and_gets_the_same_payout():
    refund = new_refund()
    settle = refund_payouts._payout_settle

    def crash_before_commit(*args, **kwargs):
        with transaction.atomic():
            settle(*args, **kwargs)
            raise SystemExit("worker killed before the commit")

    with (
        mock.patch.object(refund_payouts, "_payout_settle", crash_before_commit),
        pytest.raises(SystemExit),
    ):
        refund_payout(refund_id=refund.pk, now=NOW)
    refund.refresh_from_db()
    assert refund.status == RefundStatus.PENDING
    assert refund.provider_reference == ""
    retried = refund_payout(refund_id=refund.pk, now=NOW + PAYOUT_LEASE)
    assert retried.status == RefundStatus.SUCCEEDED
    assert retried.provider_reference == GatewayPayout.objects.get().reference
    assert payouts(refund) == 1
    paid = ReturnEvent.objects.get(request=refund.request, type="refund_paid")
    assert paid.payload["repeated"] is True


# --- Retried with backoff, then given up --------------------------------------------------------


def test_the_payout_task_retries_gateway_outages_with_backoff():
    assert GatewayUnavailable in refund_payout_task.autoretry_for
    assert refund_payout_task.retry_backoff
    assert refund_payout_task.max_retries >= MAX_PAYOUT_ATTEMPTS - 1


@pytest.mark.django_db
def test_a_passing_outage_is_retried_until_paid_once():
    refund = new_refund()
    spy = SpyGateway(fail_times=2)
    with mock.patch.object(refund_payouts, "gateway", spy), retries_run_in_process():
        refund_payout_task.delay(refund.pk)
    refund.refresh_from_db()
    assert refund.status == RefundStatus.SUCCEEDED
    assert refund.attempts == 3
    assert len(spy.calls) == 3
    assert payouts(refund) == 1


@pytest.mark.django_db
@override_settings(REFUND_GATEWAY_FAILURE_RATE=1.0)
def test_a_payout_that_keeps_failing_is_given_up_released_and_shown_to_a_supervisor():
    refund = new_refund()
    order = refund.order
    order.refresh_from_db()
    assert order.refunded_amount == Decimal("99.00")  # reserved while pending
    with retries_run_in_process():
        refund_payout_task.delay(refund.pk)
    refund.refresh_from_db()
    order.refresh_from_db()
    assert refund.status == RefundStatus.FAILED
    assert refund.attempts == MAX_PAYOUT_ATTEMPTS
    assert refund.needs_attention is True
    assert refund.last_error == "simulated provider outage"
    assert order.refunded_amount == Decimal("0.00")  # released
    assert not GatewayPayout.objects.exists()
    failed = ReturnEvent.objects.get(request=refund.request, type="payout_failed")
    assert failed.actor_kind == "system"
    assert refund.request.status == ReturnStatus.REFUNDED


@pytest.mark.django_db
def test_a_new_refund_settles_the_failed_payout_waiting_for_a_supervisor():
    refund = new_refund()
    with override_settings(REFUND_GATEWAY_FAILURE_RATE=1.0), retries_run_in_process():
        refund_payout_task.delay(refund.pk)
    refund.refresh_from_db()
    assert refund.needs_attention
    with mock.patch.object(refund_payout_task, "delay"):
        refund_create(
            request=refund.request, amount=Decimal("99.00"), by_user=supervisor_user(), now=NOW
        )
    refund.refresh_from_db()
    assert refund.needs_attention is False
    assert Refund.objects.filter(status=RefundStatus.PENDING).count() == 1


@pytest.mark.django_db
def test_a_payout_is_not_given_up_by_hand_while_a_call_is_in_flight():
    refund = new_refund()
    Refund.objects.filter(pk=refund.pk).update(payout_lease_until=NOW + PAYOUT_LEASE)
    with pytest.raises(ConflictError):
        refund_fail(refund_id=refund.pk, now=NOW)
    failed = refund_fail(refund_id=refund.pk, now=NOW + PAYOUT_LEASE)
    assert failed.status == RefundStatus.FAILED
    assert failed.needs_attention
    failed.order.refresh_from_db()
    assert failed.order.refunded_amount == Decimal("0.00")


# --- A supervisor retries a payout that failed for good ------------------------------------------


def failed_refund():
    refund = new_refund()
    with override_settings(REFUND_GATEWAY_FAILURE_RATE=1.0), retries_run_in_process():
        refund_payout_task.delay(refund.pk)
    refund.refresh_from_db()
    assert (refund.status, refund.needs_attention) == (RefundStatus.FAILED, True)
    return refund


@pytest.mark.django_db
def test_a_supervisor_retries_a_failed_payout_as_a_new_refund_of_the_same_amount_paid_once(
    django_capture_on_commit_callbacks,
):
    failed = failed_refund()
    boss = supervisor_user(username="retrying.boss")

    with django_capture_on_commit_callbacks(execute=True):
        retry = refund_retry(refund_id=failed.pk, by_user=boss, now=NOW + DAY)

    retry.refresh_from_db()
    failed.refresh_from_db()
    assert (retry.amount, retry.retry_of, retry.status) == (failed.amount, failed, "succeeded")
    assert retry.idempotency_key != failed.idempotency_key
    assert failed.needs_attention is False
    assert failed.status == RefundStatus.FAILED
    assert payouts(retry) == 1
    assert payouts(failed) == 0
    retry.order.refresh_from_db()
    assert retry.order.refunded_amount == Decimal("99.00")
    event = ReturnEvent.objects.get(request=failed.request, type="payout_retried")
    assert (event.actor_user, event.payload["failed_refund"]) == (boss, failed.pk)


@pytest.mark.django_db
def test_a_failed_payout_is_retried_once_and_only_by_a_supervisor():
    failed = failed_refund()
    with pytest.raises(services.NeedsSupervisor):
        refund_retry(refund_id=failed.pk, by_user=agent_user(), now=NOW)
    with mock.patch.object(refund_payout_task, "delay"):
        refund_retry(refund_id=failed.pk, by_user=supervisor_user(), now=NOW)
    with pytest.raises(ConflictError) as refused:
        refund_retry(refund_id=failed.pk, by_user=supervisor_user(), now=NOW)
    assert refused.value.code == "not_retryable"
    assert Refund.objects.filter(retry_of=failed).count() == 1


@pytest.mark.django_db
def test_a_pending_or_paid_refund_cannot_be_retried():
    refund = new_refund()
    with pytest.raises(ConflictError):
        refund_retry(refund_id=refund.pk, by_user=supervisor_user(), now=NOW)


@pytest.mark.django_db
def test_a_retry_never_pays_more_than_is_still_refundable():
    failed = failed_refund()  # 99.00 released; the order paid 208.00
    with mock.patch.object(refund_payout_task, "delay"):
        refund_create(
            request=failed.request, amount=Decimal("99.00"), by_user=supervisor_user(), now=NOW
        )
    Refund.objects.filter(pk=failed.pk).update(needs_attention=True)  # still waiting, say
    # The shop settled the rest with the customer some other way: 99.00 is all that was paid.
    type(failed.order).objects.filter(pk=failed.order_id).update(paid_amount=Decimal("99.00"))

    with pytest.raises(services.return_rules.ReturnRefused):
        refund_retry(refund_id=failed.pk, by_user=supervisor_user(), now=NOW)
    assert not Refund.objects.filter(retry_of=failed).exists()
