from django import forms
from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from csplatform.errors import DomainError

from . import services
from .choices import WebhookEventType
from .models import CustomerNotice, NoticeTemplate, WebhookDelivery, WebhookEndpoint
from .notice_templates import ALLOWED_FILTERS, ALLOWED_TAGS, NOTICE_VARIABLES
from .targets import TargetRefused, target_check


class WebhookEndpointForm(forms.ModelForm):
    url = forms.URLField(label=_("URL"), max_length=500, assume_scheme="https")
    events = forms.MultipleChoiceField(
        label=_("events"), choices=WebhookEventType.choices, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["url", "events", "active"]

    def clean_url(self):
        url = self.cleaned_data["url"]
        try:
            target_check(url)
        except TargetRefused as refused:
            raise forms.ValidationError(str(refused)) from None
        return url


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    """Endpoints are created by the storefront (the API shows the secret once); admins see,
    fix, disable and enable them, and find their delivery log."""

    form = WebhookEndpointForm
    list_display = ["url", "storefront", "active", "failing_since", "disabled_at", "created_at"]
    list_filter = ["active", "storefront"]
    search_fields = ["url"]
    list_select_related = ["storefront"]
    readonly_fields = [
        "storefront",
        "created_at",
        "disabled_at",
        "failing_since",
        "previous_secret_expires_at",
        "delivery_log",
    ]

    def has_add_permission(self, request):
        return False

    @admin.display(description=_("delivery log"))
    def delivery_log(self, obj):
        url = reverse("admin:messaging_webhookdelivery_changelist")
        return format_html('<a href="{}?endpoint__id__exact={}">{}</a>', url, obj.pk, _("Show"))

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        services.webhook_endpoint_update(
            endpoint=obj, url=data["url"], events=data["events"], active=data["active"]
        )


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "event_type",
        "endpoint",
        "status",
        "attempts",
        "last_status_code",
        "last_error",
        "next_attempt_at",
        "delivered_at",
        "created_at",
    ]
    list_filter = ["status", "event__type"]
    search_fields = ["=event__id", "=ordering_key"]
    list_select_related = ["event", "endpoint"]
    actions = ["resend"]
    readonly_fields = [field.name for field in WebhookDelivery._meta.fields] + ["payload"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description=_("type"), ordering="event__type")
    def event_type(self, obj):
        return obj.event.type

    @admin.display(description=_("payload"))
    def payload(self, obj):
        return obj.event.payload

    def has_resend_permission(self, request):
        return request.user.has_perm("messaging.change_webhookdelivery")

    @admin.action(description=_("Send again"), permissions=["resend"])
    def resend(self, request, queryset):
        sent = 0
        for delivery in queryset:
            try:
                services.webhook_delivery_resend(delivery=delivery)
            except DomainError as refused:
                self.message_user(request, f"#{delivery.pk}: {refused.detail}", messages.WARNING)
            else:
                sent += 1
        self.message_user(
            request,
            ngettext("%d delivery will be sent again.", "%d deliveries will be sent again.", sent)
            % sent,
        )


@admin.register(NoticeTemplate)
class NoticeTemplateAdmin(admin.ModelAdmin):
    """The texts of the customer notices, one per notice and language. A template is checked
    when saved (its variables, tags and filters); switching a notice off (the actions switch
    both languages) stops it for every customer."""

    list_display = ["notice_type", "language", "enabled", "subject", "updated_at"]
    list_filter = ["enabled", "language", "notice_type"]
    search_fields = ["subject", "body"]
    fields = ["notice_type", "language", "enabled", "subject", "body", "variables"]
    readonly_fields = ["notice_type", "language", "variables"]
    actions = ["notice_enable", "notice_disable"]

    def has_add_permission(self, request):
        return False  # one row per notice and language, made by the migration

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("variables"))
    def variables(self, obj):
        names = NOTICE_VARIABLES.get(obj.notice_type, ())
        return format_html(
            "{}<br>{}: {}<br>{}: {}",
            ", ".join(f"{{{{ {name} }}}}" for name in names),
            _("tags"),
            ALLOWED_TAGS,
            _("filters"),
            ", ".join(sorted(ALLOWED_FILTERS)),
        )

    def _switch(self, request, queryset, enabled: bool) -> None:
        types = set(queryset.values_list("notice_type", flat=True))
        changed = NoticeTemplate.objects.filter(notice_type__in=types).update(enabled=enabled)
        self.message_user(
            request,
            ngettext("%d template changed.", "%d templates changed.", changed) % changed,
        )

    @admin.action(description=_("Switch these notices on (both languages)"))
    def notice_enable(self, request, queryset):
        self._switch(request, queryset, True)

    @admin.action(description=_("Switch these notices off (both languages)"))
    def notice_disable(self, request, queryset):
        self._switch(request, queryset, False)


@admin.register(CustomerNotice)
class CustomerNoticeAdmin(admin.ModelAdmin):
    """The notices sent: what each said, in which language, and the channels it took."""

    list_display = [
        "id",
        "notice_type",
        "language",
        "ticket",
        "order",
        "channels",
        "email_skipped",
        "created_at",
    ]
    list_filter = ["notice_type", "language", "email_skipped"]
    search_fields = ["=ticket__number", "=order__number"]
    list_select_related = ["ticket", "order"]
    readonly_fields = [field.name for field in CustomerNotice._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
