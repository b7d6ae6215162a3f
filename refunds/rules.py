"""The merchant's return rules, checked before a request is accepted.

Each refusal names its rule (a stable ``code``) so the storefront can tell the customer why.
Windows are counted in whole days in the business time zone; the day of delivery does not
count, so a 7-day window on goods delivered on the 1st ends at the end of the 8th.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Exists, OuterRef, Q, Sum

from csplatform.errors import DomainError
from orders.choices import OrderStatus

from .choices import (
    BEFORE_RECEIPT_STATUSES,
    GOODS_BACK,
    MERCHANT_FAULT,
    RefundStatus,
    ReturnReason,
    ReturnStatus,
    ReturnType,
)
from .models import Refund, ReturnLine

if TYPE_CHECKING:
    from orders.models import OrderLine

CENT = Decimal("0.01")
UNSHIPPED = (OrderStatus.PAID, OrderStatus.PROCESSING)


class ReturnRefused(DomainError):
    """422: the request is well-formed but a return rule refuses it."""


@dataclass(frozen=True)
class RequestedLine:
    order_line: OrderLine
    quantity: int


def window_end(delivered_at: datetime, days: int) -> datetime:
    """The end of the window: midnight after the ``days``-th day following delivery."""
    tz = ZoneInfo(settings.TIME_ZONE)
    delivered_day = delivered_at.astimezone(tz).date()
    last_day = delivered_day + timedelta(days=days)
    return datetime.combine(last_day + timedelta(days=1), datetime.min.time(), tzinfo=tz)


def category_rule(category: str, category_rules: dict):
    return category_rules.get(category)


def no_reason_days_for(rule, rules) -> int:
    """The no-reason window of the category's rule, or else the shop's."""
    return (
        rule.no_reason_days
        if rule is not None and rule.no_reason_days is not None
        else (rules.no_reason_days)
    )


def warranty_days_for(rule, rules) -> int:
    """The warranty of the category's rule, or else the shop's."""
    return (
        rule.warranty_days
        if rule is not None and rule.warranty_days is not None
        else (rules.warranty_days)
    )


def check_window(*, order, reason: str, type: str, lines, rules, category_rules, now) -> None:
    """The time and category rules: no-reason window, warranty, refund-only after delivery.

    The merchant's faults (quality, wrong item, ...) are covered for the category's warranty;
    every other reason (no reason, size or fit, other) is a change of mind and gets the
    no-reason window and its category exclusions, so it cannot stretch the warranty.
    """
    delivered = order.delivered_at
    if type == ReturnType.REFUND_ONLY and delivered and reason == ReturnReason.NO_REASON_7D:
        raise ReturnRefused(
            "After delivery a refund without returning the goods needs a reason other than "
            "the no-reason return.",
            code="refund_only_needs_reason",
        )
    if delivered is None:
        if reason == ReturnReason.NO_REASON_7D and type in GOODS_BACK:
            raise ReturnRefused(
                "A no-reason return starts when the goods are delivered.",
                code="not_delivered_yet",
            )
        return
    for line in lines:
        rule = category_rule(line.order_line.category, category_rules)
        if reason in MERCHANT_FAULT:
            days = warranty_days_for(rule, rules)
            end = window_end(delivered, days)
            if now >= end:
                raise ReturnRefused(
                    f"The {days}-day warranty has ended.",
                    code="outside_warranty",
                    sku=line.order_line.sku,
                    window_ended_at=end.isoformat(),
                )
            continue
        if rule is not None and not rule.no_reason_returns:
            raise ReturnRefused(
                f"Category '{line.order_line.category}' is excluded from no-reason returns.",
                code="category_excluded",
                sku=line.order_line.sku,
            )
        days = no_reason_days_for(rule, rules)
        end = window_end(delivered, days)
        if now >= end:
            raise ReturnRefused(
                f"The {days}-day no-reason return window has ended.",
                code="outside_return_window",
                sku=line.order_line.sku,
                window_ended_at=end.isoformat(),
            )


def quantities_claimed(order, *, exclude_request_id=None) -> dict[int, int]:
    """Units per order line that requests hold and ``quantity_returned`` does not count yet.

    Goods that came back are in ``quantity_returned``; on top of those, a request holds its
    units while it waits for a decision or for the goods, and a refund-only request that was
    refunded holds them for good (the money for them went back). Cancelled, rejected and
    closed requests free theirs.
    """
    refunded = Refund.objects.filter(request=OuterRef("request")).exclude(
        status=RefundStatus.FAILED
    )
    lines = ReturnLine.objects.filter(request__order=order).filter(
        Q(request__status__in=BEFORE_RECEIPT_STATUSES)
        | Q(request__type=ReturnType.REFUND_ONLY, request__status=ReturnStatus.REFUNDED)
        | Q(
            Exists(refunded),
            request__type=ReturnType.REFUND_ONLY,
            request__status=ReturnStatus.CLOSED,
        )
    )
    if exclude_request_id:
        lines = lines.exclude(request_id=exclude_request_id)
    return dict(
        lines.values("order_line_id").annotate(n=Sum("quantity")).values_list("order_line_id", "n")
    )


def check_quantities(*, order, lines, exclude_request_id=None) -> None:
    """At most what was bought, less what came back and what other requests already hold."""
    held = quantities_claimed(order, exclude_request_id=exclude_request_id)
    for line in lines:
        ol = line.order_line
        available = ol.quantity - ol.quantity_returned - held.get(ol.pk, 0)
        if line.quantity > available:
            raise ReturnRefused(
                f"SKU {ol.sku}: {line.quantity} requested, {max(available, 0)} can still be "
                "returned.",
                code="quantity_exceeds_returnable",
                sku=ol.sku,
                returnable=max(available, 0),
            )


def refunds_whole_lines(order, type: str) -> bool:
    """Refund-only before shipment cancels whole lines: nothing of them will be sent."""
    return type == ReturnType.REFUND_ONLY and order.status in UNSHIPPED


def lines_value(lines) -> Decimal:
    """What the requested units are worth at the prices paid for them."""
    return sum(
        (line.order_line.unit_price * line.quantity for line in lines), Decimal("0")
    ).quantize(CENT)


def check_amount(*, order, amount: Decimal) -> None:
    refundable = order.paid_amount - order.refunded_amount
    if amount > refundable:
        raise ReturnRefused(
            f"{amount} is more than the {refundable} still refundable on this order.",
            code="amount_exceeds_refundable",
            refundable=str(refundable),
        )
