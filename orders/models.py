from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Round
from django.utils.translation import gettext_lazy as _
from encrypted_fields.fields import EncryptedCharField, EncryptedEmailField, EncryptedJSONField

from csplatform.models import Storefront
from csplatform.privacy import (
    email_blind_index,
    mask_address,
    mask_email,
    mask_phone,
    phone_blind_index,
)

from .choices import (
    ActorKind,
    Channel,
    CustomerTier,
    ExceptionOutcome,
    ExceptionType,
    OrderEventType,
    OrderStatus,
    PaymentStatus,
    ShipmentStatus,
)
from .querysets import OrderExceptionQuerySet, OrderQuerySet

MONEY = {"max_digits": 12, "decimal_places": 2}
ZERO = Decimal("0.00")


class Customer(models.Model):
    storefront = models.ForeignKey(
        Storefront,
        on_delete=models.PROTECT,
        related_name="customers",
        verbose_name=_("storefront"),
    )
    # Unique per storefront: two shops may number their customers alike.
    external_id = models.CharField(_("external id"), max_length=64)
    name = models.CharField(_("name"), max_length=100, blank=True)
    # Encrypted at rest; an empty value is stored as NULL. The blind indexes (keyed hashes,
    # csplatform.privacy) find a customer by exact phone or e-mail without decrypting.
    phone = EncryptedCharField(_("phone"), max_length=32, blank=True, null=True)
    email = EncryptedEmailField(_("e-mail"), blank=True, null=True)
    phone_index = models.CharField(max_length=64, blank=True, default="", editable=False)
    email_index = models.CharField(max_length=64, blank=True, default="", editable=False)
    tier = models.CharField(
        _("tier"), max_length=16, choices=CustomerTier.choices, default=CustomerTier.REGULAR
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    # Set when the customer's personal data was erased (privacy.services.customer_erase).
    erased_at = models.DateTimeField(_("erased at"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        constraints = [
            # external_id first: the desk's search by external id alone uses this index too.
            models.UniqueConstraint(
                fields=["external_id", "storefront"], name="customer_external_id_per_storefront"
            )
        ]
        indexes = [
            models.Index(fields=["phone_index"], name="customer_phone_index"),
            models.Index(fields=["email_index"], name="customer_email_index"),
            models.Index(fields=["name"]),
        ]

    def __str__(self) -> str:
        return self.external_id

    def save(self, *args, **kwargs):
        # The blind indexes are derived from phone and e-mail and must never disagree with them.
        self.phone_index = phone_blind_index(self.phone)
        self.email_index = email_blind_index(self.email)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and {"phone", "email"} & set(update_fields):
            kwargs["update_fields"] = {*update_fields, "phone_index", "email_index"}
        super().save(*args, **kwargs)

    @property
    def masked_phone(self) -> str:
        return mask_phone(self.phone)

    @property
    def masked_email(self) -> str:
        return mask_email(self.email)


class Order(models.Model):
    # Unique across storefronts: the number is the order's identity in every API path.
    number = models.CharField(_("number"), max_length=40, unique=True)
    # The customer's storefront (order_upsert keeps them equal); kept on the order so that a
    # storefront's orders are found without a join.
    storefront = models.ForeignKey(
        Storefront,
        on_delete=models.PROTECT,
        related_name="orders",
        verbose_name=_("storefront"),
    )
    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="orders", verbose_name=_("customer")
    )
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    status = models.CharField(
        _("status"), max_length=20, choices=OrderStatus.choices, default=OrderStatus.PENDING_PAYMENT
    )
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    lines_total = models.DecimalField(_("lines total"), **MONEY, default=ZERO)
    shipping_fee = models.DecimalField(_("shipping fee"), **MONEY, default=ZERO)
    discount = models.DecimalField(_("discount"), **MONEY, default=ZERO)
    total = models.DecimalField(_("total"), **MONEY, default=ZERO)
    paid_amount = models.DecimalField(_("paid"), **MONEY, default=ZERO)
    refunded_amount = models.DecimalField(_("refunded"), **MONEY, default=ZERO)
    # Every value encrypted at rest (the keys stay readable): name, phone, street, region.
    shipping_address = EncryptedJSONField(_("shipping address"), default=dict, blank=True)
    placed_at = models.DateTimeField(_("placed at"))
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True)
    shipped_at = models.DateTimeField(_("shipped at"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = OrderQuerySet.as_manager()

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        indexes = [
            models.Index(fields=["status", "placed_at"]),
            models.Index(fields=["status", "paid_at"]),
            models.Index(fields=["placed_at"]),
            # The orders changed since the KPIs' last count of orders per day.
            models.Index(fields=["updated_at"], name="order_updated_at"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(lines_total__gte=0)
                & Q(shipping_fee__gte=0)
                & Q(discount__gte=0)
                & Q(total__gte=0)
                & Q(paid_amount__gte=0)
                & Q(refunded_amount__gte=0),
                name="order_amounts_not_negative",
            ),
            models.CheckConstraint(
                # Rounded because SQLite computes decimals in floating point.
                condition=Q(total=Round(F("lines_total") + F("shipping_fee") - F("discount"), 2)),
                name="order_total_adds_up",
            ),
            models.CheckConstraint(
                condition=Q(refunded_amount__lte=F("paid_amount")),
                name="order_refunded_not_over_paid",
            ),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def refundable_amount(self) -> Decimal:
        return self.paid_amount - self.refunded_amount

    @property
    def masked_shipping_address(self) -> str:
        return mask_address(self.shipping_address)


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    sku = models.CharField(_("SKU"), max_length=64)
    name = models.CharField(_("name"), max_length=200)
    category = models.CharField(_("category"), max_length=64, blank=True)
    quantity = models.PositiveIntegerField(_("quantity"))
    unit_price = models.DecimalField(_("unit price"), **MONEY)
    quantity_returned = models.PositiveIntegerField(_("quantity returned"), default=0)

    class Meta:
        verbose_name = _("order line")
        verbose_name_plural = _("order lines")
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["order", "sku"], name="order_line_sku_unique"),
            models.CheckConstraint(condition=Q(quantity__gte=1), name="order_line_quantity_min"),
            models.CheckConstraint(
                condition=Q(quantity_returned__lte=F("quantity")),
                name="order_line_returned_not_over_bought",
            ),
            models.CheckConstraint(condition=Q(unit_price__gte=0), name="order_line_price_min"),
        ]

    def __str__(self) -> str:
        return f"{self.sku} × {self.quantity}"

    @property
    def line_total(self) -> Decimal:
        return self.unit_price * self.quantity


class Payment(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="payments")
    amount = models.DecimalField(_("amount"), **MONEY)
    method = models.CharField(_("method"), max_length=32, blank=True)
    transaction_id = models.CharField(_("transaction id"), max_length=100, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=PaymentStatus.choices)
    failure_reason = models.CharField(_("failure reason"), max_length=200, blank=True)
    at = models.DateTimeField(_("at"))

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        ordering = ["at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="payment_amount_min"),
        ]

    def __str__(self) -> str:
        return f"{self.order_id} {self.amount} {self.status}"


class Shipment(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="shipments")
    carrier = models.CharField(_("carrier"), max_length=64)
    tracking_number = models.CharField(_("tracking number"), max_length=64)
    status = models.CharField(
        _("status"),
        max_length=20,
        choices=ShipmentStatus.choices,
        default=ShipmentStatus.IN_TRANSIT,
    )
    shipped_at = models.DateTimeField(_("shipped at"))
    last_update_at = models.DateTimeField(_("last logistics update"))
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)

    class Meta:
        verbose_name = _("shipment")
        verbose_name_plural = _("shipments")
        ordering = ["shipped_at", "id"]
        indexes = [models.Index(fields=["status", "last_update_at"])]

    def __str__(self) -> str:
        return f"{self.carrier} {self.tracking_number}"


class ShipmentEvent(models.Model):
    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="events")
    status = models.CharField(_("status"), max_length=20, choices=ShipmentStatus.choices)
    description = models.CharField(_("description"), max_length=500, blank=True)
    at = models.DateTimeField(_("at"))

    class Meta:
        verbose_name = _("shipment event")
        verbose_name_plural = _("shipment events")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.status} {self.at:%Y-%m-%d %H:%M}"


class OrderEvent(models.Model):
    """The order's timeline: every change, who made it, what it was, when."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events")
    type = models.CharField(_("type"), max_length=32, choices=OrderEventType.choices)
    at = models.DateTimeField(_("at"), help_text=_("When it happened, as reported."))
    recorded_at = models.DateTimeField(_("recorded at"))
    actor_kind = models.CharField(_("actor"), max_length=16, choices=ActorKind.choices)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(_("actor name"), max_length=150, blank=True)
    payload = models.JSONField(_("payload"), default=dict, blank=True)
    # Storefront events carry a fingerprint of (type, at, payload) so a replay is recognised.
    fingerprint = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001

    class Meta:
        verbose_name = _("order event")
        verbose_name_plural = _("order events")
        ordering = ["at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["order", "fingerprint"],
                condition=Q(fingerprint__isnull=False),
                name="order_event_replay_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.order_id} {self.type} {self.at:%Y-%m-%d %H:%M}"


class OrderException(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="exceptions")
    type = models.CharField(_("type"), max_length=32, choices=ExceptionType.choices)
    detected_at = models.DateTimeField(_("detected at"))
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    details = models.JSONField(_("details"), default=dict, blank=True)
    # How it ended, set with resolved_at: by the system (``resolved``, no user) when an event
    # made the problem go away, or by an agent from a ticket with their outcome and note.
    outcome = models.CharField(
        _("outcome"), max_length=20, choices=ExceptionOutcome.choices, blank=True
    )
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("resolved by"),
    )
    resolution_note = models.CharField(_("resolution note"), max_length=500, blank=True)

    objects = OrderExceptionQuerySet.as_manager()

    class Meta:
        verbose_name = _("order exception")
        verbose_name_plural = _("order exceptions")
        ordering = ["detected_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["order", "type"],
                condition=Q(resolved_at__isnull=True),
                name="order_exception_one_open_per_type",
            ),
            # An open exception has no outcome yet; a resolved one always has one.
            models.CheckConstraint(
                condition=Q(
                    resolved_at__isnull=True,
                    outcome="",
                    resolved_by__isnull=True,
                    resolution_note="",
                )
                | (Q(resolved_at__isnull=False) & ~Q(outcome="")),
                name="order_exception_outcome_when_resolved",
            ),
        ]
        indexes = [models.Index(fields=["type", "detected_at"])]

    def __str__(self) -> str:
        return f"{self.order_id} {self.type}"

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None


class OrderSettings(models.Model):
    """The thresholds of the order timers; one row, edited in admin."""

    unpaid_cancel_minutes = models.PositiveIntegerField(
        _("cancel unpaid orders after (minutes)"), default=30
    )
    ship_within_hours = models.PositiveIntegerField(
        _("flag paid orders not shipped within (hours)"), default=24
    )
    logistics_stale_hours = models.PositiveIntegerField(
        _("flag shipments without a logistics update for (hours)"), default=72
    )

    class Meta:
        verbose_name = _("order settings")
        verbose_name_plural = _("order settings")
        constraints = [
            models.CheckConstraint(condition=Q(unpaid_cancel_minutes__gte=1), name="unpaid_min"),
            models.CheckConstraint(condition=Q(ship_within_hours__gte=1), name="ship_min"),
            models.CheckConstraint(condition=Q(logistics_stale_hours__gte=1), name="stale_min"),
        ]

    def __str__(self) -> str:
        return str(_("Order settings"))

    @classmethod
    def load(cls) -> "OrderSettings":
        return cls.objects.get_or_create(pk=1)[0]
