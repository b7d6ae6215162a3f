"""The return timers, run by the periodic sweep like the SLA engine's.

A request the merchant has not answered in time is approved; an approved return whose goods
were not sent back in time closes; a received return not refunded within its working days
breaches (once) and its ticket escalates; a payout left pending (a lost task, a killed
worker) is queued again — the gateway pays each refund once whatever the retries.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from csplatform.actors import Actor

from .choices import RefundStatus, ReturnStatus
from .models import Refund, ReturnRequest

STUCK_PAYOUT = timedelta(minutes=10)


def _due(queryset, batch_size: int):
    return list(
        queryset.select_for_update(skip_locked=True, of=("self",)).order_by("id")[:batch_size]
    )


def returns_auto_approve(*, now: datetime, batch_size: int = 200) -> int:
    from .services import _approve

    done = 0
    with transaction.atomic():
        for request in _due(
            ReturnRequest.objects.filter(status=ReturnStatus.REQUESTED, respond_due_at__lte=now),
            batch_size,
        ):
            order = type(request.order).objects.select_for_update().get(pk=request.order_id)
            _approve(
                order,
                request,
                actor=Actor.system("response timeout"),
                now=now,
                reason=_("Approved automatically: the merchant did not answer in time."),
            )
            done += 1
    return done


def returns_close_unreturned(*, now: datetime, batch_size: int = 200) -> int:
    from .transitions import return_apply_transition

    done = 0
    with transaction.atomic():
        for request in _due(
            ReturnRequest.objects.filter(
                status=ReturnStatus.AWAITING_RETURN,
                return_due_at__lte=now,
                return_shipped_at__isnull=True,
            ),
            batch_size,
        ):
            return_apply_transition(
                request=request,
                target=ReturnStatus.CLOSED,
                actor=Actor.system("return timeout"),
                now=now,
                reason=_("The goods were not sent back in time."),
            )
            request.return_due_at = None
            request.save()
            done += 1
    return done


def returns_refund_breaches(*, now: datetime, batch_size: int = 200) -> int:
    """Received but not refunded in time: recorded once, the supervisor told, priority up."""
    from tickets.notifications import notify
    from tickets.services import ticket_escalate

    from .services import _event

    done = 0
    with transaction.atomic():
        for request in _due(
            ReturnRequest.objects.filter(
                status__in=(ReturnStatus.RECEIVED, ReturnStatus.INSPECTED),
                refund_due_at__lte=now,
                refund_breached_at__isnull=True,
            ),
            batch_size,
        ):
            request.refund_breached_at = now
            request.save(update_fields=["refund_breached_at"])
            _event(request, "refund_overdue", Actor.system("refund deadline"), now)
            ticket = request.ticket
            if ticket is not None:
                ticket = type(ticket).objects.select_for_update().get(pk=ticket.pk)
                ticket_escalate(ticket=ticket, raise_priority=True, level=1, now=now)
                supervisor = ticket.team.supervisor if ticket.team_id else None
                notify(
                    users=[supervisor, ticket.assignee],
                    ticket=ticket,
                    kind="refund_overdue",
                    now=now,
                )
            done += 1
    return done


def refunds_requeue_stuck(*, now: datetime) -> int:
    from .tasks import refund_payout_task

    stuck = list(
        Refund.objects.filter(
            status=RefundStatus.PENDING, created_at__lte=now - STUCK_PAYOUT
        ).values_list("id", flat=True)[:500]
    )
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
