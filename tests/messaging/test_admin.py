"""Admins see every endpoint with its delivery log and send deliveries again."""

import pytest
from django.urls import reverse

from messaging.choices import DeliveryStatus, WebhookEventType
from messaging.delivery import deliveries_send_due
from messaging.models import WebhookDelivery
from tests.factories import CustomerFactory, webhook_endpoint
from tests.messaging.helpers import ticket_filed

pytestmark = pytest.mark.django_db


def test_an_admin_sends_a_failed_delivery_again_from_the_delivery_log(admin_client_, receiver):
    endpoint, _ = webhook_endpoint(receiver.url, events=[WebhookEventType.TICKET_CREATED])
    ticket_filed(CustomerFactory())
    WebhookDelivery.objects.update(status=DeliveryStatus.FAILED, next_attempt_at=None)
    delivery = WebhookDelivery.objects.get()
    log = reverse("admin:messaging_webhookdelivery_changelist")

    page = admin_client_.get(reverse("admin:messaging_webhookendpoint_change", args=[endpoint.pk]))
    assert page.status_code == 200
    assert f"{log}?endpoint__id__exact={endpoint.pk}" in page.content.decode()
    assert endpoint.secret not in page.content.decode()
    assert admin_client_.get(log, {"endpoint__id__exact": endpoint.pk}).status_code == 200

    response = admin_client_.post(
        log, {"action": "resend", "_selected_action": [delivery.pk]}, follow=True
    )

    assert response.status_code == 200
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PENDING
    deliveries_send_due()
    assert [r.webhook_id for r in receiver.received] == [str(delivery.event_id)]


def test_an_admin_cannot_point_an_endpoint_at_a_private_address_in_production(
    admin_client_, settings
):
    endpoint, _ = webhook_endpoint("http://127.0.0.1:9/hooks")
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = False
    response = admin_client_.post(
        reverse("admin:messaging_webhookendpoint_change", args=[endpoint.pk]),
        {"url": "https://169.254.169.254/", "events": ["ticket.created"], "active": "on"},
    )
    assert response.status_code == 200  # the form again, with the error
    endpoint.refresh_from_db()
    assert endpoint.url == "http://127.0.0.1:9/hooks"
