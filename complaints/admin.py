from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from .models import Complaint, ComplaintEvent, SeniorAgent, SeverityRules


@admin.register(SeverityRules)
class SeverityRulesAdmin(admin.ModelAdmin):
    """One row: the grading rules, the repeat window and the confirmation/reopen windows."""

    fieldsets = [
        (_("Critical"), {"fields": ["privacy_keywords", "safety_keywords", "legal_keywords"]}),
        (
            _("Major and repeats"),
            {"fields": ["amount_limit", "repeat_window_days", "critical_complaint_count"]},
        ),
        (_("Confirmation"), {"fields": ["confirmation_hours", "reopen_days"]}),
    ]

    def has_add_permission(self, request):
        return super().has_add_permission(request) and not SeverityRules.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        SeverityRules.load()  # the one row exists before anyone opens the list
        return super().changelist_view(request, extra_context)


@admin.register(SeniorAgent)
class SeniorAgentAdmin(admin.ModelAdmin):
    list_display = ["user"]
    autocomplete_fields = ["user"]
    search_fields = ["user__username", "user__first_name", "user__last_name"]


class ComplaintEventInline(admin.TabularInline):
    model = ComplaintEvent
    extra = 0
    can_delete = False
    fields = ["at", "type", "field", "old_value", "new_value", "reason", "actor_label"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Complaint)
class ComplaintAdmin(admin.ModelAdmin):
    """Read-only: complaints change through the desk and the API, which record events."""

    list_display = ["number", "status", "severity", "escalation_level", "category", "created_at"]
    list_filter = ["status", "severity", "escalation_level", "category"]
    search_fields = ["number", "ticket__number", "order__number", "customer__external_id"]
    inlines = [ComplaintEventInline]
    exclude = ["repeat_of"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
