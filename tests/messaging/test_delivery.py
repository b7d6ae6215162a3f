"""The delivery worker against a real HTTP receiver on a loopback port."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from messaging.choices import DeliveryStatus, WebhookEventType
from messaging.delivery import deliveries_send_due
from messaging.models import WebhookDelivery
from messaging.services import webhook_secret_rotate
from tests.factories import CustomerFactory, agent_user, webhook_endpoint
from tests.messaging.helpers import ticket_filed
from tests.messaging.receiver import signature_valid
from tickets.services import ticket_reply

pytestmark = pytest.mark.django_db


def test_a_delivery_carries_the_event_signed_with_the_endpoints_secret(receiver):
    _, secret = webhook_endpoint(receiver.url, events=[WebhookEventType.TICKET_CREATED])
    ticket = ticket_filed(CustomerFactory())

    assert deliveries_send_due() == 1

    (got,) = receiver.received
    assert signature_valid(secret, got.headers, got.body)
    assert not signature_valid("whsec_" + "A" * 44, got.headers, got.body)
    document = got.document
    assert set(document) == {"id", "type", "created_at", "data"}
    assert document["type"] == "ticket.created"
    assert document["data"]["ticket"]["number"] == ticket.number
    assert got.webhook_id == document["id"]
    assert abs(int(got.headers["Webhook-Timestamp"]) - timezone.now().timestamp()) < 60
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == DeliveryStatus.DELIVERED
    assert (delivery.attempts, delivery.last_status_code) == (1, 200)
    assert delivery.last_latency_ms is not None


def test_the_events_of_a_ticket_arrive_in_the_order_of_the_changes(receiver):
    webhook_endpoint(receiver.url)
    now = timezone.now()
    ticket = ticket_filed(CustomerFactory(), now=now)
    agent = agent_user()
    ticket_reply(ticket=ticket, user=agent, body="First reply", now=now)
    ticket_reply(ticket=ticket, user=agent, body="Solved", then_status="solved", now=now)
    ticket_filed(CustomerFactory(), now=now, subject="Another ticket")
    receiver.answers = [500]  # the first event of the first ticket fails once

    deliveries_send_due(now=now)
    # The failed event holds back the later ones of its ticket, not the other ticket's.
    subjects = [r.document["data"]["ticket"]["subject"] for r in receiver.received]
    assert subjects == ["Where is my parcel?", "Another ticket"]

    deliveries_send_due(now=now + timedelta(minutes=5))

    def what(document) -> tuple[str, str]:
        data = document["data"]
        return document["type"], (
            data.get("message", {}).get("body") or data.get("new_status") or data.get("notice")
        )

    def ticket_number(document) -> str:
        data = document["data"]
        return data["ticket"]["number"] if "ticket" in data else data["ticket_number"]

    assert [
        what(r.document) for r in receiver.received if ticket_number(r.document) == ticket.number
    ] == [
        ("ticket.created", "Still not here."),  # answered 500
        ("ticket.created", "Still not here."),
        ("ticket.message.created", "First reply"),
        ("ticket.status_changed", "open"),  # the first public reply opens a new ticket
        ("ticket.message.created", "Solved"),
        ("ticket.status_changed", "solved"),
        ("customer.notice", "ticket_solved"),  # the notice of the change, after it
    ]
    assert WebhookDelivery.objects.exclude(status=DeliveryStatus.DELIVERED).count() == 0


def test_a_failed_attempt_is_retried_later_under_the_same_webhook_id(receiver):
    webhook_endpoint(receiver.url, events=[WebhookEventType.TICKET_CREATED])
    now = timezone.now()
    ticket_filed(CustomerFactory(), now=now)
    receiver.answers = [500, 503]

    deliveries_send_due(now=now)
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == DeliveryStatus.PENDING
    assert delivery.last_status_code == 500
    assert delivery.last_error.startswith("HTTP 500")
    assert now + timedelta(seconds=4) <= delivery.next_attempt_at <= now + timedelta(seconds=10)
    assert deliveries_send_due(now=now + timedelta(seconds=1)) == 0  # not due yet

    deliveries_send_due(now=now + timedelta(seconds=10))
    deliveries_send_due(now=now + timedelta(seconds=40))

    assert [r.document["type"] for r in receiver.received] == ["ticket.created"] * 3
    assert len({r.webhook_id for r in receiver.received}) == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.DELIVERED, 3)


def test_a_receiver_slower_than_the_read_timeout_is_retried(receiver):
    webhook_endpoint(receiver.url, events=[WebhookEventType.TICKET_CREATED])
    now = timezone.now()
    ticket_filed(CustomerFactory(), now=now)
    receiver.answers = [("sleep", 1.5)]  # the tests' read timeout is half a second

    deliveries_send_due(now=now)
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.last_error) == (DeliveryStatus.PENDING, "timeout")
    assert delivery.last_status_code is None

    deliveries_send_due(now=now + timedelta(minutes=1))
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED
    assert len({r.webhook_id for r in receiver.received}) == 1


def test_a_delivery_is_failed_after_24_hours_of_retries(receiver):
    webhook_endpoint(receiver.url, events=[WebhookEventType.TICKET_CREATED])
    start = timezone.now()
    ticket_filed(CustomerFactory(), now=start)
    receiver.answers = [500] * 100

    at = start
    while at <= start + timedelta(hours=25):
        deliveries_send_due(now=at)
        at += timedelta(minutes=30)

    delivery = WebhookDelivery.objects.get()
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.next_attempt_at is None
    assert delivery.last_attempt_at == delivery.give_up_at == start + timedelta(hours=24)
    # Backoff: a handful of quick retries, then about one an hour.
    assert 20 <= delivery.attempts <= 40
    attempts = delivery.attempts
    deliveries_send_due(now=start + timedelta(hours=30))
    delivery.refresh_from_db()
    assert delivery.attempts == attempts


def test_an_endpoint_failing_for_24_hours_is_disabled_and_the_admins_are_told(
    receiver, settings, django_capture_on_commit_callbacks
):
    settings.ADMINS = [("Ops", "ops@example.com")]
    endpoint, _ = webhook_endpoint(receiver.url, events=[WebhookEventType.TICKET_CREATED])
    start = timezone.now()
    ticket_filed(CustomerFactory(), now=start)
    receiver.answers = [500] * 100
    deliveries_send_due(now=start)
    # A newer event, still pending when the endpoint is given up.
    ticket_filed(CustomerFactory(), now=start + timedelta(hours=23, minutes=59))

    with django_capture_on_commit_callbacks(execute=True):
        deliveries_send_due(now=start + timedelta(hours=24))

    endpoint.refresh_from_db()
    assert not endpoint.active
    assert endpoint.disabled_at == start + timedelta(hours=24)
    statuses = set(WebhookDelivery.objects.values_list("status", flat=True))
    assert statuses <= {DeliveryStatus.FAILED, DeliveryStatus.DEAD}
    assert DeliveryStatus.DEAD in statuses
    (message,) = mail.outbox
    assert endpoint.url in message.subject


def test_a_success_ends_the_endpoints_failing_period(receiver):
    endpoint, _ = webhook_endpoint(receiver.url, events=[WebhookEventType.TICKET_CREATED])
    now = timezone.now()
    ticket_filed(CustomerFactory(), now=now)
    receiver.answers = [500]
    deliveries_send_due(now=now)
    endpoint.refresh_from_db()
    assert endpoint.failing_since == now
    deliveries_send_due(now=now + timedelta(minutes=1))
    endpoint.refresh_from_db()
    assert endpoint.failing_since is None


def test_after_a_rotation_both_secrets_sign_for_24_hours_then_only_the_new_one(receiver):
    endpoint, old = webhook_endpoint(receiver.url, events=[WebhookEventType.TICKET_CREATED])
    now = timezone.now()
    endpoint, new = webhook_secret_rotate(endpoint=endpoint, now=now)
    ticket_filed(CustomerFactory(), now=now)
    deliveries_send_due(now=now + timedelta(hours=1))
    ticket_filed(CustomerFactory(), now=now + timedelta(hours=25))
    deliveries_send_due(now=now + timedelta(hours=25))

    during, after = receiver.received
    assert len(during.headers["Webhook-Signature"].split(" ")) == 2
    assert signature_valid(old, during.headers, during.body)
    assert signature_valid(new, during.headers, during.body)
    assert len(after.headers["Webhook-Signature"].split(" ")) == 1
    assert signature_valid(new, after.headers, after.body)
    assert not signature_valid(old, after.headers, after.body)


def test_redirects_are_not_followed(receiver):
    webhook_endpoint(receiver.url, events=[WebhookEventType.TICKET_CREATED])
    ticket_filed(CustomerFactory())
    receiver.answers = [302]
    deliveries_send_due()
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.last_status_code) == (DeliveryStatus.PENDING, 302)
    assert len(receiver.received) == 1


def test_nothing_is_sent_to_a_disabled_endpoint(receiver):
    endpoint, _ = webhook_endpoint(receiver.url, events=[WebhookEventType.TICKET_CREATED])
    ticket_filed(CustomerFactory())
    # Disabled behind the services' back, as by a transaction that raced the event's.
    type(endpoint).objects.filter(pk=endpoint.pk).update(active=False)
    assert deliveries_send_due() == 0
    assert receiver.received == []


def test_a_worker_killed_after_claiming_leaves_each_delivery_due_after_its_own_attempt_time(
    receiver,
):
    """The tests' timeouts are 0.5 + 0.5 s: the n-th delivery of a claimed batch is leased for
    n seconds and the 15 s margin, then the next sweep sends it (the killed worker never
    will)."""
    from messaging.delivery import LEASE_MARGIN, _claim

    webhook_endpoint(receiver.url, events=[WebhookEventType.TICKET_CREATED])
    now = timezone.now()
    for n in range(3):
        ticket_filed(CustomerFactory(), now=now, subject=f"Parcel {n}")
    claimed = _claim(now, batch_size=20)  # ...and the worker is killed
    assert len(claimed) == 3

    assert deliveries_send_due(now=now + LEASE_MARGIN) == 0
    assert deliveries_send_due(now=now + LEASE_MARGIN + timedelta(seconds=1)) == 1
    assert deliveries_send_due(now=now + LEASE_MARGIN + timedelta(seconds=3)) == 2
    assert [r.document["data"]["ticket"]["subject"] for r in receiver.received] == [
        "Parcel 0",
        "Parcel 1",
        "Parcel 2",
    ]
