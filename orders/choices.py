from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class Channel(models.TextChoices):
    WEB = "web", _("Web")
    APP = "app", _("App")
    CHAT = "chat", _("Chat")
    EMAIL = "email", _("E-mail")
    PHONE = "phone", _("Phone")
    SOCIAL = "social", _("Social")
    LIVE_STREAM = "live_stream", _("Live stream")
    MINI_PROGRAM = "mini_program", _("Mini program")


class CustomerTier(models.TextChoices):
    REGULAR = "regular", _("Regular")
    VIP = "vip", _("VIP")


class OrderStatus(models.TextChoices):
    PENDING_PAYMENT = "pending_payment", _("Pending payment")
    PAID = "paid", _("Paid")
    PROCESSING = "processing", _("Processing")
    SHIPPED = "shipped", _("Shipped")
    DELIVERED = "delivered", _("Delivered")
    COMPLETED = "completed", _("Completed")
    CANCELLED = "cancelled", _("Cancelled")
    CLOSED = "closed", _("Closed")


class OrderEventType(models.TextChoices):
    # Lifecycle events the storefront sends (api.md).
    PAID = "paid", _("Paid")
    PAYMENT_FAILED = "payment_failed", _("Payment failed")
    PROCESSING = "processing", _("Processing")
    SHIPPED = "shipped", _("Shipped")
    DELIVERED = "delivered", _("Delivered")
    COMPLETED = "completed", _("Completed")
    CANCELLED = "cancelled", _("Cancelled")
    CLOSED = "closed", _("Closed")
    LOGISTICS_UPDATE = "logistics_update", _("Logistics update")
    # Events the platform records itself.
    CREATED = "created", _("Order created")
    REPLACED = "replaced", _("Order updated")
    STATUS_CHANGED = "status_changed", _("Status changed")
    EXCEPTION_RAISED = "exception_raised", _("Exception raised")
    EXCEPTION_RESOLVED = "exception_resolved", _("Exception resolved")
    # A notice went out to the customer about the order (an exception, before any ticket):
    # the payload names the notice (``notice``, ``label``) and the channels it took.
    CUSTOMER_NOTIFIED = "customer_notified", _("Customer notified")


STOREFRONT_EVENT_TYPES = (
    OrderEventType.PAID,
    OrderEventType.PAYMENT_FAILED,
    OrderEventType.PROCESSING,
    OrderEventType.SHIPPED,
    OrderEventType.DELIVERED,
    OrderEventType.COMPLETED,
    OrderEventType.CANCELLED,
    OrderEventType.CLOSED,
    OrderEventType.LOGISTICS_UPDATE,
)


class ActorKind(models.TextChoices):
    USER = "user", _("User")
    API_KEY = "api_key", _("Storefront key")
    SYSTEM = "system", _("System")


class ShipmentStatus(models.TextChoices):
    IN_TRANSIT = "in_transit", _("In transit")
    DELAYED = "delayed", _("Delayed")
    LOST = "lost", _("Lost")
    RETURNED_TO_SENDER = "returned_to_sender", _("Returned to sender")
    DELIVERED = "delivered", _("Delivered")


LOGISTICS_UPDATE_STATUSES = (
    ShipmentStatus.IN_TRANSIT,
    ShipmentStatus.DELAYED,
    ShipmentStatus.LOST,
    ShipmentStatus.RETURNED_TO_SENDER,
)


class PaymentStatus(models.TextChoices):
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")


class ExceptionType(models.TextChoices):
    PAYMENT_FAILED = "payment_failed", _("Payment failed")
    PAYMENT_TIMEOUT = "payment_timeout", _("Payment timeout")
    AMOUNT_MISMATCH = "amount_mismatch", _("Amount mismatch")
    SHIPPING_OVERDUE = "shipping_overdue", _("Shipping overdue")
    LOGISTICS_DELAYED = "logistics_delayed", _("Logistics delayed")
    PARCEL_LOST = "parcel_lost", _("Parcel lost")
    ADDRESS_PROBLEM = "address_problem", _("Address problem")


class ExceptionOutcome(models.TextChoices):
    """How an order exception ended: ``resolved`` when the problem went away (the system saw it
    go, or an agent fixed it); the others say what an agent did about it."""

    RESOLVED = "resolved", pgettext_lazy("exception outcome", "Resolved")
    CUSTOMER_NOTIFIED = "customer_notified", pgettext_lazy("exception outcome", "Customer notified")
    RESHIPPED = "reshipped", pgettext_lazy("exception outcome", "Reshipped")
    REFUNDED = "refunded", pgettext_lazy("exception outcome", "Refunded")
    NO_ACTION = "no_action", pgettext_lazy("exception outcome", "No action needed")


class NoticeChannel(models.TextChoices):
    """The ways a customer notice reaches the customer (the timelines of orders and tickets
    name them)."""

    WEBHOOK = "webhook", _("Storefront webhook")
    EMAIL = "email", _("E-mail")
