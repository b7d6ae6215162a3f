"""SSRF: in production a webhook goes to a public https address only, checked when the
endpoint is saved and again before every attempt."""

import socket

import pytest

from messaging import targets
from messaging.choices import DeliveryStatus, WebhookEventType
from messaging.delivery import deliveries_send_due
from messaging.models import WebhookDelivery
from messaging.targets import TargetRefused, target_check, target_resolve
from tests.factories import CustomerFactory, storefront_client, webhook_endpoint
from tests.messaging.helpers import ticket_filed
from tests.messaging.receiver import receiver_start


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


class RebindingResolver:
    """A name server that answers each name's addresses in turn, one answer a question (the
    last one again when they run out): a DNS-rebinding attacker's, with a TTL of zero.
    Address literals resolve to themselves; every question is noted."""

    def __init__(self, monkeypatch):
        self.answers: dict[str, list[list[str]]] = {}
        self.asked: list[str] = []
        monkeypatch.setattr(socket, "getaddrinfo", self.getaddrinfo)

    def getaddrinfo(self, host, port, *args, **kwargs):
        self.asked.append(host)
        turns = self.answers.get(host)
        addresses = (turns.pop(0) if len(turns) > 1 else turns[0]) if turns else [host]
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port)) for a in addresses]


@pytest.fixture
def rebinding(monkeypatch):
    return RebindingResolver(monkeypatch)


@pytest.mark.django_db
def test_an_attempt_connects_to_the_address_it_checked_not_to_a_second_answer(rebinding):
    """The name answers 127.0.0.1 to the check, then 127.0.0.2 to whoever asks again: the
    delivery reaches the first; a client that resolved again would reach the second."""
    checked = receiver_start("127.0.0.1")
    port = checked.server.server_address[1]
    rebound = receiver_start("127.0.0.2", port)
    try:
        rebinding.answers["hooks.shop.test"] = [["127.0.0.1"], ["127.0.0.2"]]
        webhook_endpoint(
            f"http://hooks.shop.test:{port}/in", events=[WebhookEventType.TICKET_CREATED]
        )
        ticket_filed(CustomerFactory())

        deliveries_send_due()

        assert rebound.received == []
        (got,) = checked.received
        assert got.headers["Host"] == f"hooks.shop.test:{port}"
        assert rebinding.asked.count("hooks.shop.test") == 1
        assert WebhookDelivery.objects.get().status == DeliveryStatus.DELIVERED
    finally:
        for receiver in (checked, rebound):
            receiver.server.shutdown()
            receiver.server.server_close()


@pytest.mark.django_db
def test_in_production_the_public_address_checked_is_the_one_connected_to(
    production_like, rebinding, monkeypatch
):
    """Public to the check, then 10.0.0.7: the connection goes to the public address. No
    packet leaves the machine: the connection is refused where the socket would open."""
    import urllib3.util.connection

    connected: list[tuple[str, int]] = []

    def refuse(address, *args, **kwargs):
        connected.append(address)
        raise ConnectionRefusedError("no network in tests")

    monkeypatch.setattr(urllib3.util.connection, "create_connection", refuse)
    rebinding.answers["hooks.shop.example"] = [["93.184.215.14"]]
    webhook_endpoint("https://hooks.shop.example/in", events=[WebhookEventType.TICKET_CREATED])
    rebinding.answers["hooks.shop.example"] = [["93.184.215.14"], ["10.0.0.7"]]
    rebinding.asked.clear()
    ticket_filed(CustomerFactory())

    deliveries_send_due()

    assert connected == [("93.184.215.14", 443)]
    assert rebinding.asked.count("hooks.shop.example") == 1
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == DeliveryStatus.PENDING
    assert delivery.last_error == "ConnectionError"


@pytest.mark.django_db
@pytest.mark.parametrize("address", ["10.1.2.3", "127.0.0.1", "169.254.169.254"])
def test_in_production_a_name_resolving_to_a_private_address_is_never_connected_to(
    production_like, rebinding, monkeypatch, address
):
    import urllib3.util.connection

    connected: list = []
    monkeypatch.setattr(
        urllib3.util.connection, "create_connection", lambda *a, **k: connected.append(a)
    )
    rebinding.answers["hooks.shop.example"] = [["93.184.215.14"], [address]]
    webhook_endpoint("https://hooks.shop.example/in", events=[WebhookEventType.TICKET_CREATED])
    ticket_filed(CustomerFactory())  # the name now answers the private address

    deliveries_send_due()

    assert connected == []
    delivery = WebhookDelivery.objects.get()
    assert delivery.last_error.startswith("refused:")
    with pytest.raises(TargetRefused):
        target_check("https://hooks.shop.example/in")


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["http://127.0.0.1/hooks", "http://169.254.169.254/latest/"])
def test_in_production_plain_http_to_loopback_or_metadata_is_refused_on_save_and_at_delivery(
    production_like, url
):
    response = storefront_client().post(
        "/api/v1/webhooks/", {"url": url, "events": ["ticket.created"]}, format="json"
    )
    assert response.status_code == 400
    with pytest.raises(TargetRefused):
        target_resolve(url)
