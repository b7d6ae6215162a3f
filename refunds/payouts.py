"""Paying a refund out through the gateway, once, whatever the retries and crashes.

A payout is three steps. (1) Claim: under the refund's row lock, count the attempt and take a
lease, and commit. (2) Call the gateway outside any transaction, with the refund's own id as
the idempotency key: no row lock is held over a network call, and what the provider did is
never rolled back with our transaction. (3) Settle: record the outcome under the locks.
A worker killed between (2) and (3) leaves the refund pending with an expired lease; the
stuck-payout sweep queues it again and the provider answers the repeated key with the first
payout. The lease keeps a second worker from calling the gateway while one is in flight, so
a payout is given up only when no call that might still succeed is running. Gateway calls
must time out well within the lease.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from csplatform.actors import Actor
from csplatform.errors import ConflictError
from csplatform.locks import retry_on_deadlock
from orders.locks import order_lock
from orders.services import order_refund_release

from .choices import RefundStatus, ReturnEventType
from .events import return_event_record
from .gateways import GatewayUnavailable, Payout, gateway
from .models import Refund
from .signals import refund_settled_recorded

MAX_PAYOUT_ATTEMPTS = 5
PAYOUT_LEASE = timedelta(minutes=5)


@retry_on_deadlock
def _payout_claim(refund_id: int, now: datetime) -> Refund | None:
    with transaction.atomic():
        # Only the refund row: the order is read, not locked (order → refund lock order).
        refund = (
            Refund.objects.select_for_update(of=("self",), no_key=True)
            .select_related("order")
            .get(pk=refund_id)
        )
        if refund.status != RefundStatus.PENDING:
            return None
        if refund.payout_lease_until is not None and refund.payout_lease_until > now:
            return None  # another worker's call is in flight
        refund.attempts += 1
        refund.payout_lease_until = now + PAYOUT_LEASE
        refund.save(update_fields=["attempts", "payout_lease_until"])
    return refund


@retry_on_deadlock
@transaction.atomic
def _payout_settle(refund_id: int, payout: Payout, now: datetime) -> Refund:
    refund = Refund.objects.select_for_update(no_key=True).get(pk=refund_id)
    if refund.status != RefundStatus.PENDING:
        return refund
    refund.status = RefundStatus.SUCCEEDED
    refund.provider_reference = payout.reference
    refund.settled_at = now
    refund.last_error = ""
    refund.payout_lease_until = None
    refund.save()
    refund_settled_recorded.send(sender=Refund, refund=refund)
    if refund.request is not None:
        return_event_record(
            request=refund.request,
            type=ReturnEventType.REFUND_PAID,
            actor=Actor.system("payouts"),
            now=now,
            refund=refund.pk,
            amount=str(refund.amount),
            repeated=payout.repeated,
        )
    return refund


@retry_on_deadlock
@transaction.atomic
def _payout_attempt_failed(refund_id: int, error: str, now: datetime) -> tuple[Refund, bool]:
    """Record a failed call; give up after the last attempt. Returns (refund, given_up)."""
    refund = Refund.objects.only("order_id").get(pk=refund_id)
    order_lock(order_id=refund.order_id)
    refund = Refund.objects.select_for_update(no_key=True).get(pk=refund_id)
    if refund.status != RefundStatus.PENDING:
        return refund, False
    refund.last_error = error[:300]
    refund.payout_lease_until = None
    refund.save(update_fields=["last_error", "payout_lease_until"])
    if refund.attempts < MAX_PAYOUT_ATTEMPTS:
        return refund, False
    return _refund_give_up(refund, now), True


def refund_payout(*, refund_id: int, now: datetime | None = None) -> Refund:
    """Pay the refund out once. Safe to run again and concurrently: a refund that is not
    pending, or whose payout another worker is making, is left alone; the gateway pays each
    key once. Raises ``GatewayUnavailable`` when the attempt failed and may be retried."""
    now = now or timezone.now()
    refund = _payout_claim(refund_id, now)
    if refund is None:
        return Refund.objects.get(pk=refund_id)
    try:
        payout = gateway().refund(
            idempotency_key=refund.idempotency_key,
            amount=refund.amount,
            currency=refund.currency,
            order_number=refund.order.number,
        )
    except GatewayUnavailable as error:
        refund, given_up = _payout_attempt_failed(refund_id, str(error), now)
        if given_up or refund.status != RefundStatus.PENDING:
            return refund
        raise
    return _payout_settle(refund_id, payout, now)


def _refund_give_up(refund: Refund, now: datetime) -> Refund:
    """Release the amount of a payout that failed for good and put it before a supervisor.
    The caller holds the order's and the refund's row locks."""
    refund.status = RefundStatus.FAILED
    refund.needs_attention = True
    refund.settled_at = now
    refund.payout_lease_until = None
    refund.save()
    order_refund_release(order_id=refund.order_id, amount=refund.amount)
    if refund.request is not None:
        return_event_record(
            request=refund.request,
            type=ReturnEventType.PAYOUT_FAILED,
            actor=Actor.system("payouts"),
            now=now,
            refund=refund.pk,
            error=refund.last_error,
        )
    return refund


@retry_on_deadlock
@transaction.atomic
def refund_fail(*, refund_id: int, now: datetime | None = None) -> Refund:
    """Give up on a pending payout by hand: release the amount and show it to a supervisor.

    Refused while a payout call is in flight: it might still succeed.
    """
    now = now or timezone.now()
    refund = Refund.objects.only("order_id").get(pk=refund_id)
    order_lock(order_id=refund.order_id)
    refund = Refund.objects.select_for_update(no_key=True).get(pk=refund_id)
    if refund.status != RefundStatus.PENDING:
        return refund
    if refund.payout_lease_until is not None and refund.payout_lease_until > now:
        raise ConflictError(_("A payout of this refund is in progress."), code="payout_in_flight")
    return _refund_give_up(refund, now)
