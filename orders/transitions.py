"""The order lifecycle as data, and the one function that applies it."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction

from csplatform.actors import Actor
from csplatform.errors import ConflictError

from .choices import OrderEventType, OrderStatus
from .models import OrderEvent
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


class OrderTransitionNotAllowed(ConflictError):
    code = "invalid_transition"

    def __init__(self, current: str, target: str):
        allowed = sorted(ALLOWED_TRANSITIONS[current])
        super().__init__(
            f"An order in status '{current}' cannot move to '{target}'.",
            current_status=current,
            requested_status=target,
            allowed=allowed,
        )


def allowed_next(status: str) -> list[str]:
    return sorted(ALLOWED_TRANSITIONS[status])


def check_transition(current: str, target: str) -> None:
    if target not in ALLOWED_TRANSITIONS[current]:
        raise OrderTransitionNotAllowed(current, target)


def order_apply_transition(
    *,
    order,
    target: str,
    at: datetime,
    actor: Actor,
    now: datetime,
    event_type: str = OrderEventType.STATUS_CHANGED,
    payload: dict | None = None,
    fingerprint: str | None = None,
):
    """Move a row-locked order to ``target`` and record the change on its timeline.

    The caller holds the order's row lock (``select_for_update``) inside a transaction. One
    event row is written: of ``event_type`` (the storefront's event when it caused the change),
    its payload carrying ``from`` and ``to``.
    """
    current = order.status
    check_transition(current, target)
    order.status = target
    fields = ["status", "updated_at"]
    column = STATUS_TIMESTAMP.get(target)
    if column:
        setattr(order, column, at)
        fields.append(column)
    order.save(update_fields=fields)
    order_id = order.pk
    transaction.on_commit(
        lambda: order_status_changed.send(
            sender=type(order), order_id=order_id, old_status=current, new_status=target, at=at
        )
    )
    return OrderEvent.objects.create(
        order=order,
        type=event_type,
        at=at,
        recorded_at=now,
        payload={**(payload or {}), "from": current, "to": target},
        fingerprint=fingerprint,
        **actor.event_fields(),
    )
