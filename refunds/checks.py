"""What a new return request must pass before it is filed: its lines, the order's payment,
the return windows, the units and the money still left to return. Each refusal names its rule
(``rules``); the checks run in this order, so the first rule broken is the one reported.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.utils.translation import gettext as _

from csplatform.errors import InvalidInput
from orders.models import Order, OrderLine

from . import rules as return_rules
from .choices import ReturnType
from .models import CategoryRule, RefundRules
from .rules import CENT


@dataclass(frozen=True)
class CheckedRequest:
    """The request as it will be filed: its lines (whole lines before shipment), its amount
    and the rules it was checked against."""

    lines: list[return_rules.RequestedLine]
    amount: Decimal
    rules: RefundRules


def return_lines_check(lines: list[tuple[str, int]]) -> None:
    """The shape of the lines asked for, checked before anything is locked."""
    if not lines:
        raise InvalidInput(
            _("Name at least one line."), errors={"lines": [_("At least one line.")]}
        )
    if any(quantity < 1 for _sku, quantity in lines):
        raise InvalidInput(
            _("Quantities must be at least 1."), errors={"lines": [_("Quantity below 1.")]}
        )


def return_request_check(
    *,
    order: Order,
    type: str,
    reason: str,
    lines: list[tuple[str, int]],
    amount: Decimal | None,
    now: datetime,
) -> CheckedRequest:
    """Every rule a request on the (locked) order must pass; ``amount`` ``None`` asks for
    what the lines are worth, up to what is left to refund."""
    by_sku = {line.sku: line for line in OrderLine.objects.filter(order=order)}
    requested = []
    for sku, quantity in lines:
        if sku not in by_sku:
            raise return_rules.ReturnRefused(
                _("The order has no line with SKU %(sku)s.") % {"sku": sku},
                code="unknown_sku",
                sku=sku,
            )
        requested.append(return_rules.RequestedLine(order_line=by_sku[sku], quantity=quantity))
    if len({line.order_line.pk for line in requested}) != len(requested):
        raise InvalidInput(
            _("Each SKU may appear once."), errors={"lines": [_("Each SKU may appear once.")]}
        )
    if order.paid_amount <= 0:
        raise return_rules.ReturnRefused(_("Nothing has been paid on this order."), code="not_paid")
    whole_lines = return_rules.refunds_whole_lines(order, type)
    if whole_lines:
        # Nothing of an unshipped line will be sent: the refund takes the whole line.
        requested = [
            return_rules.RequestedLine(
                order_line=line.order_line,
                quantity=line.order_line.quantity - line.order_line.quantity_returned,
            )
            for line in requested
        ]
    rules = RefundRules.load()
    category_rules = {c.category: c for c in CategoryRule.objects.all()}
    return_rules.check_window(
        order=order,
        reason=reason,
        type=type,
        lines=requested,
        rules=rules,
        category_rules=category_rules,
        now=now,
    )
    return_rules.check_quantities(order=order, lines=requested)
    refundable = order.paid_amount - order.refunded_amount
    if type == ReturnType.EXCHANGE:
        amount = Decimal("0.00")
    else:
        value = return_rules.lines_value(requested)
        due = min(value, refundable)
        if whole_lines and amount is not None and Decimal(amount).quantize(CENT) != due:
            raise return_rules.ReturnRefused(
                _("Before shipment a refund covers whole lines: %(due)s, not %(amount)s.")
                % {"due": due, "amount": amount},
                code="whole_line_before_shipment",
                amount_due=str(due),
            )
        amount = due if amount is None else Decimal(amount).quantize(CENT)
        if amount <= 0 and due > 0:
            raise InvalidInput(
                _("The amount must be above zero."), errors={"amount": [_("Must be above zero.")]}
            )
        if amount > value:
            raise return_rules.ReturnRefused(
                _("%(amount)s is more than the %(value)s the returned items are worth.")
                % {"amount": amount, "value": value},
                code="amount_exceeds_items",
                items_value=str(value),
            )
        return_rules.check_amount(order=order, amount=amount)
        if amount <= 0:
            raise return_rules.ReturnRefused(
                _("Nothing is left to refund on this order."),
                code="amount_exceeds_refundable",
                refundable=str(refundable),
            )
    return CheckedRequest(lines=requested, amount=amount, rules=rules)
