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
