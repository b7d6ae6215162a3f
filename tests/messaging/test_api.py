"""``/api/v1/webhooks/``: a storefront manages its own endpoints and sees their deliveries."""

import pytest

from messaging.choices import DeliveryStatus, WebhookEventType
from messaging.delivery import deliveries_send_due
from messaging.models import WebhookDelivery, WebhookEndpoint
from tests.factories import (
    CustomerFactory,
    StorefrontFactory,
    default_storefront,
    storefront_api_key,
    storefront_client,
    webhook_endpoint,
)
from tests.messaging.helpers import ticket_filed
from tests.messaging.receiver import signature_valid

pytestmark = pytest.mark.django_db


def test_a_new_endpoint_shows_its_secret_once():
    client = storefront_client()
    response = client.post(
        "/api/v1/webhooks/",
        {"url": "https://shop.example/hooks", "events": ["ticket.created"]},
        format="json",
    )
    assert response.status_code == 201
    body = response.json()
    assert body["secret"].startswith("whsec_")
    assert body["active"] is True
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.storefront == default_storefront()
    assert endpoint.secret == body["secret"]

    shown = client.get(f"/api/v1/webhooks/{body['id']}/").json()
    assert "secret" not in shown
    assert body["secret"] not in str(client.get("/api/v1/webhooks/").json())


def test_the_secret_is_encrypted_at_rest():
    endpoint, secret = webhook_endpoint("https://shop.example/hooks")
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT secret FROM messaging_webhookendpoint WHERE id = %s", [endpoint.pk])
        (stored,) = cursor.fetchone()
    assert secret not in stored


def test_unknown_event_types_are_refused():
    response = storefront_client().post(
        "/api/v1/webhooks/",
        {"url": "https://shop.example/hooks", "events": ["ticket.deleted"]},
        format="json",
    )
    assert response.status_code == 400
    assert "events" in response.json()["errors"]


def test_another_storefronts_endpoint_is_not_found():
    endpoint, _ = webhook_endpoint("https://a.example/hooks", storefront=StorefrontFactory())
    delivery_path = f"/api/v1/webhooks/{endpoint.pk}/deliveries/"
    client = storefront_client()
    assert client.get(f"/api/v1/webhooks/{endpoint.pk}/").status_code == 404
    assert (
        client.patch(f"/api/v1/webhooks/{endpoint.pk}/", {"active": False}, format="json")
    ).status_code == 404
    assert client.delete(f"/api/v1/webhooks/{endpoint.pk}/").status_code == 404
    assert client.post(f"/api/v1/webhooks/{endpoint.pk}/rotate-secret/").status_code == 404
    assert client.get(delivery_path).status_code == 404
    assert client.post(f"{delivery_path}1/retry/").status_code == 404
    assert client.get("/api/v1/webhooks/").json()["results"] == []
    endpoint.refresh_from_db()
    assert endpoint.active


def test_a_key_without_the_webhooks_scope_is_refused():
    from rest_framework.test import APIClient

    _, key = storefront_api_key(scopes=["tickets"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    assert client.get("/api/v1/webhooks/").status_code == 403


def test_disabling_an_endpoint_stops_its_pending_deliveries():
    endpoint, _ = webhook_endpoint("http://127.0.0.1:9/hooks")
    ticket_filed(CustomerFactory())
    response = storefront_client().patch(
        f"/api/v1/webhooks/{endpoint.pk}/", {"active": False}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["disabled_at"] is not None
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {DeliveryStatus.DEAD}


def test_a_failed_delivery_is_sent_again_through_the_api_with_its_webhook_id(receiver):
    endpoint, secret = webhook_endpoint(receiver.url, events=[WebhookEventType.TICKET_CREATED])
    ticket_filed(CustomerFactory())
    delivery = WebhookDelivery.objects.get()
    delivery.status = DeliveryStatus.FAILED
    delivery.next_attempt_at = None
    delivery.save()
    client = storefront_client()

    response = client.post(f"/api/v1/webhooks/{endpoint.pk}/deliveries/{delivery.pk}/retry/")

    assert response.status_code == 200
    assert response.json()["status"] == "pending"
    deliveries_send_due()
    (got,) = receiver.received
    assert got.webhook_id == str(delivery.event_id)
    assert signature_valid(secret, got.headers, got.body)
    listed = client.get(f"/api/v1/webhooks/{endpoint.pk}/deliveries/").json()["results"]
    assert [(d["id"], d["status"], d["type"]) for d in listed] == [
        (delivery.pk, "delivered", "ticket.created")
    ]


def test_a_delivery_of_a_disabled_endpoint_is_not_sent_again():
    endpoint, _ = webhook_endpoint("http://127.0.0.1:9/hooks")
    ticket_filed(CustomerFactory())
    delivery = WebhookDelivery.objects.first()
    client = storefront_client()
    client.patch(f"/api/v1/webhooks/{endpoint.pk}/", {"active": False}, format="json")
    response = client.post(f"/api/v1/webhooks/{endpoint.pk}/deliveries/{delivery.pk}/retry/")
    assert response.status_code == 409


def test_rotating_the_secret_shows_the_new_one_once():
    endpoint, old = webhook_endpoint("http://127.0.0.1:9/hooks")
    response = storefront_client().post(f"/api/v1/webhooks/{endpoint.pk}/rotate-secret/")
    assert response.status_code == 200
    new = response.json()["secret"]
    assert new != old
    endpoint.refresh_from_db()
    assert (endpoint.secret, endpoint.previous_secret) == (new, old)


def test_deleting_an_endpoint_removes_it_and_its_deliveries():
    endpoint, _ = webhook_endpoint("http://127.0.0.1:9/hooks")
    ticket_filed(CustomerFactory())
    assert storefront_client().delete(f"/api/v1/webhooks/{endpoint.pk}/").status_code == 204
    assert not WebhookEndpoint.objects.exists()
    assert not WebhookDelivery.objects.exists()


def test_the_lists_take_a_fixed_number_of_queries(django_assert_num_queries):
    client = storefront_client()
    endpoint, _ = webhook_endpoint("http://127.0.0.1:9/hooks")
    for _ in range(3):
        webhook_endpoint("http://127.0.0.1:9/more")
        ticket_filed(CustomerFactory())
    # The key and its profile, its last use noted (at most once a minute), the page.
    client.get("/api/v1/webhooks/")
    with django_assert_num_queries(2):
        client.get("/api/v1/webhooks/")
    with django_assert_num_queries(3):  # the key, the endpoint, the page with its events
        client.get(f"/api/v1/webhooks/{endpoint.pk}/deliveries/")
    for _ in range(5):
        ticket_filed(CustomerFactory())
    with django_assert_num_queries(3):
        response = client.get(f"/api/v1/webhooks/{endpoint.pk}/deliveries/")
    assert len(response.json()["results"]) == 8
