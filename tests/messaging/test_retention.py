"""The outbox keeps what may still be needed: delivered events for 30 days, events with a
failed or dead delivery (which may be sent again) for 90, pending events until they settle."""

from datetime import timedelta

import pytest
from django.utils import timezone

from messaging.choices import DeliveryStatus, WebhookEventType
from messaging.models import OutboxEvent, WebhookDelivery
from messaging.services import outbox_events_purge, webhook_delivery_resend
from messaging.tasks import webhook_outbox_purge_task
from tests.factories import CustomerFactory, webhook_endpoint
from tests.messaging.helpers import ticket_filed

pytestmark = pytest.mark.django_db

NOW = timezone.now()


@pytest.fixture(autouse=True)
def endpoints():
    webhook_endpoint("http://127.0.0.1:9/a", events=[WebhookEventType.TICKET_CREATED])
    webhook_endpoint("http://127.0.0.1:9/b", events=[WebhookEventType.TICKET_CREATED])


def event_written(days_ago: float, *statuses: str) -> str:
    """A ticket.created event written ``days_ago``, its two deliveries in ``statuses``."""
    ticket = ticket_filed(CustomerFactory(), now=NOW - timedelta(days=days_ago))
    event = OutboxEvent.objects.get(ordering_key=f"ticket:{ticket.pk}")
    for delivery, status in zip(event.deliveries.order_by("id"), statuses, strict=True):
        delivery.status = status
        delivery.next_attempt_at = None if status != DeliveryStatus.PENDING else NOW
        delivery.save()
    return str(event.id)


def kept() -> set[str]:
    return {str(pk) for pk in OutboxEvent.objects.values_list("pk", flat=True)}


D, F, X, P = (
    DeliveryStatus.DELIVERED,
    DeliveryStatus.FAILED,
    DeliveryStatus.DEAD,
    DeliveryStatus.PENDING,
)


def test_delivered_events_go_after_30_days_with_their_deliveries():
    old = event_written(30.1, D, D)
    young = event_written(29.9, D, D)

    assert outbox_events_purge(now=NOW) == 1

    assert kept() == {young}
    assert not WebhookDelivery.objects.filter(event_id=old).exists()
    assert WebhookDelivery.objects.filter(event_id=young).count() == 2


def test_failed_or_dead_deliveries_keep_their_event_90_days_for_a_re_send():
    failed = event_written(89, D, F)
    dead = event_written(89, X, D)
    gone_failed = event_written(90.5, F, D)
    gone_dead = event_written(91, X, X)

    assert outbox_events_purge(now=NOW) == 2

    assert kept() == {failed, dead}
    assert not WebhookDelivery.objects.filter(event_id__in=[gone_failed, gone_dead]).exists()


def test_an_event_with_a_pending_delivery_is_never_purged():
    pending = event_written(200, D, P)
    assert outbox_events_purge(now=NOW) == 0
    assert kept() == {pending}


def test_a_failed_delivery_sent_again_and_delivered_goes_30_days_after_its_event():
    event = event_written(60, D, F)
    assert outbox_events_purge(now=NOW) == 0
    delivery = WebhookDelivery.objects.get(event_id=event, status=F)
    webhook_delivery_resend(delivery=delivery, now=NOW)
    assert outbox_events_purge(now=NOW) == 0  # pending again
    WebhookDelivery.objects.filter(pk=delivery.pk).update(status=D, next_attempt_at=None)
    assert outbox_events_purge(now=NOW) == 1
    assert kept() == set()


def test_the_purge_goes_in_batches_oldest_first_until_nothing_is_due(settings):
    old = [event_written(40 + n, D, D) for n in range(5)]
    young = event_written(1, D, D)

    assert outbox_events_purge(now=NOW, batch_size=2) == 5

    assert kept() == {young}
    assert not WebhookDelivery.objects.filter(event_id__in=old).exists()


def test_the_periods_are_settings(settings):
    settings.WEBHOOKS_RETENTION_DAYS = 7
    settings.WEBHOOKS_FAILED_RETENTION_DAYS = 14
    event_written(8, D, D)
    failed = event_written(8, D, F)
    event_written(15, D, F)
    assert outbox_events_purge(now=NOW) == 2
    assert kept() == {failed}


def test_beat_runs_the_purge_as_a_task():
    event_written(31, D, D)
    assert webhook_outbox_purge_task() == 1
    assert kept() == set()
