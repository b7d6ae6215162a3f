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
from .imap import mailbox_poll
from .models import (
    CustomerNotice,
    EmailMessage,
    Mailbox,
    NoticeTemplate,
    WebhookDelivery,
    WebhookEndpoint,
)
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


class MailboxForm(forms.ModelForm):
    # Write-only: never shown back; left blank, the stored password stays.
    imap_password = forms.CharField(
        label=_("IMAP password"),
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text=_("Leave blank to keep the current password."),
    )

    class Meta:
        model = Mailbox
        fields = [
            "team",
            "address",
            "display_name",
            "storefront",
            "active",
            "imap_enabled",
            "imap_host",
            "imap_port",
            "imap_ssl",
            "imap_starttls",
            "imap_user",
            "imap_password",
            "imap_folder",
        ]

    def clean_address(self):
        return self.cleaned_data["address"].strip().lower()

    def clean(self):
        data = super().clean()
        if data.get("imap_enabled"):
            missing = [f for f in ("imap_host", "imap_user") if not data.get(f)]
            if not data.get("imap_password") and not (
                self.instance.pk and self.instance.imap_password
            ):
                missing.append("imap_password")
            for name in missing:
                self.add_error(name, _("Needed to poll the mailbox by IMAP."))
        return data

    def save(self, commit=True):
        password = self.cleaned_data.get("imap_password")
        if not password and self.instance.pk:
            self.instance.imap_password = Mailbox.objects.get(pk=self.instance.pk).imap_password
        return super().save(commit=commit)


@admin.register(Mailbox)
class MailboxAdmin(admin.ModelAdmin):
    """A team's support address and how its mail is read (IMAP polling, or the inbound
    webhook, which needs nothing here but the address)."""

    form = MailboxForm
    list_display = [
        "address",
        "team",
        "display_name",
        "active",
        "imap_enabled",
        "imap_host",
        "imap_last_uid",
        "imap_polled_at",
        "imap_last_error",
    ]
    list_filter = ["active", "imap_enabled"]
    search_fields = ["address", "display_name", "team__name"]
    list_select_related = ["team"]
    readonly_fields = ["imap_last_uid", "imap_uidvalidity", "imap_polled_at", "imap_last_error"]
    actions = ["poll_now"]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_at = timezone.now()
        super().save_model(request, obj, form, change)

    @admin.action(description=_("Poll now"), permissions=["change"])
    def poll_now(self, request, queryset):
        for mailbox in queryset:
            if not (mailbox.active and mailbox.imap_enabled):
                self.message_user(
                    request,
                    _("%(mailbox)s is not polled by IMAP.") % {"mailbox": mailbox},
                    messages.WARNING,
                )
                continue
            result = mailbox_poll(mailbox=mailbox)
            if result.error:
                self.message_user(
                    request,
                    _("Polled %(mailbox)s: %(taken)d new e-mails, then stopped: %(error)s")
                    % {"mailbox": mailbox, "taken": result.taken, "error": result.error},
                    messages.ERROR,
                )
            else:
                self.message_user(
                    request,
                    _("Polled %(mailbox)s: %(taken)d new e-mails.")
                    % {"mailbox": mailbox, "taken": result.taken},
                )


@admin.register(EmailMessage)
class EmailMessageAdmin(admin.ModelAdmin):
    """Every e-mail in and out, with its delivery state; a failed one can be sent again."""

    list_display = [
        "id",
        "direction",
        "kind",
        "status",
        "ignored_reason",
        "recipient",
        "subject",
        "ticket",
        "attempts",
        "last_error",
        "sent_at",
        "created_at",
    ]
    list_filter = ["status", "direction", "kind", "ignored_reason", "mailbox"]
    search_fields = ["=header_id", "=ticket__number"]
    list_select_related = ["ticket"]
    actions = ["send_again"]
    # The customer's address only masked (personal data); the rest as it is.
    exclude = ["customer_address", "customer_address_index"]
    readonly_fields = ["recipient"] + [
        field.name
        for field in EmailMessage._meta.fields
        if field.name not in ("customer_address", "customer_address_index")
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
