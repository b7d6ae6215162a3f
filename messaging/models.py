"""Webhook endpoints of the storefronts, the outbox of events, and one delivery per event and
endpoint.

An ``OutboxEvent`` is written in the transaction of the change it reports, together with one
``WebhookDelivery`` per subscribed active endpoint; the delivery worker (``delivery.py``)
sends the deliveries after the commit, so an event exists if and only if its change does.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from encrypted_fields.fields import EncryptedCharField

from .choices import DeliveryStatus, EmailSkipped, IgnoredReason, NoticeLanguage, NoticeType
from .notice_templates import template_check


class WebhookEndpoint(models.Model):
    storefront = models.ForeignKey(
        "csplatform.Storefront",
        on_delete=models.CASCADE,
        related_name="webhook_endpoints",
        verbose_name=_("storefront"),
    )
    url = models.URLField(_("URL"), max_length=500)
    events = models.JSONField(_("events"), default=list)
    active = models.BooleanField(_("active"), default=True)
    # The signing secrets (``whsec_…``), encrypted at rest as customers' personal data are:
    # the worker needs them in clear to sign. A rotated-out secret still signs until
    # ``previous_secret_expires_at``, so that the storefront can switch without losing events.
    secret = EncryptedCharField(_("signing secret"), max_length=100)
    previous_secret = EncryptedCharField(
        _("previous signing secret"), max_length=100, blank=True, null=True
    )
    previous_secret_expires_at = models.DateTimeField(
        _("previous secret signs until"), null=True, blank=True
    )
    created_at = models.DateTimeField(_("created at"))
    disabled_at = models.DateTimeField(_("disabled at"), null=True, blank=True)
    # The first failed attempt since the last success; 24 hours of failures disable the endpoint.
    failing_since = models.DateTimeField(_("failing since"), null=True, blank=True)

    class Meta:
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")
        ordering = ["id"]

    def __str__(self) -> str:
        return self.url


class OutboxEvent(models.Model):
    # The ``Webhook-Id``: the same in every attempt, so that receivers can dedupe.
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    type = models.CharField(_("type"), max_length=50)
    storefront = models.ForeignKey(
        "csplatform.Storefront",
        on_delete=models.CASCADE,
        related_name="outbox_events",
        verbose_name=_("storefront"),
    )
    # Events of one key (a ticket) reach an endpoint in the order they were written.
    ordering_key = models.CharField(_("ordering key"), max_length=50, blank=True)
    payload = models.JSONField(_("payload"))
    # The public ticket message a ``ticket.message.created`` event carries: the desk shows the
    # event's deliveries on that message.
    message = models.ForeignKey(
        "tickets.Message",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="outbox_events",
        verbose_name=_("ticket message"),
    )
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("outbox event")
        verbose_name_plural = _("outbox events")
        # The retention purge reads the oldest first (services.outbox_events_purge).
        indexes = [models.Index(fields=["created_at"], name="outbox_event_created")]

    def __str__(self) -> str:
        return f"{self.type} {self.id}"


class WebhookDelivery(models.Model):
    event = models.ForeignKey(
        OutboxEvent, on_delete=models.CASCADE, related_name="deliveries", verbose_name=_("event")
    )
    endpoint = models.ForeignKey(
        WebhookEndpoint,
        on_delete=models.CASCADE,
        related_name="deliveries",
        verbose_name=_("endpoint"),
    )
    # The event's, copied so that the worker finds the earlier deliveries of a ticket by index.
    ordering_key = models.CharField(_("ordering key"), max_length=50, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    # When a pending delivery is due; a worker that takes it pushes this past its attempt (a
    # lease), so a worker killed mid-attempt leaves it due again for the next sweep.
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True)
    # Retried until then (24 hours after the event, or after a re-send), then failed.
    give_up_at = models.DateTimeField(_("give up at"))
    last_attempt_at = models.DateTimeField(_("last attempt at"), null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(
        _("last status code"), null=True, blank=True
    )
    last_latency_ms = models.PositiveIntegerField(_("last latency (ms)"), null=True, blank=True)
    last_error = models.CharField(_("last error"), max_length=200, blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["event", "endpoint"], name="delivery_once_per_endpoint")
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status="pending"),
                name="delivery_pending_due",
            ),
            models.Index(
                fields=["endpoint", "ordering_key", "id"],
                condition=Q(status="pending"),
                name="delivery_pending_per_key",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_id} → {self.endpoint_id}"


class Mailbox(models.Model):
    """A team's support address: where its customers write and what its e-mail replies come
    from. Mail reaches it by IMAP polling (when ``imap_enabled``) or by the raw-MIME inbound
    webhook."""

    team = models.OneToOneField(
        "tickets.Team", on_delete=models.CASCADE, related_name="mailbox", verbose_name=_("team")
    )
    address = models.EmailField(_("support address"), unique=True)
    display_name = models.CharField(_("display name"), max_length=100, blank=True)
    # The storefront whose customers write here: senders are looked up among its customers, and
    # a new sender becomes one of them. Blank: the default storefront.
    storefront = models.ForeignKey(
        "csplatform.Storefront",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="mailboxes",
        verbose_name=_("storefront"),
        help_text=_("Whose customers write here; blank: the default storefront."),
    )
    # A disabled mailbox is not polled, and mail to it is recorded as ignored.
    active = models.BooleanField(_("enabled"), default=True)
    imap_enabled = models.BooleanField(_("poll by IMAP"), default=False)
    imap_host = models.CharField(_("IMAP host"), max_length=200, blank=True)
    imap_port = models.PositiveIntegerField(_("IMAP port"), default=993)
    imap_ssl = models.BooleanField(_("IMAP over TLS"), default=True)
    # Without implicit TLS: upgrade the plain connection (usually port 143) with STARTTLS.
    imap_starttls = models.BooleanField(
        _("IMAP with STARTTLS"),
        default=False,
        help_text=_("When not over TLS: upgrade the connection with STARTTLS (port 143)."),
    )
    imap_user = models.CharField(_("IMAP user"), max_length=200, blank=True)
    imap_password = EncryptedCharField(_("IMAP password"), max_length=200, blank=True, null=True)
    imap_folder = models.CharField(_("IMAP folder"), max_length=100, default="INBOX")
    # The highest UID taken from the folder, and the folder's UIDVALIDITY it belongs to.
    imap_last_uid = models.PositiveBigIntegerField(_("last UID read"), default=0)
    imap_uidvalidity = models.PositiveBigIntegerField(_("UIDVALIDITY"), null=True, blank=True)
    imap_polled_at = models.DateTimeField(_("last polled at"), null=True, blank=True)
    # The kind of the last poll's failure (never the server's words, which may quote addresses).
    imap_last_error = models.CharField(_("last polling error"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("mailbox")
        verbose_name_plural = _("mailboxes")
        ordering = ["address"]

    def __str__(self) -> str:
        return self.address


class EmailMessage(models.Model):
    """One e-mail in or out of a mailbox, tied to the ticket message it became or came from.
    ``header_id`` (the ``Message-ID`` header, without angle brackets) threads replies."""

    class Direction(models.TextChoices):
        INBOUND = "in", _("Inbound")
        OUTBOUND = "out", _("Outbound")

    class Kind(models.TextChoices):
        # A customer's mail, or an agent's public reply on an e-mail ticket.
        CONVERSATION = "conversation", _("Conversation")
        NOTICE = "notice", _("Customer notice")
        SURVEY = "survey", _("Survey invitation")

    class Status(models.TextChoices):
        # Outbound: waiting for its first or next attempt.
        QUEUED = "queued", _("Queued")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        # Inbound: turned into a ticket message.
        RECEIVED = "received", _("Received")
        # Inbound: not turned into a message (auto-reply, bounce, loop, refused).
        IGNORED = "ignored", _("Ignored")

    # An outbound e-mail of a team without a mailbox (a survey invitation about an order) has
    # none: it leaves from DEFAULT_FROM_EMAIL.
    mailbox = models.ForeignKey(
        Mailbox,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="emails",
        verbose_name=_("mailbox"),
    )
    direction = models.CharField(_("direction"), max_length=3, choices=Direction.choices)
    kind = models.CharField(
        _("kind"), max_length=12, choices=Kind.choices, default=Kind.CONVERSATION
    )
    status = models.CharField(_("status"), max_length=10, choices=Status.choices)
    # Why an inbound mail was ignored (status ``ignored``).
    ignored_reason = models.CharField(
        _("ignored because"), max_length=20, choices=IgnoredReason.choices, blank=True
    )
    # The customer's side of the mail (sender of an inbound, recipient of an outbound one):
    # personal data, encrypted at rest.
    customer_address = EncryptedCharField(_("customer address"), max_length=254)
    # Its blind index (csplatform.privacy.email_blind_index): counts one sender's mails.
    customer_address_index = models.CharField(max_length=64, blank=True, default="", editable=False)
    subject = models.CharField(_("subject"), max_length=300, blank=True)
    # In full, as sent or received (HTML sanitised); the ticket message shows the text with
    # quoted history trimmed.
    body_text = models.TextField(_("text body"), blank=True)
    body_html = models.TextField(_("HTML body"), blank=True)
    # Whose mail it is, with or without a ticket (an order's survey invitation has none): the
    # erasure of a customer finds their mail by it. Unset only for an ignored inbound mail.
    customer = models.ForeignKey(
        "orders.Customer",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="emails",
        verbose_name=_("customer"),
    )
    ticket = models.ForeignKey(
        "tickets.Ticket",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="emails",
        verbose_name=_("ticket"),
    )
    message = models.OneToOneField(
        "tickets.Message",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="email",
        verbose_name=_("ticket message"),
    )
    header_id = models.CharField(_("Message-ID"), max_length=300, unique=True)
    in_reply_to = models.CharField(_("In-Reply-To"), max_length=300, blank=True)
    references = models.TextField(_("References"), blank=True)
    # The language of the template an outbound e-mail is wrapped in (``settings.LANGUAGES``).
    language = models.CharField(_("language"), max_length=8, default="zh-hans")
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True)
    # A queued e-mail is retried until then (24 hours after it was queued or retried by hand),
    # then failed; unset, 24 hours after ``created_at``.
    give_up_at = models.DateTimeField(_("give up at"), null=True, blank=True)
    # Why the last attempt failed, without personal data (addresses are masked).
    last_error = models.CharField(_("last error"), max_length=200, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("e-mail")
        verbose_name_plural = _("e-mails")
        ordering = ["-id"]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status="queued"),
                name="email_queued_due",
            ),
            models.Index(
                fields=["customer_address_index", "created_at"],
                condition=Q(direction="in"),
                name="email_inbound_by_sender",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.direction} {self.header_id}"


class NoticeTemplate(models.Model):
    """The text of one customer notice in one language, edited in admin. Subject and body are
    Django templates limited to a few variables and ``{% if %}`` (``notices.template_check``);
    a row switched off sends nothing to the customers of its language."""

    notice_type = models.CharField(_("notice"), max_length=40, choices=NoticeType.choices)
    language = models.CharField(_("language"), max_length=8, choices=NoticeLanguage.choices)
    enabled = models.BooleanField(_("enabled"), default=True)
    subject = models.CharField(_("subject"), max_length=200)
    body = models.TextField(_("body"), max_length=5000)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("notice template")
        verbose_name_plural = _("notice templates")
        ordering = ["notice_type", "language"]
        constraints = [
            models.UniqueConstraint(
                fields=["notice_type", "language"], name="notice_template_once_per_language"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_notice_type_display()} ({self.language})"

    def clean(self) -> None:
        template_check(notice_type=self.notice_type, subject=self.subject, body=self.body)


class CustomerNotice(models.Model):
    """A notice sent to a customer: what it said and which channels it took. One per notice
    type and state change (``key`` names the event row of the change), whatever the retries."""

    notice_type = models.CharField(_("notice"), max_length=40, choices=NoticeType.choices)
    key = models.CharField(_("state change"), max_length=100)
    customer = models.ForeignKey(
        "orders.Customer",
        on_delete=models.CASCADE,
        related_name="notices",
        verbose_name=_("customer"),
    )
    ticket = models.ForeignKey(
        "tickets.Ticket",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="notices",
        verbose_name=_("ticket"),
    )
    order = models.ForeignKey(
        "orders.Order",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="notices",
        verbose_name=_("order"),
    )
    language = models.CharField(_("language"), max_length=8, choices=NoticeLanguage.choices)
    subject = models.CharField(_("subject"), max_length=300)
    body = models.TextField(_("body"))
    # ``tickets.choices.NoticeChannel`` values: the ways it went out (none: the customer could
    # not be reached, see ``email_skipped``).
    channels = models.JSONField(_("channels"), default=list)
    outbox_event = models.ForeignKey(
        OutboxEvent,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("webhook event"),
    )
    email = models.OneToOneField(
        EmailMessage,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="notice",
        verbose_name=_("e-mail"),
    )
    email_skipped = models.CharField(
        _("no e-mail because"), max_length=12, choices=EmailSkipped.choices, blank=True
    )
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("customer notice")
        verbose_name_plural = _("customer notices")
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["notice_type", "key"], name="notice_once_per_change")
        ]

    def __str__(self) -> str:
        return f"{self.notice_type} {self.key}"
