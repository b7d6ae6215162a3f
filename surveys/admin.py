from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from csplatform.privacy import mask_name

from .models import SurveyInvitation, SurveyResponse, SurveySettings


@admin.register(SurveySettings)
class SurveySettingsAdmin(admin.ModelAdmin):
    list_display = ["__str__", "csat_delay_hours", "expiry_days", "csat_cooldown_days"]
    fieldsets = [
        (
            _("Timing"),
            {
                "fields": [
                    "csat_delay_hours",
                    "nps_delay_hours",
                    "complaint_delay_hours",
                    "expiry_days",
                ]
            },
        ),
        (
            _("How often a customer is asked"),
            {"fields": ["csat_cooldown_days", "nps_cooldown_days"]},
        ),
        (_("Which tickets"), {"fields": ["spam_tag"]}),
        (
            _("Questions"),
            {
                "fields": [
                    "default_language",
                    "csat_question_zh",
                    "csat_question_en",
                    "nps_question_zh",
                    "nps_question_en",
                    "complaint_question_zh",
                    "complaint_question_en",
                ]
            },
        ),
    ]

    def has_add_permission(self, request) -> bool:
        return not SurveySettings.objects.exists()

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows written by the survey process: looked at, never edited by hand."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(SurveyResponse)
class SurveyResponseAdmin(ReadOnlyAdmin):
    list_display = [
        "answered_at",
        "kind",
        "score",
        "short_comment",
        "ticket",
        "order",
        "agent",
        "team",
        "channel",
        "ticket_kind",
        "follow_up_ticket",
    ]
    list_filter = [
        "kind",
        "score",
        ("answered_at", admin.DateFieldListFilter),
        "team",
        ("agent", admin.RelatedOnlyFieldListFilter),
        "channel",
        "ticket_kind",
        "language",
        "needs_follow_up",
    ]
    search_fields = ["ticket__number", "order__number", "follow_up_ticket__number"]
    date_hierarchy = "answered_at"
    list_select_related = ["ticket", "order", "agent", "team", "follow_up_ticket"]
    exclude = ["customer"]
    readonly_fields = ["customer_masked"]
    ordering = ["-answered_at"]

    @admin.display(description=_("comment"))
    def short_comment(self, obj) -> str:
        return obj.comment[:60] + ("…" if len(obj.comment) > 60 else "")

    @admin.display(description=_("customer"))
    def customer_masked(self, obj) -> str:
        return mask_name(obj.customer.name) or obj.customer.external_id


@admin.register(SurveyInvitation)
class SurveyInvitationAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at",
        "kind",
        "status",
        "reason",
        "ticket",
        "order",
        "complaint_number",
        "send_after",
        "sent_at",
        "sent_via",
        "expires_at",
    ]
    list_filter = ["kind", "status", "reason", "sent_via", "language"]
    search_fields = ["ticket__number", "order__number", "complaint_number"]
    list_select_related = ["ticket", "order"]
    # The token's nonce and hash stay out of sight; the customer is shown masked.
    exclude = ["token_nonce", "token_hash", "customer"]
    readonly_fields = ["customer_masked"]
    ordering = ["-created_at"]

    @admin.display(description=_("customer"))
    def customer_masked(self, obj) -> str:
        return mask_name(obj.customer.name) or obj.customer.external_id
