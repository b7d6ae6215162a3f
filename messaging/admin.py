from django import forms
from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from csplatform.errors import DomainError

from . import services
from .choices import WebhookEventType
from .models import WebhookDelivery, WebhookEndpoint
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
