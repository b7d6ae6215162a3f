"""The order lifecycle as data, and the one function that applies it."""

from __future__ import annotations

from datetime import datetime

from csplatform.actors import Actor
from csplatform.lifecycle import Lifecycle, Transition, TransitionNotAllowed

from .choices import OrderEventType, OrderStatus
from .models import Order, OrderEvent
from .signals import order_status_changed

S = OrderStatus

# A paid order may be reported delivered without a separate ``shipped`` (the live-stream manual:
# "从已支付更新为已发货或已签收"); ``processing`` is a step inside "paid", so it may too. Such an
# order has ``delivered_at`` and no ``shipped_at`` and no shipment.
ALLOWED_TRANSITIONS: dict[str, frozenset[str]] = {
    S.PENDING_PAYMENT: frozenset({S.PAID, S.CANCELLED, S.CLOSED}),
    S.PAID: frozenset({S.PROCESSING, S.SHIPPED, S.DELIVERED, S.CANCELLED}),
    S.PROCESSING: frozenset({S.SHIPPED, S.DELIVERED, S.CANCELLED}),
    S.SHIPPED: frozenset({S.DELIVERED}),
    S.DELIVERED: frozenset({S.COMPLETED, S.CLOSED}),
    S.COMPLETED: frozenset({S.CLOSED}),
    S.CANCELLED: frozenset({S.CLOSED}),
    S.CLOSED: frozenset(),
}

# The timestamp column each status fills when the order enters it.
STATUS_TIMESTAMP: dict[str, str] = {
    S.PAID: "paid_at",
    S.SHIPPED: "shipped_at",
    S.DELIVERED: "delivered_at",
    S.COMPLETED: "completed_at",
    S.CANCELLED: "cancelled_at",
    S.CLOSED: "closed_at",
}


class OrderTransitionNotAllowed(TransitionNotAllowed):
    subject = "An order"


def _record(
    move: Transition,
    *,
    now: datetime,
    event_type: str = OrderEventType.STATUS_CHANGED,
    payload: dict | None = None,
    fingerprint: str | None = None,
) -> OrderEvent:
    return OrderEvent.objects.create(
        order=move.row,
        type=event_type,
        at=move.at,
        recorded_at=now,
        payload={**(payload or {}), "from": move.old, "to": move.new},
        fingerprint=fingerprint,
        **move.actor.event_fields(),
    )


LIFECYCLE = Lifecycle(
    model=Order,
    table=ALLOWED_TRANSITIONS,
    error=OrderTransitionNotAllowed,
    touched="updated_at",
    timestamps=STATUS_TIMESTAMP,
    record=_record,
    announce=order_status_changed,
)
allowed_next = LIFECYCLE.allowed_next
check_transition = LIFECYCLE.check


def order_apply_transition(
    *, order: Order, target: str, at: datetime, actor: Actor, now: datetime, **details
) -> OrderEvent:
    """Move a row-locked order to ``target``, save it and record the change on its timeline.

    The caller holds the order's row lock (``select_for_update``) inside a transaction. One
    event row is written: of ``event_type`` (the storefront's event when it caused the change),
    its payload (``payload``) carrying ``from`` and ``to``, with the event's ``fingerprint``.
    Its callers change nothing else along with the status, so the order is saved here.
    """
    move = LIFECYCLE.apply(order, target, actor=actor, at=at, now=now, **details)
    order.save(update_fields=move.changed)
    return move.event
