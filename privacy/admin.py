from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from csplatform.actors import Actor
from orders.admin import CustomerAdmin
from orders.models import Customer

from . import services
from .models import ErasureRecord, PiiAccessLog, PrivacySettings


class ReadOnlyAdmin(admin.ModelAdmin):
    """A record of what happened: read, never written, here."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(PiiAccessLog)
class PiiAccessLogAdmin(ReadOnlyAdmin):
    list_display = ["at", "user", "customer", "field", "reason", "order", "ticket", "ip_address"]
    list_filter = ["field", "reason"]
    search_fields = ["=customer__external_id", "=user__username"]
    list_select_related = ["user", "customer", "order", "ticket"]
    date_hierarchy = "at"
    show_full_result_count = False


@admin.register(ErasureRecord)
class ErasureRecordAdmin(ReadOnlyAdmin):
    list_display = ["at", "pseudonym", "trigger", "requested_by", "reason"]
    list_filter = ["trigger"]
    search_fields = ["=pseudonym"]
    date_hierarchy = "at"


@admin.register(PrivacySettings)
class PrivacySettingsAdmin(admin.ModelAdmin):
    list_display = ["__str__", "inactive_customer_retention_days", "erasure_batch_size"]

    def has_add_permission(self, request) -> bool:
        return not PrivacySettings.objects.exists()

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.action(description=_("Erase the personal data of the selected customers"))
def erase_personal_data(modeladmin, request, queryset):
    erased = 0
    for customer in queryset.filter(erased_at__isnull=True):
        services.customer_erase(
            customer=customer,
            requested_by=Actor.for_user(request.user),
            reason=str(_("Erasure requested through the admin")),
        )
        erased += 1
    modeladmin.message_user(
        request,
        ngettext(
            "Erased the personal data of %(count)d customer.",
            "Erased the personal data of %(count)d customers.",
            erased,
        )
        % {"count": erased},
        messages.SUCCESS,
    )


class CustomerWithErasureAdmin(CustomerAdmin):
    """The orders app's customer admin, with the erasure action that belongs to this app."""

    actions = [erase_personal_data]

    def get_actions(self, request):
        actions = super().get_actions(request)
        if not request.user.has_perm("privacy.add_erasurerecord"):
            actions.pop("erase_personal_data", None)
        return actions


admin.site.unregister(Customer)
admin.site.register(Customer, CustomerWithErasureAdmin)
