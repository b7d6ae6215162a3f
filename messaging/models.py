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

from .choices import DeliveryStatus


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
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("outbox event")
        verbose_name_plural = _("outbox events")

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
