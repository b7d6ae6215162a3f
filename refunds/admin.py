from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from .choices import ReturnReason
from .models import CategoryRule, Refund, RefundRules, ReturnEvent, ReturnLine, ReturnRequest


class RefundRulesForm(forms.ModelForm):
    auto_approve_reasons = forms.MultipleChoiceField(
        label=_("reasons approved automatically"),
        choices=ReturnReason.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Requests with these reasons up to the limit are approved at once."),
    )

    class Meta:
        model = RefundRules
        fields = [
            "no_reason_days",
            "warranty_days",
            "appeal_days",
            "auto_approve_limit",
            "auto_approve_reasons",
            "supervisor_limit",
            "response_timeout_hours",
            "return_shipping_days",
            "refund_working_days",
            "working_calendar",
        ]

    def clean(self):
        data = super().clean()
        auto, supervisor = data.get("auto_approve_limit"), data.get("supervisor_limit")
        if auto is not None and supervisor is not None and auto > supervisor:
            raise forms.ValidationError(
                {"auto_approve_limit": _("At most the amount above which a supervisor approves.")}
            )
        return data


@admin.register(RefundRules)
class RefundRulesAdmin(admin.ModelAdmin):
    """One row: the merchant's return windows, approval limits and timers."""

    form = RefundRulesForm
    list_display = [
        "__str__",
        "no_reason_days",
        "warranty_days",
        "auto_approve_limit",
        "supervisor_limit",
        "response_timeout_hours",
    ]
    fieldsets = [
        (_("Windows"), {"fields": ["no_reason_days", "warranty_days", "appeal_days"]}),
        (
            _("Approval"),
            {"fields": ["auto_approve_limit", "auto_approve_reasons", "supervisor_limit"]},
        ),
        (
            _("Timers"),
            {
                "fields": [
                    "response_timeout_hours",
                    "return_shipping_days",
                    "refund_working_days",
                    "working_calendar",
                ]
            },
        ),
    ]

    def has_add_permission(self, request) -> bool:
        return not RefundRules.objects.exists()

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(CategoryRule)
class CategoryRuleAdmin(admin.ModelAdmin):
    list_display = ["category", "no_reason_returns", "no_reason_days", "warranty_days"]
    list_filter = ["no_reason_returns"]
    search_fields = ["category"]


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class ReturnLineInline(ReadOnlyInline):
    model = ReturnLine
    fields = ["order_line", "quantity"]


class RefundInline(ReadOnlyInline):
    model = Refund
    fields = [
        "amount",
        "currency",
        "status",
        "attempts",
        "needs_attention",
        "last_error",
        "provider_reference",
        "created_by",
        "created_at",
        "settled_at",
    ]


class ReturnEventInline(ReadOnlyInline):
    model = ReturnEvent
    fields = ["at", "type", "old_status", "new_status", "reason", "actor_kind", "actor_label"]
    verbose_name_plural = _("timeline")


@admin.register(ReturnRequest)
class ReturnRequestAdmin(admin.ModelAdmin):
    """Requests are decided in the desk and through the API, where every change leaves an
    event; the admin shows them for audits."""

    list_display = [
        "public_id",
        "order",
        "type",
        "reason",
        "status",
        "requested_amount",
        "created_at",
    ]
    list_filter = ["status", "type", "reason"]
    search_fields = ["=public_id", "=order__number", "=ticket__number"]
    date_hierarchy = "created_at"
    list_select_related = ["order"]
    show_full_result_count = False
    inlines = [ReturnLineInline, RefundInline, ReturnEventInline]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Refund)
class RefundAdmin(admin.ModelAdmin):
    """Refunds are paid out by the payout task; failed ones wait here for a supervisor."""

    list_display = [
        "id",
        "order",
        "request",
        "amount",
        "status",
        "attempts",
        "needs_attention",
        "created_at",
        "settled_at",
    ]
    list_filter = ["needs_attention", "status"]
    search_fields = ["=order__number", "=request__public_id", "=provider_reference"]
    list_select_related = ["order", "request"]
    show_full_result_count = False

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
