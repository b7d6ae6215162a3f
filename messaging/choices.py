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
