"""The ``webhooks`` scope: keys made before it existed with every scope of their day get it
(csplatform migration 0008), narrower keys do not, and the API refuses a key without it."""

import importlib

import pytest
from django.apps import apps
from rest_framework.test import APIClient

from csplatform.models import ApiKeyProfile
from tests.factories import api_key_header, storefront_api_key

pytestmark = pytest.mark.django_db

migration = importlib.import_module("csplatform.migrations.0009_webhooks_scope_for_full_keys")
EVERY_SCOPE_BEFORE_WEBHOOKS = ["orders", "tickets", "returns", "complaints", "surveys"]


def webhooks_status(key: str) -> int:
    return APIClient().get("/api/v1/webhooks/", **api_key_header(key)).status_code


def test_keys_that_read_every_event_gain_the_webhooks_scope_and_narrower_keys_do_not():
    _, full_key = storefront_api_key("made before webhooks", scopes=EVERY_SCOPE_BEFORE_WEBHOOKS)
    _, events_key = storefront_api_key("events", scopes=["tickets", "orders", "returns"])
    _, tickets_key = storefront_api_key("tickets only", scopes=["tickets"])
    _, no_returns_key = storefront_api_key("no returns", scopes=["tickets", "orders"])
    storefront_api_key("already", scopes=["webhooks", "tickets", "orders", "returns"])
    assert webhooks_status(full_key) == 403

    changed = migration.keys_that_read_every_event_get_the_webhooks_scope(apps, None)

    assert changed == 2
    scopes = dict(ApiKeyProfile.objects.values_list("api_key__name", "scopes"))
    assert scopes["made before webhooks"] == [*EVERY_SCOPE_BEFORE_WEBHOOKS, "webhooks"]
    assert scopes["events"] == ["tickets", "orders", "returns", "webhooks"]
    assert scopes["tickets only"] == ["tickets"]
    assert scopes["no returns"] == ["tickets", "orders"]
    assert scopes["already"] == ["webhooks", "tickets", "orders", "returns"]
    assert webhooks_status(full_key) == 200
    assert webhooks_status(events_key) == 200
    assert webhooks_status(tickets_key) == 403
    assert webhooks_status(no_returns_key) == 403


def test_every_webhook_endpoint_refuses_a_key_without_the_scope():
    _, key = storefront_api_key(scopes=["tickets", "orders", "returns", "complaints", "surveys"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    for method, path in [
        ("get", "/api/v1/webhooks/"),
        ("post", "/api/v1/webhooks/"),
        ("get", "/api/v1/webhooks/1/"),
        ("patch", "/api/v1/webhooks/1/"),
        ("delete", "/api/v1/webhooks/1/"),
        ("post", "/api/v1/webhooks/1/rotate-secret/"),
        ("get", "/api/v1/webhooks/1/deliveries/"),
        ("post", "/api/v1/webhooks/1/deliveries/1/retry/"),
    ]:
        assert getattr(client, method)(path, {}, format="json").status_code == 403, path
