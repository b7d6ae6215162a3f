"""Several workers share the deliveries: a row one holds is skipped by the others, never
waited for, and never sent twice at once."""

import threading

import pytest
from django.db import connection, transaction
from django.utils import timezone

from messaging.choices import WebhookEventType
from messaging.delivery import deliveries_send_due
from messaging.models import WebhookDelivery
from tests.factories import CustomerFactory, webhook_endpoint
from tests.messaging.helpers import ticket_filed


@pytest.mark.postgres(reason="SELECT ... FOR UPDATE SKIP LOCKED")
@pytest.mark.django_db(transaction=True)
def test_a_delivery_locked_by_another_worker_is_skipped_not_waited_for(receiver, settings):
    webhook_endpoint(receiver.url, events=[WebhookEventType.TICKET_CREATED])
    with transaction.atomic():  # one commit: the wake-up after it finds no receiver yet...
        first = ticket_filed(CustomerFactory(), subject="held by the other worker")
        ticket_filed(CustomerFactory(), subject="free")
    # ...so it delivered both: make them due again for the workers below.
    assert len(receiver.received) == 2
    receiver.received.clear()
    WebhookDelivery.objects.update(status="pending", next_attempt_at=timezone.now())
    held = WebhookDelivery.objects.get(event__ordering_key=f"ticket:{first.pk}")

    locked, release = threading.Event(), threading.Event()

    def other_worker():
        try:
            with transaction.atomic():
                WebhookDelivery.objects.select_for_update().get(pk=held.pk)
                locked.set()
                release.wait(10)
        finally:
            connection.close()

    thread = threading.Thread(target=other_worker)
    thread.start()
    assert locked.wait(10)
    try:
        sent = deliveries_send_due()  # would block on the held row without SKIP LOCKED
    finally:
        release.set()
        thread.join()

    assert sent == 1
    assert [r.document["data"]["ticket"]["subject"] for r in receiver.received] == ["free"]
