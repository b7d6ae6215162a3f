"""``POST /api/v1/inbound/email/``: the mail provider hands over raw messages with a key of its
own; garbage is a 400, never a 500."""

import pytest
from rest_framework.test import APIClient

from messaging.models import EmailMessage
from tests.factories import (
    StorefrontFactory,
    api_key_header,
    mailbox,
    raw_email,
    storefront_api_key,
)
from tickets.models import Ticket

pytestmark = pytest.mark.django_db

URL = "/api/v1/inbound/email/"


@pytest.fixture
def support():
    return mailbox("support@shop.example")


def _client(scopes=("inbound_email",), **kwargs) -> APIClient:
    _, key = storefront_api_key("mail provider", scopes=list(scopes), **kwargs)
    client = APIClient()
    client.credentials(**api_key_header(key))
    return client


def _post(client, raw: bytes, content_type: str = "message/rfc822"):
    return client.generic("POST", URL, raw, content_type=content_type)


def test_a_mail_posted_raw_opens_a_ticket_and_answers_202_with_its_number(support):
    response = _post(_client(), raw_email(subject="物流问题"))
    assert response.status_code == 202
    body = response.json()
    ticket = Ticket.objects.get()
    assert body == {"status": "received", "ticket": ticket.number, "duplicate": False}
    assert ticket.subject == "物流问题"


def test_octet_stream_is_taken_too(support):
    response = _post(_client(), raw_email(), content_type="application/octet-stream")
    assert response.status_code == 202


def test_the_same_mail_posted_twice_is_taken_once(support):
    client, raw = _client(), raw_email()
    first = _post(client, raw).json()
    again = _post(client, raw)
    assert again.status_code == 202
    assert again.json() == {**first, "duplicate": True}
    assert Ticket.objects.count() == 1


def test_an_auto_reply_answers_200_ignored_with_the_reason(support):
    response = _post(_client(), raw_email(headers={"Auto-Submitted": "auto-replied"}))
    assert response.status_code == 200
    assert response.json() == {"status": "ignored", "reason": "auto_submitted", "duplicate": False}
    assert not Ticket.objects.exists()


def test_without_a_key_the_webhook_is_refused():
    assert _post(APIClient(), raw_email()).status_code in (401, 403)


def test_a_storefront_key_without_the_inbound_email_scope_is_refused(support):
    _, key = storefront_api_key("shop")  # every storefront scope, not inbound_email
    client = APIClient()
    client.credentials(**api_key_header(key))
    assert _post(client, raw_email()).status_code == 403
    assert not EmailMessage.objects.exists()


def test_the_inbound_email_key_reaches_nothing_else():
    assert _client().get("/api/v1/tickets/").status_code == 403


def test_another_storefronts_key_does_not_reach_the_mailbox(support):
    response = _post(_client(storefront=StorefrontFactory()), raw_email())
    assert response.status_code == 200
    assert response.json()["reason"] == "unknown_recipient"


@pytest.mark.parametrize(
    "raw",
    [
        b"garbage",
        b"\x00\xff\xfe\x00" * 50,
        b"Subject: no sender\r\n\r\nhello",
        b"From: not an address\r\n\r\nhello",
        b"   \r\n",
    ],
)
def test_garbage_is_a_400_in_the_api_error_shape(support, raw):
    response = _post(_client(), raw)
    assert response.status_code == 400
    assert set(response.json()) >= {"code", "detail"}
    assert not EmailMessage.objects.exists()


def test_an_empty_body_is_a_400(support):
    response = _post(_client(), b"")
    assert response.status_code == 400


def test_a_json_body_is_an_unsupported_media_type(support):
    response = _client().post(URL, {"raw": "x"}, format="json")
    assert response.status_code == 415


def test_a_message_over_the_size_limit_is_refused_413(support, settings):
    settings.INBOUND_EMAIL_MAX_BYTES = 2000
    raw = raw_email(text="x" * 5000)
    response = _post(_client(), raw)
    assert response.status_code == 413
    assert response.json()["code"] == "email_too_large"
    assert not EmailMessage.objects.exists()


def test_the_schema_describes_the_inbound_webhook():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    operation = schema["paths"]["/api/v1/inbound/email/"]["post"]
    assert set(operation["requestBody"]["content"]) == {
        "message/rfc822",
        "application/octet-stream",
    }
    assert {"200", "202", "400", "413"} <= set(operation["responses"])
