from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.forms.models import BaseInlineFormSet, inlineformset_factory
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _

from orders.choices import Channel, CustomerTier

from .choices import Priority, TicketKind, TicketStatus
from .models import (
    AgentProfile,
    BusinessCalendar,
    BusinessCalendarWorkday,
    BusinessHours,
    CannedReply,
    EscalationRule,
    Holiday,
    RoutingRule,
    SlaPolicy,
    SlaTarget,
    Tag,
    Team,
    Ticket,
    TicketEvent,
    TicketSettings,
)
from .sla.calendar import WEEKDAYS
from .sla.china import ChinaYearUnknown, mainland_china_year
from .sla.config import (
    DaysAdded,
    calendar_check,
    calendar_days_add,
    days_clash_check,
    workdays_check,
)
from .sla.locks import sla_config_lock
from .sla.recompute import sla_policy_deactivated, sla_recompute_after_commit


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "supervisor", "calendar", "member_count"]
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


# --- SLA configuration ------------------------------------------------------------------------


class BusinessHoursFormSet(BaseInlineFormSet):
    """Checks the whole week at once: overlapping or inverted intervals, no open time."""

    def clean(self):
        super().clean()
        if any(f.errors for f in self.forms if not self._should_delete_form(f)):
            return  # a row that does not read (no closing time) has its own error first
        rows = [
            f.cleaned_data
            for f in self.forms
            if f.cleaned_data and not f.cleaned_data.get("DELETE", False)
        ]
        week = {day: [] for day in WEEKDAYS}
        for row in rows:
            week[WEEKDAYS[row["weekday"]]].append([row["opens"], row["closes"]])
        timezone_name = self.data.get("timezone") or self.instance.timezone
        calendar_check({"timezone": timezone_name, "week": week, "holidays": []})


class BusinessHoursInline(admin.TabularInline):
    model = BusinessHours
    formset = BusinessHoursFormSet
    extra = 1


class HolidayInline(admin.TabularInline):
    model = Holiday
    extra = 1


# The holidays inline as posted, read again by the make-up days' check.
PostedHolidays = inlineformset_factory(BusinessCalendar, Holiday, fields=["date", "name"])


def _posted_holiday_dates(formset: BaseInlineFormSet) -> set | None:
    """The holiday dates of the change form that ``formset`` came with; None when they do not
    read (the holidays inline shows why)."""
    holidays = PostedHolidays(
        formset.data, instance=formset.instance, prefix=PostedHolidays.get_default_prefix()
    )
    if not holidays.is_valid():
        return None
    return {
        f.cleaned_data["date"]
        for f in holidays.forms
        if f.cleaned_data and not f.cleaned_data.get("DELETE", False)
    }


class WorkdayFormSet(BaseInlineFormSet):
    """Make-up days: hours that read, a date with its own hours or none, and no date that the
    holidays inline has too."""

    def clean(self):
        super().clean()
        if any(f.errors for f in self.forms if not self._should_delete_form(f)):
            return
        rows = [
            f.instance
            for f in self.forms
            if f.cleaned_data and not f.cleaned_data.get("DELETE", False)
        ]
        both = sorted({r.date for r in rows if r.opens} & {r.date for r in rows if not r.opens})
        if both:
            raise ValidationError(
                _(
                    "%(date)s: give it hours of its own or leave the times empty for the Monday "
                    "hours, not both."
                )
                % {"date": both[0].isoformat()}
            )
        holidays = _posted_holiday_dates(self)
        if holidays is not None:
            days_clash_check(holidays, {r.date for r in rows})
        workdays_check(BusinessCalendarWorkday.spec_of(rows))


class WorkdayInline(admin.TabularInline):
    model = BusinessCalendarWorkday
    formset = WorkdayFormSet
    fields = ["date", "opens", "closes", "name"]
    extra = 1


class HolidayImportForm(forms.Form):
    country = forms.CharField(
        label=_("Country code"), max_length=2, initial="CN", help_text=_("ISO code, e.g. CN.")
    )
    year = forms.IntegerField(label=_("Year"), min_value=2000, max_value=2100)


class ChinaImportForm(forms.Form):
    year = forms.IntegerField(label=_("Year"), min_value=2000, max_value=2100)


class SlaConfigAdmin(admin.ModelAdmin):
    """An admin of the SLA configuration: every save and deletion takes the configuration's
    lock first, as the API does, so that it waits for a running recompute batch instead of
    deadlocking with it (``tickets.sla.config``)."""

    def save_model(self, request, obj, form, change):
        sla_config_lock()
        super().save_model(request, obj, form, change)

    def delete_model(self, request, obj):
        sla_config_lock()
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        with transaction.atomic():
            sla_config_lock()
            super().delete_queryset(request, queryset)


def _days_added_messages(request, added: DaysAdded, *, with_workdays: bool) -> None:
    if with_workdays:
        messages.success(
            request,
            _("%(holidays)d holidays and %(workdays)d make-up working days added.")
            % {"holidays": added.holidays, "workdays": added.workdays},
        )
    else:
        messages.success(request, _("%(n)d holidays added.") % {"n": added.holidays})
    if added.left:
        messages.warning(
            request,
            _(
                "Left as they were, because the calendar has them as the other kind of day: "
                "%(dates)s."
            )
            % {"dates": ", ".join(day.isoformat() for day in added.left)},
        )


@admin.register(BusinessCalendar)
class BusinessCalendarAdmin(SlaConfigAdmin):
    list_display = ["name", "timezone", "updated_at"]
    inlines = [BusinessHoursInline, HolidayInline, WorkdayInline]
    change_form_template = "admin/tickets/businesscalendar/change_form.html"

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        if change:
            sla_recompute_after_commit(calendar_ids=[form.instance.pk])

    def get_urls(self):
        own = [
            path(
                "<int:pk>/import-holidays/",
                self.admin_site.admin_view(self.import_holidays),
                name="tickets_businesscalendar_import_holidays",
            ),
            path(
                "<int:pk>/import-china/",
                self.admin_site.admin_view(self.import_china),
                name="tickets_businesscalendar_import_china",
            ),
        ]
        return own + super().get_urls()

    def _calendar_to_change(self, request, pk: int) -> BusinessCalendar:
        calendar = get_object_or_404(BusinessCalendar, pk=pk)
        if not self.has_change_permission(request, calendar):
            raise PermissionDenied
        return calendar

    def _days_add(self, request, calendar, *, holidays, workdays):
        """Add the days, recompute the tickets that count on the calendar, say what changed,
        and go back to the calendar."""
        with transaction.atomic():
            added = calendar_days_add(calendar=calendar, holidays=holidays, workdays=workdays)
            if added.holidays or added.workdays:
                sla_recompute_after_commit(calendar_ids=[calendar.pk])
        _days_added_messages(request, added, with_workdays=bool(workdays))
        return redirect(reverse("admin:tickets_businesscalendar_change", args=[calendar.pk]))

    def _import_page(self, request, calendar, form, *, template: str, title):
        return render(
            request,
            f"admin/tickets/businesscalendar/{template}",
            {
                **self.admin_site.each_context(request),
                "form": form,
                "calendar": calendar,
                "title": title,
                "opts": self.model._meta,
            },
        )

    def import_holidays(self, request, pk: int):
        """Add a year's public holidays of a country, from the ``holidays`` package."""
        import holidays as public_holidays

        calendar = self._calendar_to_change(request, pk)
        form = HolidayImportForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            country = form.cleaned_data["country"].upper()
            if country not in public_holidays.list_supported_countries():
                form.add_error("country", _("No holiday data for this country."))
            else:
                found = public_holidays.country_holidays(country, years=form.cleaned_data["year"])
                return self._days_add(
                    request,
                    calendar,
                    holidays={day: str(name) for day, name in found.items()},
                    workdays={},
                )
        return self._import_page(
            request, calendar, form, template="import_holidays.html", title=_("Import holidays")
        )

    def import_china(self, request, pk: int):
        """Add a year's mainland China holidays and make-up working days, from the
        ``chinesecalendar`` package."""
        calendar = self._calendar_to_change(request, pk)
        form = ChinaImportForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                year = mainland_china_year(form.cleaned_data["year"])
            except ChinaYearUnknown as unknown:
                form.add_error(
                    "year",
                    _(
                        "chinesecalendar %(version)s has no holidays for %(year)d yet (it knows "
                        "%(first)d–%(last)d). Upgrade it once the State Council has published "
                        "that year's notice."
                    )
                    % {
                        "version": unknown.version,
                        "year": unknown.year,
                        "first": unknown.known[0],
                        "last": unknown.known[-1],
                    },
                )
            else:
                return self._days_add(
                    request, calendar, holidays=year.holidays, workdays=year.workdays
                )
        return self._import_page(
            request,
            calendar,
            form,
            template="import_china.html",
            title=_("Import mainland China holidays and make-up days"),
        )


class ListChoiceField(forms.MultipleChoiceField):
    widget = forms.CheckboxSelectMultiple


class SlaPolicyForm(forms.ModelForm):
    kinds = ListChoiceField(choices=TicketKind.choices, required=False)
    priorities = ListChoiceField(choices=Priority.choices, required=False)
    channels = ListChoiceField(choices=Channel.choices, required=False)
    customer_tiers = ListChoiceField(choices=CustomerTier.choices, required=False)

    class Meta:
        model = SlaPolicy
        fields = [
            "name",
            "active",
            "position",
            "kinds",
            "priorities",
            "channels",
            "customer_tiers",
            "teams",
        ]


class SlaTargetForm(forms.ModelForm):
    pausing_statuses = ListChoiceField(
        choices=[c for c in TicketStatus.choices if c[0] not in ("solved", "closed")],
        required=False,
    )

    class Meta:
        model = SlaTarget
        fields = [
            "metric",
            "minutes",
            "calendar",
            "warning_percent",
            "pausing_statuses",
            "hold_notifications_outside_hours",
        ]


class SlaTargetInline(admin.StackedInline):
    model = SlaTarget
    form = SlaTargetForm
    extra = 0


class EscalationRuleForm(forms.ModelForm):
    class Meta:
        model = EscalationRule
        fields = ["metric", "minutes_after_breach", "action", "user", "team"]

    def clean(self):
        data = super().clean()
        if data.get("action") == "notify_user" and not data.get("user"):
            raise ValidationError({"user": _("Name the user to notify.")})
        if data.get("action") == "move_to_team" and not data.get("team"):
            raise ValidationError({"team": _("Name the team to move the ticket to.")})
        return data


class EscalationRuleInline(admin.TabularInline):
    model = EscalationRule
    form = EscalationRuleForm
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(SlaPolicy)
class SlaPolicyAdmin(SlaConfigAdmin):
    form = SlaPolicyForm
    list_display = ["position", "name", "active", "kinds", "priorities", "customer_tiers"]
    list_display_links = ["name"]
    list_editable = ["position", "active"]
    filter_horizontal = ["teams"]
    inlines = [SlaTargetInline, EscalationRuleInline]

    def save_model(self, request, obj, form, change):
        deactivated = change and "active" in form.changed_data and not obj.active
        super().save_model(request, obj, form, change)
        if deactivated:
            sla_policy_deactivated(policy_id=obj.pk)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        sla_recompute_after_commit(policy_ids=[form.instance.pk])
