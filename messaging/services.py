"""Every write of the messaging app: webhook endpoints, the outbox, re-sends."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from typing import cast

from django.conf import settings
from django.db import connection, models, transaction
from django.db.models import Exists, Field, OuterRef, Q, QuerySet
from django.db.models.expressions import RawSQL
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
    ordering_key: str = "",
    message: Message | None = None,
    **storefront_filter: object,
) -> OutboxEvent | None:
    """Write the event and a delivery to each active endpoint subscribed to ``type`` of the
    storefront that ``storefront_filter`` names (``storefront_id=``, or through a relation:
    ``storefront__customers=``), in the caller's transaction; no such endpoint, nothing is
    written. ``message``: the ticket message the event carries, whose deliveries the desk
    shows on it. Returns the event as written (read back by no query), or ``None``.

    What this adds to the change that caused the event is one statement on PostgreSQL: the
    endpoints are looked up, the deliveries and the event inserted by one ``INSERT`` with
    data-modifying ``WITH`` clauses (the event only if a delivery was written). SQLite has no
    such clauses: there it is one ``INSERT … SELECT`` of the deliveries (which finds none
    without an endpoint) and, when some were written, the event's. The worker is woken after
    the commit; the periodic sweep sends what that misses."""
    event_id = uuid.uuid4()
    endpoints = _subscribed(WebhookEndpoint.objects.filter(active=True, **storefront_filter), type)
    endpoints_sql, endpoints_params = endpoints.values_list(
        "id", "storefront_id"
    ).query.sql_with_params()
    delivery = _Insert(
        WebhookDelivery,
        last="endpoint",
        event=event_id,
        ordering_key=ordering_key,
        status=DeliveryStatus.PENDING,
        attempts=0,
        next_attempt_at=now,
        give_up_at=now + RETRY_WINDOW,
        last_error="",
        created_at=now,
    )
    event = _Insert(
        OutboxEvent,
        last="storefront",
        id=event_id,
        type=type,
        ordering_key=ordering_key,
        payload={"data": data},
        message=message.pk if message is not None else None,
        created_at=now,
    )
    # Table and column names from the models, values as parameters: nothing here is input.
    # In the caller's transaction (no savepoint: no statement more); alone, in one of its own.
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"WITH endpoint (id, storefront_id) AS ({endpoints_sql}), "  # noqa: S608  # nosec B608
                f"delivery AS (INSERT INTO {delivery.into} SELECT {delivery.values}, id "
                "FROM endpoint RETURNING 1) "
                f"INSERT INTO {event.into} SELECT {event.values}, "
                "(SELECT storefront_id FROM endpoint LIMIT 1) "
                "WHERE EXISTS (SELECT 1 FROM delivery) RETURNING storefront_id",
                [*endpoints_params, *delivery.params, *event.params],
            )
            written = cursor.fetchone()
        else:
            cursor.execute(
                f"INSERT INTO {delivery.into} SELECT {delivery.values}, endpoint.id "  # noqa: S608  # nosec B608
                f"FROM ({endpoints_sql}) AS endpoint",
                [*delivery.params, *endpoints_params],
            )
            written = None
            if cursor.rowcount > 0:
                endpoint_table = connection.ops.quote_name(WebhookEndpoint._meta.db_table)
                cursor.execute(
                    f"INSERT INTO {event.into} SELECT {event.values}, storefront_id "  # noqa: S608  # nosec B608
                    f"FROM {endpoint_table} WHERE id = (SELECT endpoint_id FROM "
                    f"{delivery.table} WHERE event_id = %s LIMIT 1) RETURNING storefront_id",
                    [*event.params, delivery.params[0]],
                )
                written = cursor.fetchone()
    if written is None:
        return None
    transaction.on_commit(_send_soon)
    written_event = OutboxEvent(
        id=event_id,
        type=type,
        storefront_id=written[0],
        ordering_key=ordering_key,
        payload={"data": data},
        message=message,
        created_at=now,
    )
    written_event._state.adding = False
    written_event._state.db = connection.alias
    return written_event


class _Insert:
    """The parts of an ``INSERT INTO table (columns) SELECT values, <last>`` of one row of
    ``model``: the columns of ``values`` (each adapted by its field for this database, as the
    ORM would) and then ``last``'s column, whose value the statement selects."""

    def __init__(self, model: type[models.Model], *, last: str, **values: object) -> None:
        quote = connection.ops.quote_name
        fields = [cast(Field, model._meta.get_field(name)) for name in values]
        last_field = cast(Field, model._meta.get_field(last))
        columns = [quote(str(field.column)) for field in [*fields, last_field]]
        self.table = quote(model._meta.db_table)
        self.into = f"{self.table} ({', '.join(columns)})"
        self.values = ", ".join(["%s"] * len(fields))
        self.params = [
            field.get_db_prep_save(value, connection)
            for field, value in zip(fields, values.values(), strict=True)
        ]


def webhook_subscribed(*, type: str, **storefront_filter: object) -> bool:
    """Whether an active endpoint of the storefront ``storefront_filter`` names takes ``type``
    (one query): for events whose representation costs queries to build."""
    return _subscribed(
        WebhookEndpoint.objects.filter(active=True, **storefront_filter), type
    ).exists()


def _subscribed(endpoints: QuerySet[WebhookEndpoint], type: str) -> QuerySet[WebhookEndpoint]:
    """The endpoints whose ``events`` list ``type``: JSON containment on PostgreSQL (``@>``),
    SQLite's ``json_each`` elsewhere (Django has no portable lookup for it)."""
    if connection.vendor == "postgresql":
        return endpoints.filter(events__contains=[type])
    table = connection.ops.quote_name(WebhookEndpoint._meta.db_table)
    return endpoints.filter(
        RawSQL(  # noqa: S611  # nosec B611
            f"EXISTS (SELECT 1 FROM json_each({table}.events) WHERE json_each.value = %s)",  # noqa: S608  # nosec B608
            [type],
            output_field=models.BooleanField(),
        )
    )


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


def outbox_events_purge(
    *, now: datetime | None = None, batch_size: int = 1000, max_batches: int = 100
) -> int:
    """Delete old events with their deliveries, oldest first, a batch a transaction: events
    delivered everywhere after ``WEBHOOKS_RETENTION_DAYS``; events with a failed or dead
    delivery (which may still be sent again) after ``WEBHOOKS_FAILED_RETENTION_DAYS``; an
    event with a pending delivery never. Returns how many events were deleted."""
    now = now or timezone.now()
    delivered_before = now - timedelta(days=settings.WEBHOOKS_RETENTION_DAYS)
    failed_before = now - timedelta(days=settings.WEBHOOKS_FAILED_RETENTION_DAYS)
    deliveries = WebhookDelivery.objects.filter(event=OuterRef("pk"))
    purgeable = (
        OutboxEvent.objects.filter(created_at__lt=delivered_before)
        .exclude(Exists(deliveries.filter(status=DeliveryStatus.PENDING)))
        .filter(
            Q(created_at__lt=failed_before)
            | ~Exists(deliveries.filter(status__in=[DeliveryStatus.FAILED, DeliveryStatus.DEAD]))
        )
    )
    purged = 0
    for _batch in range(max_batches):
        ids = list(purgeable.order_by("created_at").values_list("pk", flat=True)[:batch_size])
        if not ids:
            break
        with transaction.atomic():
            # The rules again in the DELETE: a delivery sent again meanwhile keeps its event.
            WebhookDelivery.objects.filter(event__in=purgeable.filter(pk__in=ids)).delete()
            deleted = OutboxEvent.objects.filter(pk__in=ids).exclude(Exists(deliveries)).delete()[1]
        purged += deleted.get(OutboxEvent._meta.label, 0)
    return purged
