from django.contrib import admin
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from csplatform.privacy import email_blind_index, phone_blind_index

from .models import (
    Customer,
    Order,
    OrderEvent,
    OrderException,
    OrderLine,
    OrderSettings,
    Payment,
    Shipment,
)


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class OrderLineInline(ReadOnlyInline):
    model = OrderLine
    fields = ["sku", "name", "category", "quantity", "unit_price", "quantity_returned"]


class PaymentInline(ReadOnlyInline):
    model = Payment
    fields = ["at", "amount", "method", "transaction_id", "status", "failure_reason"]


class ShipmentInline(ReadOnlyInline):
    model = Shipment
    fields = ["carrier", "tracking_number", "status", "shipped_at", "last_update_at"]


class OrderExceptionInline(ReadOnlyInline):
    model = OrderException
    fields = ["type", "detected_at", "resolved_at", "outcome", "details"]


class OrderEventInline(ReadOnlyInline):
    model = OrderEvent
    fields = ["at", "type", "actor_kind", "actor_label", "payload"]
    verbose_name_plural = _("timeline")


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    """Phone and e-mail are shown masked; revealing one is a logged desk action."""

    list_display = [
        "external_id",
        "storefront",
        "name",
        "masked_phone",
        "tier",
        "created_at",
        "erased_at",
    ]
    list_filter = ["storefront", "tier", ("erased_at", admin.EmptyFieldListFilter)]
    list_select_related = ["storefront"]
    search_fields = ["=external_id", "name"]
    fields = ["storefront", "external_id", "name", "tier", "masked_phone", "masked_email"]
    fields += ["created_at", "updated_at", "erased_at"]
    readonly_fields = ["masked_phone", "masked_email", "created_at", "updated_at", "erased_at"]

    def get_readonly_fields(self, request, obj=None):
        # A customer's orders are their storefront's: the customer cannot move to another.
        readonly = super().get_readonly_fields(request, obj)
        return readonly if obj is None else ["storefront", *readonly]

    @admin.display(description=_("phone"))
    def masked_phone(self, obj):
        return obj.masked_phone

    @admin.display(description=_("e-mail"))
    def masked_email(self, obj):
        return obj.masked_email

    def get_search_results(self, request, queryset, search_term):
        # Phones and e-mails are encrypted: an exact one is found through its blind index.
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        term = search_term.strip()
        by_contact = Q(phone_index=phone_blind_index(term) or "-") | Q(
            email_index=email_blind_index(term) or "-"
        )
        if term:
            results |= queryset.filter(by_contact)
        return results, may_have_duplicates


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    """Orders come from the storefront: the admin reads them, it does not edit them."""

    list_display = ["number", "storefront", "customer", "channel", "status", "total"]
    list_display += ["paid_amount", "placed_at"]
    list_filter = ["status", "channel", "storefront"]
    search_fields = ["=number", "=customer__external_id"]
    date_hierarchy = "placed_at"
    list_select_related = ["customer", "storefront"]
    show_full_result_count = False
    exclude = ["shipping_address"]
    readonly_fields = ["masked_shipping_address"]
    inlines = [
        OrderLineInline,
        PaymentInline,
        ShipmentInline,
        OrderExceptionInline,
        OrderEventInline,
    ]

    @admin.display(description=_("shipping address"))
    def masked_shipping_address(self, obj):
        return obj.masked_shipping_address

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(OrderException)
class OrderExceptionAdmin(admin.ModelAdmin):
    list_display = ["order", "type", "detected_at", "resolved_at", "outcome"]
    list_filter = ["type", ("resolved_at", admin.EmptyFieldListFilter), "outcome"]
    search_fields = ["=order__number"]
    list_select_related = ["order"]
    # Resolved from the desk (or by the events that end the problem), which puts the outcome
    # on the order's timeline; an edit here would leave no event behind.
    readonly_fields = [
        "order",
        "type",
        "detected_at",
        "details",
        "resolved_at",
        "outcome",
        "resolved_by",
        "resolution_note",
    ]


@admin.register(OrderSettings)
class OrderSettingsAdmin(admin.ModelAdmin):
    list_display = [
        "__str__",
        "unpaid_cancel_minutes",
        "ship_within_hours",
        "logistics_stale_hours",
    ]

    def has_add_permission(self, request) -> bool:
        return not OrderSettings.objects.exists()

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
