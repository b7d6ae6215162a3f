"""A complaint's refund remedy, carried out as a refund-only return request (registered with
``tickets.remedies``): approved and paid by the returns' own rules, at once within the
automatic limit, else by the desk."""

from __future__ import annotations

import math
from decimal import Decimal

from orders.models import Order
from tickets.remedies import RefundGrounds, RefundRemedy, RemedyOutcome

from .choices import ReturnReason, ReturnType
from .rules import quantities_claimed
from .services import return_request_create

REASON_BY_GROUNDS = {
    RefundGrounds.QUALITY: ReturnReason.QUALITY,
    RefundGrounds.DAMAGED_IN_TRANSIT: ReturnReason.DAMAGED_IN_TRANSIT,
    RefundGrounds.NOT_AS_DESCRIBED: ReturnReason.NOT_AS_DESCRIBED,
}


def refund_remedy_lines(order: Order, amount: Decimal) -> list[tuple[str, int]]:
    """The fewest units, line by line, whose value covers the amount: a refund claims the
    units it pays for, so the others stay returnable."""
    held = quantities_claimed(order)
    lines, covered = [], Decimal("0")
    for line in order.lines.order_by("id"):
        free = line.quantity - line.quantity_returned - held.get(line.pk, 0)
        if free <= 0 or covered >= amount or line.unit_price <= 0:
            continue
        need = min(free, max(1, math.ceil((amount - covered) / line.unit_price)))
        lines.append((line.sku, int(need)))
        covered += line.unit_price * int(need)
    return lines


def refund_remedy_execute(remedy: RefundRemedy) -> RemedyOutcome:
    ticket = remedy.ticket
    if ticket is not None and hasattr(ticket, "return_request"):
        ticket = None  # that ticket already handles a return: the refund gets its own
    request = return_request_create(
        order=remedy.order,
        type=ReturnType.REFUND_ONLY,
        reason=REASON_BY_GROUNDS[remedy.grounds],
        lines=refund_remedy_lines(remedy.order, remedy.amount),
        amount=remedy.amount,
        description=remedy.description,
        actor=remedy.actor,
        ticket=ticket,
        now=remedy.now,
    )
    return RemedyOutcome(record=request, reference=request.public_id)
