from django.db import models
from django.utils.translation import gettext_lazy as _


class WebhookEventType(models.TextChoices):
    """The events a storefront may subscribe an endpoint to (api.md, "Webhooks")."""

    TICKET_CREATED = "ticket.created", _("Ticket created")
    TICKET_MESSAGE_CREATED = "ticket.message.created", _("Public ticket message created")
    TICKET_STATUS_CHANGED = "ticket.status_changed", _("Ticket status changed")
    ORDER_EXCEPTION_OPENED = "order.exception.opened", _("Order exception opened")
    REFUND_SETTLED = "refund.settled", _("Refund settled")


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    DELIVERED = "delivered", _("Delivered")
    # Not delivered within the retry window (24 hours); may be sent again by hand.
    FAILED = "failed", _("Failed")
    # Its endpoint was disabled or deleted before it was delivered; may be sent again by hand.
    DEAD = "dead", _("Dead")


class IgnoredReason(models.TextChoices):
    """Why an inbound mail became no ticket message (``EmailMessage.ignored_reason``)."""

    AUTO_SUBMITTED = "auto_submitted", _("Auto-submitted (Auto-Submitted header)")
    BULK = "bulk", _("Bulk or list mail (Precedence header)")
    AUTO_REPLY = "auto_reply", _("Auto-reply (X-Autoreply / X-Autorespond header)")
    NULL_SENDER = "null_sender", _("Empty return path (<>)")
    BOUNCE = "bounce", _("Delivery report or bounce")
    OWN_ADDRESS = "own_address", _("Sent from one of our own addresses")
    RATE_LIMITED = "rate_limited", _("Too many mails from this sender in an hour")
    MAILBOX_DISABLED = "mailbox_disabled", _("Mailbox disabled")


# What the inbound webhook answers for a mail to no known mailbox (recorded nowhere: there is
# no mailbox to record it in), beside the reasons an ignored mail is recorded with.
UNKNOWN_RECIPIENT = "unknown_recipient"
INBOUND_IGNORED_REASONS = [*IgnoredReason.values, UNKNOWN_RECIPIENT]
