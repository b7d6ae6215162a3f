from decimal import Decimal

from rest_framework import serializers

from csplatform.api.strict import MomentField, StrictSerializer
from csplatform.privacy import mask_email, mask_name, mask_phone
from orders.choices import (
    LOGISTICS_UPDATE_STATUSES,
    STOREFRONT_EVENT_TYPES,
    Channel,
    CustomerTier,
    OrderEventType,
    OrderStatus,
)
from orders.models import (
    Customer,
    Order,
    OrderEvent,
    OrderException,
    OrderLine,
    Payment,
    Shipment,
    ShipmentEvent,
)
from orders.transitions import allowed_next

MONEY = {"max_digits": 12, "decimal_places": 2}

# --- Input -----------------------------------------------------------------------------------


class CustomerInputSerializer(StrictSerializer):
    external_id = serializers.CharField(max_length=64)
    name = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    phone = serializers.CharField(max_length=32, required=False, allow_blank=True, default="")
    email = serializers.EmailField(required=False, allow_blank=True, default="")
    tier = serializers.ChoiceField(choices=CustomerTier.choices, required=False)


class OrderLineInputSerializer(StrictSerializer):
    sku = serializers.CharField(max_length=64)
    name = serializers.CharField(max_length=200)
    quantity = serializers.IntegerField(min_value=1, max_value=1_000_000)
    unit_price = serializers.DecimalField(**MONEY, min_value=Decimal("0"))
    category = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")


class AddressSerializer(StrictSerializer):
    name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    phone = serializers.CharField(max_length=32, required=False, allow_blank=True)
    province = serializers.CharField(max_length=64, required=False, allow_blank=True)
    city = serializers.CharField(max_length=64, required=False, allow_blank=True)
    district = serializers.CharField(max_length=64, required=False, allow_blank=True)
    line1 = serializers.CharField(max_length=300, required=False, allow_blank=True)
    postcode = serializers.CharField(max_length=16, required=False, allow_blank=True)


class OrderPutInputSerializer(StrictSerializer):
    channel = serializers.ChoiceField(choices=Channel.choices)
    customer = CustomerInputSerializer()
    currency = serializers.RegexField(r"^[A-Z]{3}$", required=False, default="CNY")
    lines = OrderLineInputSerializer(many=True, allow_empty=False, max_length=500)
    shipping_fee = serializers.DecimalField(
        **MONEY, min_value=Decimal("0"), required=False, default=Decimal("0")
    )
    discount = serializers.DecimalField(
        **MONEY, min_value=Decimal("0"), required=False, default=Decimal("0")
    )
    total = serializers.DecimalField(**MONEY, min_value=Decimal("0"))
    status = serializers.ChoiceField(
        choices=OrderStatus.choices, required=False, default=OrderStatus.PENDING_PAYMENT
    )
    placed_at = MomentField()
    shipping_address = AddressSerializer(required=False, default=dict)


class OrderEventInputSerializer(StrictSerializer):
    type = serializers.ChoiceField(choices=[(t.value, t.label) for t in STOREFRONT_EVENT_TYPES])
    at = MomentField()
    # paid / payment_failed
    amount = serializers.DecimalField(**MONEY, min_value=Decimal("0"), required=False)
    method = serializers.CharField(max_length=32, required=False, allow_blank=True)
    transaction_id = serializers.CharField(max_length=100, required=False, allow_blank=True)
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True)
    # shipped / logistics_update
    carrier = serializers.CharField(max_length=64, required=False)
    tracking_number = serializers.CharField(max_length=64, required=False)
    status = serializers.ChoiceField(
        choices=[(s.value, s.label) for s in LOGISTICS_UPDATE_STATUSES], required=False
    )
    description = serializers.CharField(max_length=500, required=False, allow_blank=True)

    REQUIRED = {
        OrderEventType.PAID: ("amount",),
        OrderEventType.SHIPPED: ("carrier", "tracking_number"),
        OrderEventType.LOGISTICS_UPDATE: ("status",),
    }
    ALLOWED = {
        OrderEventType.PAID: ("amount", "method", "transaction_id"),
        OrderEventType.PAYMENT_FAILED: ("amount", "method", "transaction_id", "reason"),
        OrderEventType.SHIPPED: ("carrier", "tracking_number"),
        OrderEventType.LOGISTICS_UPDATE: ("status", "description", "tracking_number"),
    }

    def validate(self, attrs):
        event_type = attrs["type"]
        missing = {
            f: ["This field is required for this event type."]
            for f in self.REQUIRED.get(event_type, ())
            if attrs.get(f) in (None, "")
        }
        if missing:
            raise serializers.ValidationError(missing)
        return attrs

    def payload(self) -> dict:
        """The event's own fields, normalised so that a replay fingerprints the same."""
        data = self.validated_data
        payload = {}
        for name in self.ALLOWED.get(data["type"], ()):
            if name in data:
                value = data[name]
                payload[name] = f"{value:.2f}" if isinstance(value, Decimal) else value
        return payload


# --- Output ----------------------------------------------------------------------------------


class CustomerOutputSerializer(serializers.ModelSerializer):
    phone = serializers.SerializerMethodField()
    email = serializers.SerializerMethodField()

    class Meta:
        model = Customer
        fields = ["external_id", "name", "tier", "phone", "email"]

    def get_phone(self, obj) -> str:
        return mask_phone(obj.phone)

    def get_email(self, obj) -> str:
        return mask_email(obj.email)


class OrderLineOutputSerializer(serializers.ModelSerializer):
    line_total = serializers.DecimalField(**MONEY, read_only=True)

    class Meta:
        model = OrderLine
        fields = [
            "sku",
            "name",
            "category",
            "quantity",
            "unit_price",
            "quantity_returned",
            "line_total",
        ]


class PaymentOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Payment
        fields = ["amount", "method", "transaction_id", "status", "failure_reason", "at"]


class ShipmentEventOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = ShipmentEvent
        fields = ["status", "description", "at"]


class ShipmentOutputSerializer(serializers.ModelSerializer):
    events = ShipmentEventOutputSerializer(many=True, read_only=True)

    class Meta:
        model = Shipment
        fields = [
            "carrier",
            "tracking_number",
            "status",
            "shipped_at",
            "last_update_at",
            "delivered_at",
            "events",
        ]


class OrderExceptionOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = OrderException
        fields = ["type", "detected_at", "resolved_at", "outcome", "details"]


class OrderEventOutputSerializer(serializers.ModelSerializer):
    actor = serializers.SerializerMethodField()

    class Meta:
        model = OrderEvent
        fields = ["type", "at", "recorded_at", "actor", "payload"]

    def get_actor(self, obj) -> dict:
        return {"kind": obj.actor_kind, "name": obj.actor_label}


class MaskedAddressSerializer(serializers.Serializer):
    """The address to district level; name and phone masked; street and postcode left out."""

    def to_representation(self, instance):
        return {
            "name": mask_name(instance.get("name")),
            "phone": mask_phone(instance.get("phone")),
            "province": instance.get("province", ""),
            "city": instance.get("city", ""),
            "district": instance.get("district", ""),
        }


class OrderOutputSerializer(serializers.ModelSerializer):
    customer = CustomerOutputSerializer(read_only=True)
    lines = OrderLineOutputSerializer(many=True, read_only=True)
    payments = PaymentOutputSerializer(many=True, read_only=True)
    shipments = ShipmentOutputSerializer(many=True, read_only=True)
    exceptions = OrderExceptionOutputSerializer(many=True, read_only=True)
    timeline = OrderEventOutputSerializer(source="events", many=True, read_only=True)
    allowed_next_statuses = serializers.SerializerMethodField()
    shipping_address = serializers.SerializerMethodField()

    class Meta:
        model = Order
        fields = [
            "number",
            "channel",
            "status",
            "allowed_next_statuses",
            "currency",
            "lines_total",
            "shipping_fee",
            "discount",
            "total",
            "paid_amount",
            "refunded_amount",
            "placed_at",
            "paid_at",
            "shipped_at",
            "delivered_at",
            "completed_at",
            "cancelled_at",
            "closed_at",
            "customer",
            "shipping_address",
            "lines",
            "payments",
            "shipments",
            "exceptions",
            "timeline",
        ]

    def get_allowed_next_statuses(self, obj) -> list[str]:
        return allowed_next(obj.status)

    def get_shipping_address(self, obj) -> dict[str, str]:
        return MaskedAddressSerializer().to_representation(obj.shipping_address or {})


class OrderEventRecordedSerializer(serializers.Serializer):
    order = serializers.CharField(source="order.number")
    order_status = serializers.CharField(source="order.status")
    event = OrderEventOutputSerializer(source="*")
