from django import forms
from django.contrib import admin, messages
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from csplatform.errors import DomainError
from csplatform.privacy import mask_email

from . import services
from .choices import WebhookEventType
from .email_out import email_message_retry
from .models import EmailMessage, Mailbox, WebhookDelivery, WebhookEndpoint
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


@admin.register(Mailbox)
class MailboxAdmin(admin.ModelAdmin):
    list_display = ["address", "team", "display_name", "imap_enabled", "created_at"]
    list_select_related = ["team"]
    search_fields = ["address", "team__name"]
    readonly_fields = ["imap_last_uid", "imap_uidvalidity", "created_at"]

    def save_model(self, request, obj, form, change):
        if obj.created_at is None:
            obj.created_at = timezone.now()
        super().save_model(request, obj, form, change)


@admin.register(EmailMessage)
class EmailMessageAdmin(admin.ModelAdmin):
    """Every e-mail in and out, with its delivery state; a failed one can be sent again."""

    list_display = [
        "id",
        "direction",
        "kind",
        "status",
        "recipient",
        "subject",
        "ticket",
        "attempts",
        "last_error",
        "sent_at",
        "created_at",
    ]
    list_filter = ["status", "direction", "kind"]
    search_fields = ["=header_id", "=ticket__number"]
    list_select_related = ["ticket"]
    actions = ["send_again"]
    # The customer's address only masked (personal data); the rest as it is.
    exclude = ["customer_address"]
    readonly_fields = ["recipient"] + [
        field.name for field in EmailMessage._meta.fields if field.name != "customer_address"
    ]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description=_("customer address"))
    def recipient(self, obj):
        return mask_email(obj.customer_address)

    def has_send_again_permission(self, request):
        return request.user.has_perm("messaging.change_emailmessage")

    @admin.action(description=_("Send again"), permissions=["send_again"])
    def send_again(self, request, queryset):
        queued = 0
        for email in queryset:
            try:
                email_message_retry(email=email)
            except DomainError as refused:
                self.message_user(request, f"#{email.pk}: {refused.detail}", messages.WARNING)
            else:
                queued += 1
        self.message_user(
            request,
            ngettext("%d e-mail will be sent again.", "%d e-mails will be sent again.", queued)
            % queued,
        )
