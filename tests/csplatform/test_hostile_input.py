"""Hostile bodies get a 400 in the API's error shape, never a 500."""

import pytest
from rest_framework.test import APIClient

from csplatform.api.parsers import MAX_JSON_DEPTH, json_depth
from tests.factories import (
    OrderFactory,
    SurveyInvitationFactory,
    TicketFactory,
    admin_user,
    agent_user,
    storefront_client,
    survey_token,
)

NESTED = b"[" * 100_000


def test_depth_is_counted_outside_string_literals():
    assert json_depth(b'{"a": [1, {"b": "[[[[{{"}]}') == 3
    assert json_depth(b'"\\"[[[["') == 0
    assert json_depth(b"[" * 40 + b"]" * 40) == 40


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("who", "method", "url"),
    [
        ("storefront", "post", "/api/v1/tickets/"),
        ("storefront", "put", "/api/v1/orders/SO-1/"),
        ("storefront", "post", "/api/v1/orders/{order}/events/"),
        ("storefront", "post", "/api/v1/returns/"),
        ("storefront", "post", "/api/v1/complaints/"),
        ("agent", "patch", "/api/v1/tickets/{ticket}/"),
        ("agent", "post", "/api/v1/tickets/{ticket}/messages/"),
        ("admin", "put", "/api/v1/sla/policies/"),
        ("admin", "put", "/api/v1/sla/calendars/"),
        ("anonymous", "post", "/api/v1/auth/token/"),
        ("anonymous", "post", "/api/v1/surveys/{token}/"),
    ],
)
def test_a_body_nested_a_hundred_thousand_deep_is_a_400_not_a_500(who, method, url):
    url = url.format(
        order=OrderFactory().number,
        token=survey_token(SurveyInvitationFactory()),
        ticket="{ticket}",
    )
    if who == "storefront":
        client = storefront_client()
    else:
        client = APIClient()
        if who in ("agent", "admin"):
            user = admin_user() if who == "admin" else agent_user()
            client.force_login(user)
            ticket = TicketFactory()
            if who == "agent":
                ticket.team.members.add(user)
            url = url.format(ticket=ticket.number)
    response = getattr(client, method)(url, NESTED, content_type="application/json")
    assert response.status_code == 400, response.content[:200]
    body = response.json()
    assert body["code"] == "parse_error"
    assert str(MAX_JSON_DEPTH) in body["detail"]


@pytest.mark.django_db
def test_ordinary_nesting_is_read_as_before():
    client = storefront_client()
    response = client.post("/api/v1/tickets/", {"customer": {"external_id": ""}}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"


@pytest.mark.django_db
@pytest.mark.parametrize("content_type", ["application/json", "application/x-www-form-urlencoded"])
def test_a_ten_megabyte_body_is_answered_in_the_apis_json_shape(content_type):
    client = storefront_client()
    body = b"a=" + b"x" * (10 * 1024 * 1024)
    response = client.post("/api/v1/tickets/", body, content_type=content_type)
    assert 400 <= response.status_code < 500
    assert response["Content-Type"].startswith("application/json")
    assert set(response.json()) >= {"code", "detail"}


@pytest.mark.django_db
def test_an_unknown_api_url_is_a_json_404():
    response = storefront_client().get("/api/v1/no-such-thing/")
    assert response.status_code == 404
    assert response.json() == {"code": "not_found", "detail": "Not found."}


@pytest.mark.django_db
def test_a_server_error_under_the_api_never_shows_the_debug_page(settings, monkeypatch):
    from tickets.api import views

    settings.DEBUG = True

    def broken(*args, **kwargs):
        raise RuntimeError("secret local state")

    monkeypatch.setattr(views, "storefront_tickets", broken)
    client = storefront_client()
    client.raise_request_exception = False
    response = client.get("/api/v1/tickets/?customer=C-1")
    assert response.status_code == 500
    assert response.json() == {
        "code": "server_error",
        "detail": "The server could not answer this request; it has been logged.",
    }
    assert b"secret local state" not in response.content
