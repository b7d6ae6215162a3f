"""The refund remedy: the one place complaints files a return with the refunds app.

A refund remedy is a refund-only request on the complaint's order, on the complaint's ticket
unless that ticket already handles a return, approved and paid by the refunds app's own rules.
"""

from __future__ import annotations

import math
from datetime import datetime
from decimal import Decimal

from django.utils.translation import gettext as _

from csplatform.actors import Actor
from orders.models import Order
from refunds.choices import ReturnReason
from refunds.models import ReturnRequest
from refunds.rules import quantities_claimed
from refunds.services import return_request_create

from .choices import ComplaintCategory
from .models import Complaint


def _refund_reason(category: str) -> str:
    """The return reason a refund remedy is filed with: the merchant's fault, so the
    warranty window applies rather than the no-reason window."""
    reasons: dict[str, str] = {
        ComplaintCategory.PRODUCT_QUALITY: ReturnReason.QUALITY,
        ComplaintCategory.LOGISTICS: ReturnReason.DAMAGED_IN_TRANSIT,
    }
    return reasons.get(category, ReturnReason.NOT_AS_DESCRIBED)


def _refund_lines(order: Order, amount: Decimal) -> list[tuple[str, int]]:
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


def complaint_refund_open(
    *, complaint: Complaint, amount: Decimal, actor: Actor, now: datetime
) -> ReturnRequest:
    """File the refund of ``amount`` for the (locked) complaint, with its order."""
    order = complaint.order
    assert order is not None  # the remedy refuses a refund for a complaint without an order
    ticket = complaint.ticket
    if ticket is not None and hasattr(ticket, "return_request"):
        ticket = None  # that ticket already handles a return: the refund gets its own
    return return_request_create(
        order=order,
        type="refund_only",
        reason=_refund_reason(complaint.category),
        lines=_refund_lines(order, amount),
        amount=amount,
        description=_("Remedy of complaint %(number)s") % {"number": complaint.number},
        actor=actor,
        ticket=ticket,
        now=now,
    )
