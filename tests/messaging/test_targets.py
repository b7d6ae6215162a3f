"""SSRF: in production a webhook goes to a public https address only, checked when the
endpoint is saved and again before every attempt."""

import socket

import pytest

from messaging import targets
from messaging.choices import DeliveryStatus, WebhookEventType
from messaging.delivery import deliveries_send_due
from messaging.models import WebhookDelivery
from messaging.targets import TargetRefused, target_check
from tests.factories import CustomerFactory, storefront_client, webhook_endpoint
from tests.messaging.helpers import ticket_filed


@pytest.fixture
def production_like(settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = False


@pytest.fixture
def dns(monkeypatch):
    """The resolver answers from this table (name → addresses), never the network."""
    table: dict[str, list[str]] = {}

    def getaddrinfo(host, port, *args, **kwargs):
        addresses = table.get(host, [host])  # an address literal resolves to itself
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port)) for a in addresses]

    monkeypatch.setattr(targets.socket, "getaddrinfo", getaddrinfo)
    return table


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hooks",  # plain http
        "https://127.0.0.1/hooks",  # loopback
        "https://169.254.169.254/latest/meta-data/",  # link-local: cloud metadata
        "https://[::1]/hooks",
        "https://0.0.0.0/hooks",
        "https://224.0.0.1/hooks",  # multicast
        "https://240.0.0.1/hooks",  # reserved
        "https://[::ffff:10.0.0.1]/hooks",  # private, as an IPv4-mapped IPv6 address
        "ftp://shop.example/hooks",
    ],
)
def test_production_refuses_private_loopback_link_local_and_non_https_targets(
    production_like, dns, url
):
    with pytest.raises(TargetRefused):
        target_check(url)


def test_production_refuses_a_host_name_that_resolves_to_a_private_address(production_like, dns):
    dns["hooks.shop.example"] = ["93.184.215.14", "10.1.2.3"]  # one private address is enough
    with pytest.raises(TargetRefused):
        target_check("https://hooks.shop.example/in")


def test_production_accepts_a_host_name_with_public_addresses_only(production_like, dns):
    dns["hooks.shop.example"] = ["93.184.215.14"]
    target_check("https://hooks.shop.example/in")


def test_development_and_tests_may_target_loopback():
    target_check("http://127.0.0.1:8000/hooks")  # settings: WEBHOOKS_ALLOW_PRIVATE_TARGETS


@pytest.mark.django_db
def test_the_api_refuses_a_private_target_when_the_endpoint_is_created(production_like, dns):
    dns["internal.shop.example"] = ["10.0.0.7"]
    client = storefront_client()
    for url in ["http://127.0.0.1/", "https://169.254.169.254/", "https://internal.shop.example/"]:
        response = client.post(
            "/api/v1/webhooks/", {"url": url, "events": ["ticket.created"]}, format="json"
        )
        assert response.status_code == 400, url
        assert "url" in response.json()["errors"]


@pytest.mark.django_db
def test_a_name_that_resolves_to_a_private_address_later_is_refused_at_delivery(
    receiver, settings, dns
):
    dns["hooks.shop.example"] = ["93.184.215.14"]
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = False
    webhook_endpoint("https://hooks.shop.example/in", events=[WebhookEventType.TICKET_CREATED])
    dns["hooks.shop.example"] = ["10.0.0.7"]  # the name now points inside
    ticket_filed(CustomerFactory())

    deliveries_send_due()

    delivery = WebhookDelivery.objects.get()
    assert delivery.status == DeliveryStatus.PENDING  # retried: the name may be fixed
    assert delivery.last_error.startswith("refused:")
    assert delivery.last_status_code is None
