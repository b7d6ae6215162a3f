"""The refund remedy: the one place complaints asks for a refund.

The refunds app carries it out (registered with ``tickets.remedies``; complaints does not import
its neighbour): a refund-only request on the complaint's order, on the complaint's ticket unless
that ticket already handles a return, approved and paid by the refunds app's own rules.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.utils.translation import gettext as _

from csplatform.actors import Actor
from tickets.remedies import REFUND, RefundGrounds, RefundRemedy, RemedyOutcome, remedy_execute

from .choices import ComplaintCategory
from .models import Complaint

GROUNDS_BY_CATEGORY: dict[str, RefundGrounds] = {
    ComplaintCategory.PRODUCT_QUALITY: RefundGrounds.QUALITY,
    ComplaintCategory.LOGISTICS: RefundGrounds.DAMAGED_IN_TRANSIT,
}


def refund_grounds(category: str) -> RefundGrounds:
    """Why a refund remedy is granted: the merchant's fault, so the warranty window applies
    rather than the no-reason window."""
    return GROUNDS_BY_CATEGORY.get(category, RefundGrounds.NOT_AS_DESCRIBED)


def complaint_refund_open(
    *, complaint: Complaint, amount: Decimal, actor: Actor, now: datetime
) -> RemedyOutcome:
    """File the refund of ``amount`` for the (locked) complaint, with its order, in the
    complaint's transaction."""
    order = complaint.order
    assert order is not None  # the remedy refuses a refund for a complaint without an order
    return remedy_execute(
        kind=REFUND,
        remedy=RefundRemedy(
            order=order,
            amount=amount,
            grounds=refund_grounds(complaint.category),
            description=_("Remedy of complaint %(number)s") % {"number": complaint.number},
            actor=actor,
            ticket=complaint.ticket,
            now=now,
        ),
    )
