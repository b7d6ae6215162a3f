from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from .models import (
    AgentProfile,
    CannedReply,
    RoutingRule,
    Tag,
    Team,
    Ticket,
    TicketEvent,
    TicketSettings,
)


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "supervisor", "member_count"]
    search_fields = ["name"]
    filter_horizontal = ["members"]
    autocomplete_fields = ["supervisor"]

    @admin.display(description=_("members"))
    def member_count(self, obj):
        return obj.members.count()


@admin.register(AgentProfile)
class AgentProfileAdmin(admin.ModelAdmin):
    list_display = ["user", "presence", "capacity", "last_assigned_at"]
    list_filter = ["presence"]
    list_editable = ["capacity"]
    search_fields = ["user__username", "user__first_name", "user__last_name"]
    autocomplete_fields = ["user"]


class CannedReplyForm(forms.ModelForm):
    class Meta:
        model = CannedReply
        fields = ["title", "team", "active", "body"]
        widgets = {"body": forms.Textarea(attrs={"rows": 8, "cols": 80})}


@admin.register(CannedReply)
class CannedReplyAdmin(admin.ModelAdmin):
    form = CannedReplyForm
    list_display = ["title", "team", "active", "updated_at"]
    list_filter = ["active", "team"]
    search_fields = ["title", "body"]


@admin.register(RoutingRule)
class RoutingRuleAdmin(admin.ModelAdmin):
    list_display = [
        "position",
        "name",
        "active",
        "kind",
        "channel",
        "customer_tier",
        "team",
        "set_priority",
    ]
    list_display_links = ["name"]
    list_editable = ["position", "active"]
    list_filter = ["active", "team"]


@admin.register(TicketSettings)
class TicketSettingsAdmin(admin.ModelAdmin):
    list_display = ["__str__", "auto_close_solved_after_hours", "default_team", "attachment_max_mb"]

    def has_add_permission(self, request) -> bool:
        return not TicketSettings.objects.exists()

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    search_fields = ["name"]


class TicketEventInline(admin.TabularInline):
    model = TicketEvent
    extra = 0
    can_delete = False
    fields = ["at", "type", "old_value", "new_value", "actor_label"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):
    """Tickets are worked in the desk; the admin reads them for audits."""

    list_display = ["number", "subject", "status", "priority", "kind", "team", "assignee"]
    list_filter = ["status", "priority", "kind", "channel", "team"]
    search_fields = ["=number", "subject"]
    list_select_related = ["team", "assignee"]
    show_full_result_count = False
    inlines = [TicketEventInline]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
