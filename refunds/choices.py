from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class ReturnType(models.TextChoices):
    REFUND_ONLY = "refund_only", _("Refund only")
    RETURN_REFUND = "return_refund", _("Return and refund")
    EXCHANGE = "exchange", _("Exchange")


# Types for which the goods come back before the refund or the exchange.
GOODS_BACK = (ReturnType.RETURN_REFUND, ReturnType.EXCHANGE)


class ReturnReason(models.TextChoices):
    NO_REASON_7D = "no_reason_7d", _("No-reason return (7 days)")
    QUALITY = "quality", _("Quality problem")
    WRONG_ITEM = "wrong_item", _("Wrong item sent")
    NOT_AS_DESCRIBED = "not_as_described", _("Not as described")
    DAMAGED_IN_TRANSIT = "damaged_in_transit", _("Damaged in transit")
    SIZE_FIT = "size_fit", _("Size or fit")
    MISSING_PARTS = "missing_parts", _("Missing parts")
    OTHER = "other", _("Other")


# Reasons that are the merchant's fault: covered by the warranty window, not only by the
# no-reason window.
MERCHANT_FAULT = (
    ReturnReason.QUALITY,
    ReturnReason.WRONG_ITEM,
    ReturnReason.NOT_AS_DESCRIBED,
    ReturnReason.DAMAGED_IN_TRANSIT,
    ReturnReason.MISSING_PARTS,
)


class ReturnStatus(models.TextChoices):
    REQUESTED = "requested", _("Requested")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    AWAITING_RETURN = "awaiting_return", _("Awaiting the goods")
    RECEIVED = "received", _("Goods received")
    INSPECTED = "inspected", _("Inspected")
    REFUNDED = "refunded", _("Refunded")
    EXCHANGED = "exchanged", _("Exchanged")
    CANCELLED = "cancelled", _("Cancelled")
    CLOSED = "closed", _("Closed")


# Requests whose goods have not come back: their units are not in ``quantity_returned`` yet.
BEFORE_RECEIPT_STATUSES = (
    ReturnStatus.REQUESTED,
    ReturnStatus.APPROVED,
    ReturnStatus.AWAITING_RETURN,
)

OPEN_RETURN_STATUSES = (
    ReturnStatus.REQUESTED,
    ReturnStatus.APPROVED,
    ReturnStatus.AWAITING_RETURN,
    ReturnStatus.RECEIVED,
    ReturnStatus.INSPECTED,
)

# Requests that still take evidence: undecided or on their way, and rejected ones (new evidence
# for an appeal, within the appeal window).
EVIDENCE_OPEN_STATUSES = (
    ReturnStatus.REQUESTED,
    ReturnStatus.APPROVED,
    ReturnStatus.AWAITING_RETURN,
    ReturnStatus.REJECTED,
)


class ReturnEventType(models.TextChoices):
    """What a row of a request's timeline records."""

    REQUESTED = "requested", _("Requested")
    STATUS = "status", _("Status changed")
    # An agent sent an approval above their limit to a supervisor.
    PROPOSED = "proposed", _("Proposed to a supervisor")
    APPEALED = "appealed", _("Appealed")
    SHIPPED_BACK = "shipped_back", _("Goods shipped back")
    EVIDENCE_ADDED = "evidence_added", _("Evidence added")
    AUTO_APPROVE_FAILED = "auto_approve_failed", _("Automatic approval failed")
    REFUND_ADDED = "refund_added", _("Refund added")
    REFUND_PAID = "refund_paid", _("Refund paid")
    PAYOUT_FAILED = "payout_failed", _("Payout failed")
    PAYOUT_RETRIED = "payout_retried", _("Payout retried")
    REFUND_OVERDUE = "refund_overdue", _("Refund overdue")


class RefundStatus(models.TextChoices):
    PENDING = "pending", pgettext_lazy("refund status", "Pending")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")
