"""Every write to customers, orders, shipments and order exceptions."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar

from django.db import IntegrityError, transaction
from django.db.models import Exists, F, Model, OuterRef, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from csplatform.actors import Actor
from csplatform.errors import ConflictError, InvalidInput
from csplatform.models import Storefront

from .choices import (
    ActorKind,
    ExceptionOutcome,
    ExceptionType,
    OrderEventType,
    OrderStatus,
    PaymentStatus,
    ShipmentStatus,
)
from .models import (
    Customer,
    Order,
    OrderEvent,
    OrderException,
    OrderLine,
    OrderSettings,
    Payment,
    Shipment,
    ShipmentEvent,
)
from .signals import order_exception_raised, order_exception_recorded
from .transitions import LIFECYCLE, STATUS_TIMESTAMP, check_transition, order_apply_transition

CENT = Decimal("0.01")
# The largest amount a money column (12 digits, 2 decimals) holds.
MAX_AMOUNT = Decimal("9999999999.99")

# Statuses in which the order has been paid (used when an order arrives already advanced).
PAID_STATUSES = {
    OrderStatus.PAID,
    OrderStatus.PROCESSING,
    OrderStatus.SHIPPED,
    OrderStatus.DELIVERED,
    OrderStatus.COMPLETED,
}


class AmountsDoNotAddUp(InvalidInput):
    """Raised with the field at fault."""


@dataclass(frozen=True)
class LineInput:
    sku: str
    name: str
    quantity: int
    unit_price: Decimal
    category: str = ""


if TYPE_CHECKING:
    from django.contrib.auth.models import User

M = TypeVar("M", bound=Model)
Payload = dict[str, Any]
# What an event type does to the order besides its status: (order, at, payload, now).
EventHandler = Callable[[Order, datetime, Payload, datetime], None]


def _money(value: Decimal | float | str) -> Decimal:
    return Decimal(value).quantize(CENT)


def order_amounts_check(
    *, lines: list[LineInput], shipping_fee: Decimal, discount: Decimal, total: Decimal
) -> Decimal:
    """Return the lines total, or raise naming the field that does not add up."""
    lines_total = sum((_money(line.unit_price) * line.quantity for line in lines), Decimal("0"))
    if lines_total > MAX_AMOUNT:
        # total and discount are each bounded, but their sum is not: refuse before the column does.
        raise AmountsDoNotAddUp(
            f"lines total {lines_total} exceeds the largest amount an order holds.",
            errors={"lines": [f"The lines add up to more than {MAX_AMOUNT}."]},
        )
    if discount > lines_total + shipping_fee:
        raise AmountsDoNotAddUp(
            f"discount {discount} exceeds lines + shipping ({lines_total + shipping_fee}).",
            errors={"discount": ["The discount is larger than the lines and shipping together."]},
        )
    expected = _money(lines_total + shipping_fee - discount)
    if _money(total) != expected:
        raise AmountsDoNotAddUp(
            f"total {total} does not equal lines + shipping − discount ({expected}).",
            errors={"total": [f"Must equal lines + shipping_fee − discount = {expected}."]},
        )
    return _money(lines_total)


def customer_upsert(
    *,
    storefront: Storefront,
    external_id: str,
    name: str = "",
    phone: str = "",
    email: str = "",
    tier: str | None = None,
) -> Customer:
    """Create the storefront's customer or bring the stored copy up to date with the
    storefront's; ``external_id`` is the storefront's own id for them (unique per storefront)."""
    defaults = {"name": name, "phone": phone, "email": email}
    if tier:
        defaults["tier"] = tier
    customer, created = Customer.objects.get_or_create(
        storefront=storefront, external_id=external_id, defaults=defaults
    )
    if not created:
        changed = [f for f, v in defaults.items() if v and getattr(customer, f) != v]
        for f in changed:
            setattr(customer, f, defaults[f])
        if changed:
            customer.save(update_fields=[*changed, "updated_at"])
    return customer


def customer_and_order_for_request(
    *, storefront: Storefront, customer: dict, order_number: str | None
) -> tuple[Customer, Order | None]:
    """The storefront's customer of a request (created or brought up to date) and the order
    it names, which must be that customer's: 400 on ``order_number`` otherwise."""
    found = customer_upsert(storefront=storefront, **customer)
    if not order_number:
        return found, None
    order = Order.objects.filter(number=order_number, customer=found).first()
    if order is None:
        raise InvalidInput(
            "No order with this number for this customer.",
            errors={"order_number": ["No order with this number for this customer."]},
        )
    return found, order


def _lock_order(number: str, storefront: Storefront | None = None) -> Order:
    """The order, locked; ``Order.DoesNotExist`` when it is another storefront's."""
    orders = Order.objects.all()
    if storefront is not None:
        orders = orders.filter(storefront=storefront)
    return LIFECYCLE.lock(orders, number=number)


@transaction.atomic
def order_upsert(
    *,
    storefront: Storefront,
    number: str,
    customer: dict,
    channel: str,
    currency: str,
    lines: list[LineInput],
    shipping_fee: Decimal,
    discount: Decimal,
    total: Decimal,
    status: str,
    placed_at: datetime,
    shipping_address: dict,
    actor: Actor,
    now: datetime | None = None,
) -> tuple[Order, bool]:
    """Create the order (``True``) or replace the stored copy (``False``) as the storefront sent.

    A status different from the stored one must be a transition the lifecycle allows. The
    order and its customer are the storefront's; a number another storefront holds raises
    ``Order.DoesNotExist`` (numbers are unique across storefronts, and the API answers 404
    exactly as for a missing order, so that the other storefront's order does not show).
    """
    now = now or timezone.now()
    lines_total = order_amounts_check(
        lines=lines, shipping_fee=shipping_fee, discount=discount, total=total
    )
    if len({line.sku for line in lines}) != len(lines):
        raise AmountsDoNotAddUp(
            "Each SKU may appear once.", errors={"lines": ["Each SKU may appear once."]}
        )
    cust = customer_upsert(storefront=storefront, **customer)
    values = {
        "customer": cust,
        "channel": channel,
        "currency": currency,
        "lines_total": lines_total,
        "shipping_fee": _money(shipping_fee),
        "discount": _money(discount),
        "total": _money(total),
        "placed_at": placed_at,
        "shipping_address": shipping_address,
    }
    order = Order.objects.select_for_update(no_key=True).filter(number=number).first()
    if order is None:
        try:
            with transaction.atomic():  # a savepoint: the customer written above stays
                return _order_create(number, storefront, values, lines, status, actor, now), True
        except IntegrityError:
            # Another request created this number meanwhile (the unique index waited for it
            # to commit): go on as if it had been there, replacing it or refusing as below.
            order = Order.objects.select_for_update(no_key=True).filter(number=number).first()
            if order is None:
                raise
    if order.storefront_id != storefront.pk:
        # Rolls back the customer written above too.
        raise Order.DoesNotExist("The order is another storefront's.")

    if status != order.status:
        check_transition(order.status, status)
    changed = [f for f, v in values.items() if getattr(order, f) != v]
    for f in changed:
        setattr(order, f, values[f])
    if _order_lines_replace(order, lines):
        changed.append("lines")
    if changed:
        order.save()
        OrderEvent.objects.create(
            order=order,
            type=OrderEventType.REPLACED,
            at=now,
            recorded_at=now,
            payload={"changed": sorted(changed)},
            **actor.event_fields(),
        )
    if status != order.status:
        order_apply_transition(order=order, target=status, at=now, actor=actor, now=now)
        _exceptions_clear_for_status(order, now)
    if "total" in changed and order.paid_amount == order.total:
        # The storefront corrected the total to what was paid: the amounts agree again.
        order_exception_resolve(order=order, type=ExceptionType.AMOUNT_MISMATCH, now=now)
    return order, False


def _order_create(
    number: str,
    storefront: Storefront,
    values: dict[str, Any],
    lines: list[LineInput],
    status: str,
    actor: Actor,
    now: datetime,
) -> Order:
    order = Order(number=number, storefront=storefront, status=status, **values)
    # An order that arrives already advanced has passed through the earlier stages.
    if status in PAID_STATUSES:
        order.paid_at = values["placed_at"]
        order.paid_amount = values["total"]
    column = STATUS_TIMESTAMP.get(status)
    if column and getattr(order, column) is None:
        setattr(order, column, values["placed_at"])
    order.save()
    OrderLine.objects.bulk_create(
        OrderLine(
            order=order,
            sku=line.sku,
            name=line.name,
            category=line.category,
            quantity=line.quantity,
            unit_price=_money(line.unit_price),
        )
        for line in lines
    )
    if status in PAID_STATUSES:
        # Paid before it reached us: the storefront's sync is the record of that payment.
        Payment.objects.create(
            order=order,
            amount=order.total,
            method="storefront sync",
            status=PaymentStatus.SUCCEEDED,
            at=values["placed_at"],
        )
    OrderEvent.objects.create(
        order=order,
        type=OrderEventType.CREATED,
        at=values["placed_at"],
        recorded_at=now,
        payload={"status": status, "total": str(order.total)},
        **actor.event_fields(),
    )
    return order


def _order_lines_replace(order: Order, lines: list[LineInput]) -> bool:
    """Bring the lines in line with the storefront's; ``True`` when anything changed."""
    existing = {line.sku: line for line in order.lines.all()}
    wanted = {line.sku: line for line in lines}
    for sku, line in existing.items():
        new = wanted.get(sku)
        if line.quantity_returned and (new is None or new.quantity < line.quantity_returned):
            raise ConflictError(
                f"Line {sku} has {line.quantity_returned} unit(s) returned; it cannot go below.",
                code="line_has_returns",
            )
    removed = set(existing) - set(wanted)
    if removed:
        OrderLine.objects.filter(order=order, sku__in=removed).delete()
    changed = bool(removed)
    for sku, new in wanted.items():
        line = existing.get(sku) or OrderLine(order=order, sku=sku)
        fields = {
            "name": new.name,
            "category": new.category,
            "quantity": new.quantity,
            "unit_price": _money(new.unit_price),
        }
        if line.pk and all(getattr(line, f) == v for f, v in fields.items()):
            continue
        for f, v in fields.items():
            setattr(line, f, v)
        line.save()
        changed = True
    return changed


def event_fingerprint(event_type: str, at: datetime, payload: dict) -> str:
    canonical = json.dumps(
        {"type": event_type, "at": at.astimezone(UTC).isoformat(), "payload": payload},
        sort_keys=True,
        default=str,
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


# Lifecycle events that are plain status changes.
STATUS_EVENTS: dict[str, OrderStatus] = {
    OrderEventType.PAID: OrderStatus.PAID,
    OrderEventType.PROCESSING: OrderStatus.PROCESSING,
    OrderEventType.SHIPPED: OrderStatus.SHIPPED,
    OrderEventType.DELIVERED: OrderStatus.DELIVERED,
    OrderEventType.COMPLETED: OrderStatus.COMPLETED,
    OrderEventType.CANCELLED: OrderStatus.CANCELLED,
    OrderEventType.CLOSED: OrderStatus.CLOSED,
}


@transaction.atomic
def order_event_record(
    *,
    number: str,
    type: str,
    at: datetime,
    payload: dict,
    actor: Actor,
    storefront: Storefront | None = None,
    now: datetime | None = None,
) -> tuple[OrderEvent, bool]:
    """Apply a storefront lifecycle event once; a replay returns the first record (``False``).

    With ``storefront``, the order must be that storefront's (``Order.DoesNotExist``
    otherwise).
    """
    now = now or timezone.now()
    order = _lock_order(number, storefront)
    fingerprint = event_fingerprint(type, at, payload)
    already = OrderEvent.objects.filter(order=order, fingerprint=fingerprint).first()
    if already is not None:
        return already, False

    if type in STATUS_EVENTS:
        check_transition(order.status, STATUS_EVENTS[type])
    handler = _EVENT_HANDLERS.get(type)
    if handler is not None:
        handler(order, at, payload, now)
    if type in STATUS_EVENTS:
        event = order_apply_transition(
            order=order,
            target=STATUS_EVENTS[type],
            at=at,
            actor=actor,
            now=now,
            event_type=type,
            payload=payload,
            fingerprint=fingerprint,
        )
    else:
        event = OrderEvent.objects.create(
            order=order,
            type=type,
            at=at,
            recorded_at=now,
            payload=payload,
            fingerprint=fingerprint,
            **actor.event_fields(),
        )
    _after_event(order, type, at, payload, now)
    return event, True


def _on_paid(order: Order, at: datetime, payload: Payload, now: datetime) -> None:
    amount = _money(payload["amount"])
    Payment.objects.create(
        order=order,
        amount=amount,
        method=payload.get("method", ""),
        transaction_id=payload.get("transaction_id", ""),
        status=PaymentStatus.SUCCEEDED,
        at=at,
    )
    order.paid_amount = order.paid_amount + amount
    order.save(update_fields=["paid_amount", "updated_at"])


def _on_payment_failed(order: Order, at: datetime, payload: Payload, now: datetime) -> None:
    if order.status != OrderStatus.PENDING_PAYMENT:
        raise ConflictError(
            f"A payment failure cannot be recorded on an order in status '{order.status}'.",
            code="invalid_state",
            current_status=order.status,
        )
    Payment.objects.create(
        order=order,
        amount=_money(payload.get("amount", order.total)),
        method=payload.get("method", ""),
        transaction_id=payload.get("transaction_id", ""),
        status=PaymentStatus.FAILED,
        failure_reason=payload.get("reason", "")[:200],
        at=at,
    )


def _on_shipped(order: Order, at: datetime, payload: Payload, now: datetime) -> None:
    shipment = Shipment.objects.create(
        order=order,
        carrier=payload["carrier"],
        tracking_number=payload["tracking_number"],
        status=ShipmentStatus.IN_TRANSIT,
        shipped_at=at,
        last_update_at=at,
    )
    ShipmentEvent.objects.create(shipment=shipment, status=ShipmentStatus.IN_TRANSIT, at=at)


def _on_delivered(order: Order, at: datetime, payload: Payload, now: datetime) -> None:
    for shipment in order.shipments.exclude(status=ShipmentStatus.DELIVERED):
        shipment.status = ShipmentStatus.DELIVERED
        shipment.delivered_at = at
        shipment.last_update_at = max(shipment.last_update_at, at)
        shipment.save(update_fields=["status", "delivered_at", "last_update_at"])
        ShipmentEvent.objects.create(shipment=shipment, status=ShipmentStatus.DELIVERED, at=at)


def _on_logistics_update(order: Order, at: datetime, payload: Payload, now: datetime) -> None:
    shipments = order.shipments.order_by("-shipped_at", "-id")
    if payload.get("tracking_number"):
        shipments = shipments.filter(tracking_number=payload["tracking_number"])
    shipment = shipments.first()
    if shipment is None:
        raise ConflictError(
            "The order has no shipment this logistics update could belong to.",
            code="no_shipment",
        )
    if at >= shipment.last_update_at:
        shipment.status = payload["status"]
        shipment.last_update_at = at
        shipment.save(update_fields=["status", "last_update_at"])
    ShipmentEvent.objects.create(
        shipment=shipment,
        status=payload["status"],
        description=payload.get("description", "")[:500],
        at=at,
    )


_EVENT_HANDLERS: dict[str, EventHandler] = {
    OrderEventType.PAID: _on_paid,
    OrderEventType.PAYMENT_FAILED: _on_payment_failed,
    OrderEventType.SHIPPED: _on_shipped,
    OrderEventType.DELIVERED: _on_delivered,
    OrderEventType.LOGISTICS_UPDATE: _on_logistics_update,
}

# Exceptions a logistics status raises, and those it clears.
LOGISTICS_EXCEPTIONS = {
    ShipmentStatus.DELAYED: ExceptionType.LOGISTICS_DELAYED,
    ShipmentStatus.LOST: ExceptionType.PARCEL_LOST,
    ShipmentStatus.RETURNED_TO_SENDER: ExceptionType.ADDRESS_PROBLEM,
}


# Exceptions an order's new status makes moot.
STATUS_CLEARS_EXCEPTIONS: dict[str, tuple[ExceptionType, ...]] = {
    OrderStatus.PAID: (ExceptionType.PAYMENT_FAILED,),
    OrderStatus.PROCESSING: (ExceptionType.PAYMENT_FAILED,),
    OrderStatus.SHIPPED: (ExceptionType.PAYMENT_FAILED, ExceptionType.SHIPPING_OVERDUE),
    OrderStatus.DELIVERED: (
        ExceptionType.SHIPPING_OVERDUE,
        ExceptionType.LOGISTICS_DELAYED,
        ExceptionType.PARCEL_LOST,
        ExceptionType.ADDRESS_PROBLEM,
    ),
    OrderStatus.COMPLETED: (
        ExceptionType.SHIPPING_OVERDUE,
        ExceptionType.LOGISTICS_DELAYED,
        ExceptionType.PARCEL_LOST,
        ExceptionType.ADDRESS_PROBLEM,
    ),
    OrderStatus.CANCELLED: (ExceptionType.PAYMENT_FAILED, ExceptionType.SHIPPING_OVERDUE),
    OrderStatus.CLOSED: (ExceptionType.PAYMENT_FAILED, ExceptionType.SHIPPING_OVERDUE),
}


def _exceptions_clear_for_status(order: Order, now: datetime) -> None:
    for exc_type in STATUS_CLEARS_EXCEPTIONS.get(order.status, ()):
        order_exception_resolve(order=order, type=exc_type, now=now)


def _after_event(order: Order, type: str, at: datetime, payload: Payload, now: datetime) -> None:
    """Raise and resolve the order exceptions an event implies."""
    if type in STATUS_EVENTS:
        _exceptions_clear_for_status(order, now)
    if type == OrderEventType.PAID:
        if order.paid_amount != order.total:
            order_exception_raise(
                order=order,
                type=ExceptionType.AMOUNT_MISMATCH,
                now=now,
                details={"paid": str(order.paid_amount), "total": str(order.total)},
            )
    elif type == OrderEventType.PAYMENT_FAILED:
        order_exception_raise(
            order=order,
            type=ExceptionType.PAYMENT_FAILED,
            now=now,
            details={"reason": payload.get("reason", "")[:200]},
        )
    elif type == OrderEventType.LOGISTICS_UPDATE:
        status = payload["status"]
        if status in LOGISTICS_EXCEPTIONS:
            order_exception_raise(
                order=order,
                type=LOGISTICS_EXCEPTIONS[status],
                now=now,
                details={"description": payload.get("description", "")[:500]},
            )
        elif status == ShipmentStatus.IN_TRANSIT:
            order_exception_resolve(order=order, type=ExceptionType.LOGISTICS_DELAYED, now=now)
            # A returned parcel on its way again (to a corrected address) ends the address
            # problem, once no parcel of the order is still going back; an update older than
            # the return left the parcel's status alone and so changes nothing here.
            if not order.shipments.filter(status=ShipmentStatus.RETURNED_TO_SENDER).exists():
                order_exception_resolve(order=order, type=ExceptionType.ADDRESS_PROBLEM, now=now)


def order_exception_raise(
    *, order: Order, type: str, now: datetime, details: dict | None = None
) -> tuple[OrderException, bool]:
    """Open an exception of this type on the order unless one is open already."""
    existing = OrderException.objects.open().filter(order=order, type=type).first()
    if existing is not None:
        return existing, False
    with transaction.atomic():
        exc = OrderException.objects.create(
            order=order, type=type, detected_at=now, details=details or {}
        )
        OrderEvent.objects.create(
            order=order,
            type=OrderEventType.EXCEPTION_RAISED,
            at=now,
            recorded_at=now,
            payload={"exception": type, **(details or {})},
            **Actor.system().event_fields(),
        )
        order_exception_recorded.send(sender=OrderException, exception=exc)
    transaction.on_commit(
        lambda: order_exception_raised.send(sender=OrderException, exception_id=exc.pk)
    )
    return exc, True


def _exception_close(
    exc: OrderException, *, outcome: str, actor: Actor, now: datetime, note: str = ""
) -> None:
    """Resolve an open exception with its outcome and put it on the order's timeline."""
    exc.resolved_at = now
    exc.outcome = outcome
    exc.resolved_by = actor.user if actor.kind == ActorKind.USER else None
    exc.resolution_note = note
    exc.save(update_fields=["resolved_at", "outcome", "resolved_by", "resolution_note"])
    OrderEvent.objects.create(
        order_id=exc.order_id,
        type=OrderEventType.EXCEPTION_RESOLVED,
        at=now,
        recorded_at=now,
        # Not the note: the storefront reads the timeline (GET /api/v1/orders/{number}/), and an
        # agent's note is internal.
        payload={"exception": exc.type, "outcome": outcome},
        **actor.event_fields(),
    )


def order_exception_resolve(
    *, order: Order, type: str, now: datetime, actor: Actor | None = None
) -> OrderException | None:
    """Resolve the open exception of this type, if any: an event made the problem go away."""
    exc = OrderException.objects.open().filter(order=order, type=type).first()
    if exc is None:
        return None
    _exception_close(exc, outcome=ExceptionOutcome.RESOLVED, actor=actor or Actor.system(), now=now)
    return exc


EXCEPTION_NOTE_MAX_LENGTH = OrderException._meta.get_field("resolution_note").max_length


class ExceptionAlreadyResolved(ConflictError):
    code = "exception_already_resolved"


@transaction.atomic
def order_exception_resolve_by_agent(
    *,
    exception: OrderException,
    user: User,
    outcome: str,
    note: str = "",
    now: datetime | None = None,
) -> OrderException:
    """An agent closes an exception, saying what was done about it (``outcome``), with an
    optional short note; recorded on the order's timeline with the agent as the actor.

    An exception already resolved, by the system or by another agent meanwhile, is refused
    (409). Whether the agent may act on the exception is the caller's to check: the desk lets
    agents resolve the exceptions of the order of a ticket they see, from that ticket
    (``tickets.services.ticket_order_exception_resolve``).
    """
    now = now or timezone.now()
    if outcome not in ExceptionOutcome.values:
        message = _("Choose one of the outcomes: %(outcomes)s.") % {
            "outcomes": ", ".join(str(label) for label in ExceptionOutcome.labels)
        }
        raise InvalidInput(message, errors={"outcome": [message]})
    note = note.strip()
    if EXCEPTION_NOTE_MAX_LENGTH is not None and len(note) > EXCEPTION_NOTE_MAX_LENGTH:
        message = _("The note is longer than %(max)d characters.") % {
            "max": EXCEPTION_NOTE_MAX_LENGTH
        }
        raise InvalidInput(message, errors={"note": [message]})
    # The order first, as every write to an order and what hangs off it locks.
    Order.objects.select_for_update().filter(pk=exception.order_id).values_list("pk").get()
    exc = OrderException.objects.select_for_update().get(pk=exception.pk)
    if not exc.is_open:
        raise ExceptionAlreadyResolved(
            _("This exception is already resolved (%(outcome)s).")
            % {"outcome": exc.get_outcome_display()},
            outcome=exc.outcome,
        )
    _exception_close(exc, outcome=outcome, actor=Actor.for_user(user), now=now, note=note)
    return exc


# --- What returns, refunds and erasure change on an order -----------------------------------


def order_refund_reserve(*, order: Order, amount: Decimal) -> None:
    """Count a refund's ``amount`` in the order's ``refunded_amount`` (a negative amount
    releases a payout that failed); ``order`` is refreshed with the new sum.

    The caller holds the order's lock (``orders.locks.order_lock``): the sum moves in the
    database, which refuses one above what was paid, whatever the caller checked before.
    """
    Order.objects.filter(pk=order.pk).update(refunded_amount=F("refunded_amount") + amount)
    order.refresh_from_db(fields=["refunded_amount"])


def order_refund_release(*, order_id: int, amount: Decimal) -> None:
    """Take a payout that failed for good out of the order's ``refunded_amount``, under the
    order's lock the caller holds."""
    Order.objects.filter(pk=order_id).update(refunded_amount=F("refunded_amount") - amount)


def order_lines_returned_add(*, quantities: list[tuple[int, int]]) -> None:
    """Add each ``(order line id, units)`` to the line's ``quantity_returned``; negative units
    take back goods that went back to the customer. The database keeps the count between 0 and
    what was bought. The caller holds the order's lock."""
    for order_line_id, units in quantities:
        OrderLine.objects.filter(pk=order_line_id).update(
            quantity_returned=F("quantity_returned") + units
        )


def customer_personal_data_replace(*, customer: Customer, pseudonym: str, now: datetime) -> None:
    """Replace a (locked) customer's identity by a pseudonym, for good."""
    customer.external_id = pseudonym
    customer.name = ""
    customer.phone = None
    customer.email = None
    customer.erased_at = now
    customer.save(
        update_fields=["external_id", "name", "phone", "email", "erased_at", "updated_at"]
    )


def orders_shipping_addresses_set(*, orders: list[Order]) -> None:
    """Store the ``shipping_address`` of each of the (locked) orders as it was set on it."""
    Order.objects.bulk_update(orders, ["shipping_address"], batch_size=500)


# --- Periodic scans (called by the Celery beat tasks) ---------------------------------------


def _without_open_exception(queryset: QuerySet[Order], type: str) -> QuerySet[Order]:
    # One Exists so that type and open state are tested on the same row: a multi-valued
    # exclude(exceptions__type=..., exceptions__resolved_at=None) tests them on any two rows.
    return queryset.exclude(
        Exists(OrderException.objects.open().filter(order=OuterRef("pk"), type=type))
    )


def _scan_in_batches(queryset: QuerySet[M], handle: Callable[[M], None], batch_size: int) -> int:
    """Lock due rows a batch at a time, skipping rows another scanner holds; handle each."""
    done = 0
    while True:
        with transaction.atomic():
            batch = list(queryset.select_for_update(skip_locked=True, of=("self",))[:batch_size])
            for row in batch:
                handle(row)
        done += len(batch)
        if len(batch) < batch_size:
            return done


def orders_cancel_unpaid(*, now: datetime | None = None, batch_size: int = 500) -> int:
    """Cancel orders left unpaid longer than the configured minutes; returns how many."""
    now = now or timezone.now()
    limit = now - timedelta(minutes=OrderSettings.load().unpaid_cancel_minutes)
    actor = Actor.system("unpaid timeout")

    def cancel(order: Order) -> None:
        order_apply_transition(
            order=order,
            target=OrderStatus.CANCELLED,
            at=now,
            actor=actor,
            now=now,
            payload={"reason": ExceptionType.PAYMENT_TIMEOUT},
        )
        _exceptions_clear_for_status(order, now)

    queryset = Order.objects.unpaid_placed_before(limit).order_by("placed_at")
    return _scan_in_batches(queryset, cancel, batch_size)


def orders_flag_shipping_overdue(*, now: datetime | None = None, batch_size: int = 500) -> int:
    """Raise ``shipping_overdue`` on paid orders not shipped within the configured hours."""
    now = now or timezone.now()
    limit = now - timedelta(hours=OrderSettings.load().ship_within_hours)
    queryset = _without_open_exception(
        Order.objects.unshipped_paid_before(limit), ExceptionType.SHIPPING_OVERDUE
    ).order_by("paid_at")

    def flag(order: Order) -> None:
        assert order.paid_at is not None  # paid before the limit
        order_exception_raise(
            order=order,
            type=ExceptionType.SHIPPING_OVERDUE,
            now=now,
            details={"paid_at": order.paid_at.isoformat()},
        )

    return _scan_in_batches(queryset, flag, batch_size)


def orders_flag_logistics_delayed(*, now: datetime | None = None, batch_size: int = 500) -> int:
    """Raise ``logistics_delayed`` on shipped orders whose parcel has gone quiet."""
    now = now or timezone.now()
    limit = now - timedelta(hours=OrderSettings.load().logistics_stale_hours)
    quiet = Shipment.objects.filter(
        status__in=(ShipmentStatus.IN_TRANSIT, ShipmentStatus.DELAYED), last_update_at__lte=limit
    )
    queryset = _without_open_exception(
        Order.objects.filter(status=OrderStatus.SHIPPED, id__in=quiet.values("order_id")),
        ExceptionType.LOGISTICS_DELAYED,
    ).order_by("shipped_at")

    def flag(order: Order) -> None:
        order_exception_raise(
            order=order,
            type=ExceptionType.LOGISTICS_DELAYED,
            now=now,
            details={"no_update_since": limit.isoformat()},
        )

    return _scan_in_batches(queryset, flag, batch_size)


def order_customer_notified(
    *, order: Order, notice: str, label: str, channels: list[str], now: datetime
) -> OrderEvent:
    """Record on the order's timeline that the customer was sent a notice about it that no
    ticket carries (``notice``, the notice type; ``label``, its untranslated name; ``channels``,
    how it went out). Written in the transaction of the change that caused it."""
    return OrderEvent.objects.create(
        order=order,
        type=OrderEventType.CUSTOMER_NOTIFIED,
        at=now,
        recorded_at=now,
        payload={"notice": notice, "label": label, "channels": list(channels)},
        **Actor.system("customer notices").event_fields(),
    )
