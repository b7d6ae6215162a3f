"""The return timers, run by the periodic sweep like the SLA engine's.

A request the merchant has not answered in time is approved; an approved return whose goods
were not sent back in time closes; a received return not refunded within its working days
breaches (once) and its ticket escalates; a payout left pending (a lost task, a killed
worker) is queued again — the gateway pays each refund once whatever the retries.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from csplatform.actors import Actor
from csplatform.enqueue import task_named
from csplatform.errors import DomainError
from orders.locks import order_lock
from orders.models import Order
from tickets.services import ticket_overdue_escalate

from .choices import RefundStatus, ReturnEventType, ReturnStatus
from .events import return_event_record, return_moves_announce
from .models import Refund, ReturnRequest
from .services import return_request_approve_locked
from .transitions import LIFECYCLE, return_apply_transition

# A payout never tried a minute after its refund committed lost its task (the broker was down
# at the commit, or the message was lost with a worker): queued again by the next sweep. One
# tried and left pending (a killed worker, a lost retry) waits longer: its retries back off,
# and a call cut short holds a lease of five minutes.
LOST_PAYOUT = timedelta(minutes=1)
STUCK_PAYOUT = timedelta(minutes=10)


def _due_ids(queryset, batch_size: int) -> list[int]:
    return list(queryset.order_by("id").values_list("id", flat=True)[:batch_size])


def _lock_due(queryset, request_id: int, order_id: int | None = None):
    """Lock (the order, then) the request, if it is still due; ``None`` when another
    sweeper or a service got there first. Same lock order as the services."""
    if order_id is not None:
        order_lock(order_id=order_id)
    return LIFECYCLE.lock_if(queryset, pk=request_id)


def returns_auto_approve(*, now: datetime, batch_size: int = 200) -> int:
    """Requests the merchant left unanswered are approved, whatever their amount.

    A request that cannot be approved any more (say its refund is now more than the order
    has left) stops waiting for the timer and stays in its ticket's queue for an agent.
    """
    due = ReturnRequest.objects.filter(status=ReturnStatus.REQUESTED, respond_due_at__lte=now)
    done = 0
    for request_id, order_id in due.order_by("id").values_list("id", "order_id")[:batch_size]:
        with transaction.atomic():
            request = _lock_due(due, request_id, order_id)
            if request is None:
                continue
            order = Order.objects.get(pk=order_id)
            try:
                with transaction.atomic():
                    moves = return_request_approve_locked(
                        order=order,
                        request=request,
                        actor=Actor.system("response timeout"),
                        now=now,
                        reason=_("Approved automatically: the merchant did not answer in time."),
                    )
                    return_moves_announce(request=request, moves=moves)
            except DomainError as refused:
                request.refresh_from_db()
                request.respond_due_at = None
                request.save(update_fields=["respond_due_at"])
                return_event_record(
                    request=request,
                    type=ReturnEventType.AUTO_APPROVE_FAILED,
                    actor=Actor.system("response timeout"),
                    now=now,
                    reason=refused.detail,
                    code=refused.code,
                )
                continue
            done += 1
    return done


def returns_close_unreturned(*, now: datetime, batch_size: int = 200) -> int:
    due = ReturnRequest.objects.filter(
        status=ReturnStatus.AWAITING_RETURN,
        return_due_at__lte=now,
        return_shipped_at__isnull=True,
    )
    done = 0
    for request_id in _due_ids(due, batch_size):
        with transaction.atomic():
            request = _lock_due(due, request_id)
            if request is None:
                continue
            move = return_apply_transition(
                request=request,
                target=ReturnStatus.CLOSED,
                actor=Actor.system("return timeout"),
                now=now,
                reason=_("The goods were not sent back in time."),
            )
            request.return_due_at = None
            request.save()
            return_moves_announce(request=request, moves=[move])
            done += 1
    return done


def returns_refund_breaches(*, now: datetime, batch_size: int = 200) -> int:
    """Received but not refunded in time: recorded once, the supervisor told, priority up."""
    due = ReturnRequest.objects.filter(
        status__in=(ReturnStatus.RECEIVED, ReturnStatus.INSPECTED),
        refund_due_at__lte=now,
        refund_breached_at__isnull=True,
    )
    done = 0
    for request_id in _due_ids(due, batch_size):
        with transaction.atomic():
            request = _lock_due(due, request_id)
            if request is None:
                continue
            request.refund_breached_at = now
            request.save(update_fields=["refund_breached_at"])
            return_event_record(
                request=request,
                type=ReturnEventType.REFUND_OVERDUE,
                actor=Actor.system("refund deadline"),
                now=now,
            )
            if request.ticket_id is not None:
                ticket_overdue_escalate(ticket_id=request.ticket_id, kind="refund_overdue", now=now)
            done += 1
    return done


def refunds_requeue_stuck(*, now: datetime, limit: int = 500) -> int:
    """Pending payouts nobody has tried for a while (a lost task, a killed worker) are
    queued again; one whose call is in flight (its lease runs) is left to its worker."""
    stuck = list(
        Refund.objects.filter(status=RefundStatus.PENDING, created_at__lte=now - LOST_PAYOUT)
        .filter(Q(attempts=0) | Q(created_at__lte=now - STUCK_PAYOUT))
        .filter(Q(payout_lease_until__isnull=True) | Q(payout_lease_until__lte=now))
        .order_by("id")
        .values_list("id", flat=True)[:limit]
    )
    refund_payout_task = task_named("refunds.tasks.refund_payout_task")
    for refund_id in stuck:
        refund_payout_task.delay(refund_id)
    return len(stuck)


def returns_timers_run(*, now: datetime | None = None) -> dict:
    now = now or timezone.now()
    return {
        "auto_approved": returns_auto_approve(now=now),
        "closed_unreturned": returns_close_unreturned(now=now),
        "refund_breaches": returns_refund_breaches(now=now),
        "payouts_requeued": refunds_requeue_stuck(now=now),
    }
