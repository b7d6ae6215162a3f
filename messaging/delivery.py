"""The delivery worker: due deliveries in batches, locked with ``SKIP LOCKED``, in order per
ticket, signed, retried with exponential backoff for 24 hours.

A batch is claimed in a short transaction: each row's ``next_attempt_at`` is pushed past the
time its attempts may take (a lease), and the HTTP requests are made after the commit, holding
no lock. A worker killed mid-batch leaves the rows it held due again once the lease ends: the
periodic sweep sends them (at least once; receivers dedupe by ``Webhook-Id``). A delivery is
not claimed while an earlier delivery of the same ticket to the same endpoint is pending.
"""

from __future__ import annotations

import json
import logging
import random
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import requests
from django.conf import settings
from django.core.mail import mail_admins
from django.db import transaction
from django.db.models import Case, DateTimeField, Exists, OuterRef, Q, Value, When
from django.utils import timezone

from .choices import DeliveryStatus
from .models import WebhookDelivery, WebhookEndpoint
from .services import RETRY_WINDOW, webhook_deliveries_abandon
from .signing import signature_header
from .targets import PinnedAdapter, TargetRefused, target_resolve

logger = logging.getLogger(__name__)

# The first retry after about 10 seconds, doubling up to an hour between attempts; the delay
# is drawn from its upper half, so that deliveries that failed together do not return together.
BACKOFF_FIRST = timedelta(seconds=10)
BACKOFF_MAX = timedelta(hours=1)
ERROR_EXCERPT = 200
# Beyond its attempts' time, how long a claimed delivery stays leased (the database writes
# around the attempts); a worker killed mid-batch leaves its deliveries due after that.
LEASE_MARGIN = timedelta(seconds=15)


def backoff(attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failed attempt, with jitter."""
    ceiling = min(BACKOFF_FIRST * 2 ** min(attempts - 1, 20), BACKOFF_MAX)
    return ceiling * random.uniform(0.5, 1.0)


def _timeouts() -> tuple[float, float]:
    return settings.WEBHOOKS_CONNECT_TIMEOUT, settings.WEBHOOKS_READ_TIMEOUT


def deliveries_send_due(
    *, now: datetime | None = None, batch_size: int = 20, max_batches: int = 50
) -> int:
    """Send the deliveries due at ``now``, batch after batch until none is due (a delivered
    event frees the next one of its ticket). Returns how many attempts were made."""
    attempted = 0
    for _ in range(max_batches):
        batch = _claim(now or timezone.now(), batch_size)
        if not batch:
            break
        for delivery in batch:
            _attempt(delivery, now=now)
        attempted += len(batch)
    return attempted


def _claim(now: datetime, batch_size: int) -> list[WebhookDelivery]:
    """Lock and lease the next due deliveries. The batch's attempts are made one after the
    other, each within the timeouts: the ``n``-th is leased until ``n`` attempts' time (and
    a margin) from now, so that after a crash each is due again as soon as the worker would
    surely have finished it, not when the whole batch would have."""
    connect, read = _timeouts()
    per_attempt = timedelta(seconds=connect + read)
    earlier_pending = WebhookDelivery.objects.filter(
        endpoint_id=OuterRef("endpoint_id"),
        ordering_key=OuterRef("ordering_key"),
        status=DeliveryStatus.PENDING,
        id__lt=OuterRef("id"),
    )
    with transaction.atomic():
        batch = list(
            WebhookDelivery.objects.select_for_update(skip_locked=True, no_key=True, of=("self",))
            .select_related("event", "endpoint")
            .filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
            # A delivery written while its endpoint was being disabled waits for a re-send.
            .filter(endpoint__active=True)
            .filter(Q(ordering_key="") | ~Exists(earlier_pending))
            .order_by("next_attempt_at", "id")[:batch_size]
        )
        if batch:
            WebhookDelivery.objects.filter(pk__in=[d.pk for d in batch]).update(
                next_attempt_at=Case(
                    *(
                        When(pk=d.pk, then=Value(now + per_attempt * n + LEASE_MARGIN))
                        for n, d in enumerate(batch, start=1)
                    ),
                    output_field=DateTimeField(),
                )
            )
    return batch


@dataclass
class AttemptResult:
    ok: bool
    status_code: int | None = None
    latency_ms: int | None = None
    error: str = ""


def delivery_body(delivery: WebhookDelivery) -> bytes:
    event = delivery.event
    document = {
        "id": str(event.id),
        "type": event.type,
        "created_at": event.created_at.isoformat().replace("+00:00", "Z"),
        "data": event.payload["data"],
    }
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


def _secrets_in_use(endpoint: WebhookEndpoint, at: datetime) -> list[str]:
    found = [endpoint.secret]
    expires = endpoint.previous_secret_expires_at
    if endpoint.previous_secret and expires is not None and at < expires:
        found.append(endpoint.previous_secret)
    return found


def _post(delivery: WebhookDelivery, at: datetime) -> AttemptResult:
    endpoint = delivery.endpoint
    try:
        target = target_resolve(endpoint.url)
    except TargetRefused as refused:
        return AttemptResult(ok=False, error=f"refused: {refused}"[:ERROR_EXCERPT])
    body = delivery_body(delivery)
    webhook_id = str(delivery.event_id)
    timestamp = int(time.time())  # the wall clock: receivers compare it with theirs
    headers = {
        "Host": target.host_header,
        "Content-Type": "application/json",
        "User-Agent": "csplatform-webhooks/1",
        "Webhook-Id": webhook_id,
        "Webhook-Timestamp": str(timestamp),
        "Webhook-Signature": signature_header(
            _secrets_in_use(endpoint, at), webhook_id=webhook_id, timestamp=timestamp, body=body
        ),
    }
    started = time.monotonic()
    try:
        # To the checked address only (no second resolution, no proxy from the environment),
        # and no redirects: a redirect could lead to an address the target check refuses.
        # (The timeout is _timeouts(), which bandit cannot see through.)
        with (
            _pinned_session(target.address) as session,
            session.post(  # nosec B113
                endpoint.url,
                data=body,
                headers=headers,
                timeout=_timeouts(),
                allow_redirects=False,
                stream=True,
            ) as response,
        ):
            code = response.status_code
            excerpt = b"" if 200 <= code < 300 else next(response.iter_content(120), b"")
    except requests.Timeout:
        return AttemptResult(ok=False, latency_ms=_since(started), error="timeout")
    except requests.RequestException as exc:
        return AttemptResult(
            ok=False, latency_ms=_since(started), error=f"{type(exc).__name__}"[:ERROR_EXCERPT]
        )
    latency = _since(started)
    if 200 <= code < 300:
        return AttemptResult(ok=True, status_code=code, latency_ms=latency)
    text = excerpt.decode("utf-8", "replace").replace("\x00", "")
    return AttemptResult(
        ok=False, status_code=code, latency_ms=latency, error=f"HTTP {code}: {text}"[:ERROR_EXCERPT]
    )


def _pinned_session(address: str) -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    adapter = PinnedAdapter(address)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def _since(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def _attempt(delivery: WebhookDelivery, *, now: datetime | None) -> None:
    result = _post(delivery, now or timezone.now())
    at = now or timezone.now()
    with transaction.atomic():
        current = WebhookDelivery.objects.select_for_update(no_key=True).get(pk=delivery.pk)
        if current.status != DeliveryStatus.PENDING:
            return  # abandoned meanwhile (endpoint disabled): keep that state
        current.attempts += 1
        current.last_attempt_at = at
        current.last_status_code = result.status_code
        current.last_latency_ms = result.latency_ms
        current.last_error = result.error
        if result.ok:
            current.status = DeliveryStatus.DELIVERED
            current.delivered_at = at
            current.next_attempt_at = None
        elif at >= current.give_up_at:
            current.status = DeliveryStatus.FAILED
            current.next_attempt_at = None
        else:
            current.next_attempt_at = min(at + backoff(current.attempts), current.give_up_at)
        current.save()
    # The endpoint after the delivery, in a transaction of its own: the services lock the
    # endpoint before its deliveries, never the other way round.
    if result.ok:
        WebhookEndpoint.objects.filter(pk=delivery.endpoint_id, failing_since__isnull=False).update(
            failing_since=None
        )
    else:
        _endpoint_failure(delivery.endpoint_id, at)


@transaction.atomic
def _endpoint_failure(endpoint_id: int, at: datetime) -> None:
    """Note the failure; disable an endpoint failing for 24 hours and tell the admins."""
    WebhookEndpoint.objects.filter(pk=endpoint_id, failing_since__isnull=True).update(
        failing_since=at
    )
    endpoint = WebhookEndpoint.objects.select_for_update(no_key=True).get(pk=endpoint_id)
    if not endpoint.active or at - endpoint.failing_since < RETRY_WINDOW:
        return
    endpoint.active = False
    endpoint.disabled_at = at
    endpoint.save(update_fields=["active", "disabled_at"])
    webhook_deliveries_abandon(endpoint)
    transaction.on_commit(lambda: _admins_notify(endpoint))


def _admins_notify(endpoint: WebhookEndpoint) -> None:
    subject = f"Webhook endpoint disabled: {endpoint.url}"
    message = (
        f"The webhook endpoint {endpoint.url} of storefront #{endpoint.storefront_id} has failed "
        f"every delivery since {endpoint.failing_since:%Y-%m-%d %H:%M %Z} and was disabled. "
        "Its undelivered events can be sent again from the admin once it works."
    )
    try:
        mail_admins(subject, message)
    except Exception:
        logger.exception("Could not e-mail the admins about webhook endpoint %s", endpoint.pk)
