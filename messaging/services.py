"""Every write of the messaging app: webhook endpoints, the outbox, re-sends."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from csplatform.enqueue import task_named
from csplatform.errors import ConflictError, InvalidInput
from csplatform.models import Storefront
from tickets.models import Message

from .choices import DeliveryStatus, WebhookEventType
from .models import OutboxEvent, WebhookDelivery, WebhookEndpoint
from .signing import secret_generate
from .targets import TargetRefused, target_check

logger = logging.getLogger(__name__)

# A delivery is retried for this long after its event (or a re-send), then marked failed; an
# endpoint whose attempts have failed for this long is disabled.
RETRY_WINDOW = timedelta(hours=24)
# A rotated-out secret keeps signing (beside the new one) for this long.
SECRET_OVERLAP = timedelta(hours=24)


def _url_check(url: str) -> None:
    try:
        target_check(url)
    except TargetRefused as refused:
        raise InvalidInput(str(refused), errors={"url": [str(refused)]}) from None


def _events_check(events: list[str]) -> list[str]:
    unknown = sorted(set(events) - set(WebhookEventType.values))
    if unknown:
        message = _("Unknown event types: %(types)s.") % {"types": ", ".join(unknown)}
        raise InvalidInput(message, errors={"events": [message]})
    return list(dict.fromkeys(events))


def webhook_endpoint_create(
    *,
    storefront: Storefront,
    url: str,
    events: list[str],
    active: bool = True,
    now: datetime | None = None,
) -> tuple[WebhookEndpoint, str]:
    """A new endpoint and its signing secret, which is returned (and shown) only here."""
    now = now or timezone.now()
    _url_check(url)
    secret = secret_generate()
    endpoint = WebhookEndpoint.objects.create(
        storefront=storefront,
        url=url,
        events=_events_check(events),
        active=active,
        secret=secret,
        created_at=now,
        disabled_at=None if active else now,
    )
    return endpoint, secret


@transaction.atomic
def webhook_endpoint_update(
    *,
    endpoint: WebhookEndpoint,
    url: str | None = None,
    events: list[str] | None = None,
    active: bool | None = None,
    now: datetime | None = None,
) -> WebhookEndpoint:
    """Change the URL, the events or the state; re-enabling starts the failure count afresh."""
    now = now or timezone.now()
    endpoint = WebhookEndpoint.objects.select_for_update(no_key=True).get(pk=endpoint.pk)
    if url is not None and url != endpoint.url:
        _url_check(url)
        endpoint.url = url
    if events is not None:
        endpoint.events = _events_check(events)
    if active is not None and active != endpoint.active:
        endpoint.active = active
        endpoint.disabled_at = None if active else now
        endpoint.failing_since = None
        if not active:
            webhook_deliveries_abandon(endpoint)
    endpoint.save()
    return endpoint


def webhook_endpoint_delete(*, endpoint: WebhookEndpoint) -> None:
    endpoint.delete()  # its deliveries go with it; the outbox events stay until purged


@transaction.atomic
def webhook_secret_rotate(
    *, endpoint: WebhookEndpoint, now: datetime | None = None
) -> tuple[WebhookEndpoint, str]:
    """A new signing secret, returned once; the current one keeps signing for 24 hours."""
    now = now or timezone.now()
    endpoint = WebhookEndpoint.objects.select_for_update(no_key=True).get(pk=endpoint.pk)
    secret = secret_generate()
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_secret_expires_at = now + SECRET_OVERLAP
    endpoint.secret = secret
    endpoint.save(update_fields=["secret", "previous_secret", "previous_secret_expires_at"])
    return endpoint, secret


def webhook_deliveries_abandon(endpoint: WebhookEndpoint) -> int:
    """The endpoint's pending deliveries are dead: not tried again unless re-sent."""
    return WebhookDelivery.objects.filter(endpoint=endpoint, status=DeliveryStatus.PENDING).update(
        status=DeliveryStatus.DEAD, next_attempt_at=None
    )


def outbox_event_record(
    *,
    type: str,
    data: dict,
    now: datetime,
    endpoints: list[WebhookEndpoint],
    ordering_key: str = "",
    message: Message | None = None,
) -> OutboxEvent | None:
    """Write the event and a delivery to each of ``endpoints`` (the active endpoints of one
    storefront subscribed to ``type``: ``webhook_endpoints_subscribed``) in the caller's
    transaction; none, nothing is written. ``message``: the ticket message the event carries,
    whose deliveries the desk shows on it. The worker is woken after the commit; the periodic
    sweep sends what that misses."""
    if not endpoints:
        return None
    event = OutboxEvent.objects.create(
        type=type,
        storefront_id=endpoints[0].storefront_id,
        ordering_key=ordering_key,
        payload={"data": data},
        message=message,
        created_at=now,
    )
    WebhookDelivery.objects.bulk_create(
        WebhookDelivery(
            event=event,
            endpoint=endpoint,
            ordering_key=ordering_key,
            next_attempt_at=now,
            give_up_at=now + RETRY_WINDOW,
            created_at=now,
        )
        for endpoint in endpoints
    )
    transaction.on_commit(_send_soon)
    return event


def webhook_endpoints_subscribed(
    *, type: str, **storefront_filter: object
) -> list[WebhookEndpoint]:
    """The active endpoints subscribed to ``type`` of the storefront that ``storefront_filter``
    names (``storefront_id=``, or through a relation: ``storefront__customers=``): one query."""
    endpoints = WebhookEndpoint.objects.filter(active=True, **storefront_filter).only(
        "id", "storefront_id", "events"
    )
    # The subscription is read in Python: JSON containment is not portable to SQLite, and a
    # storefront has a handful of endpoints.
    return [endpoint for endpoint in endpoints if type in endpoint.events]


def _send_soon() -> None:
    """Wake the worker; if the broker is down the periodic sweep sends the deliveries."""
    send_task = task_named("messaging.tasks.webhook_deliveries_send_task")
    try:
        send_task.delay()
    except Exception:  # the request that wrote the event must not fail for the broker
        logger.warning("Could not queue the webhook deliveries; the sweep sends them.")


@transaction.atomic
def webhook_delivery_resend(
    *, delivery: WebhookDelivery, now: datetime | None = None
) -> WebhookDelivery:
    """Send a delivery again (failed, dead, or delivered): due now, retried for 24 hours more.
    Its event keeps its id, so a receiver that saw it already drops it."""
    now = now or timezone.now()
    delivery = (
        WebhookDelivery.objects.select_for_update(of=("self",), no_key=True)
        .select_related("endpoint")
        .get(pk=delivery.pk)
    )
    if not delivery.endpoint.active:
        raise ConflictError(
            _("The endpoint is disabled; enable it before sending again."),
            code="endpoint_disabled",
        )
    delivery.status = DeliveryStatus.PENDING
    delivery.next_attempt_at = now
    delivery.give_up_at = now + RETRY_WINDOW
    delivery.save(update_fields=["status", "next_attempt_at", "give_up_at"])
    transaction.on_commit(_send_soon)
    return delivery
