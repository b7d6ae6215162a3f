"""``/api/v1/surveys/{token}/`` (the token is the credential) and the storefront's lookup of a
survey link, ``/api/v1/surveys/?ticket=|order=|complaint=`` (Api-Key)."""

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from surveys.choices import InvitationStatus, SurveyKind
from surveys.models import SurveyResponse
from tests.factories import (
    OrderFactory,
    SurveyInvitationFactory,
    TicketFactory,
    storefront_client,
    survey_token,
)

pytestmark = pytest.mark.django_db


def url(invitation) -> str:
    return f"/api/v1/surveys/{survey_token(invitation)}/"


def test_the_survey_is_described_by_its_token_without_credentials(api, invitation):
    response = api.get(url(invitation))

    assert response.status_code == 200
    body = response.json()
    assert {k: body[k] for k in ("kind", "question", "scale_min", "scale_max", "answered")} == {
        "kind": "csat",
        "question": "您对本次客服服务满意吗？",
        "scale_min": 1,
        "scale_max": 5,
        "answered": False,
    }
    assert body["expires_at"] == timezone.localtime(invitation.expires_at).isoformat()
    assert api.get(url(invitation) + "?lang=en").json()["question"].startswith("How satisfied")


def test_an_nps_survey_has_the_0_to_10_scale(api):
    order = OrderFactory()
    nps = SurveyInvitationFactory(
        kind=SurveyKind.NPS, ticket=None, order=order, customer=order.customer
    )
    body = api.get(url(nps)).json()
    assert (body["kind"], body["scale_min"], body["scale_max"]) == ("nps", 0, 10)


def test_an_answer_is_201_once_then_409(api, invitation):
    first = api.post(url(invitation), {"score": 5, "comment": "很满意"}, format="json")
    assert first.status_code == 201
    assert first.json()["score"] == 5
    assert first.json()["comment"] == "很满意"

    again = api.post(url(invitation), {"score": 1}, format="json")
    assert again.status_code == 409
    assert again.json()["code"] == "already_answered"
    assert api.get(url(invitation)).json()["answered"] is True
    assert SurveyResponse.objects.get().score == 5


@pytest.mark.parametrize("score", [0, 6, -1, "abc", "", None, True, 2.5, [3], {"v": 3}])
def test_a_score_out_of_range_or_not_a_number_is_400_with_the_range(api, invitation, score):
    response = api.post(url(invitation), {"score": score}, format="json")

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert body["errors"]["score"] == ["Enter a whole number from 1 to 5."]
    assert not SurveyResponse.objects.exists()


def test_an_nps_score_of_11_names_the_nps_range(api):
    order = OrderFactory()
    nps = SurveyInvitationFactory(
        kind=SurveyKind.NPS, ticket=None, order=order, customer=order.customer
    )
    response = api.post(url(nps), {"score": 11}, format="json")
    assert response.json()["errors"]["score"] == ["Enter a whole number from 0 to 10."]
    assert api.post(url(nps), {"score": 0}, format="json").status_code == 201


def test_a_missing_score_or_a_body_that_is_not_an_object_is_400(api, invitation):
    assert api.post(url(invitation), {}, format="json").status_code == 400
    assert api.post(url(invitation), [1, 2], format="json").status_code == 400
    too_long = {"score": 3, "comment": "好" * 2001}
    assert api.post(url(invitation), too_long, format="json").status_code == 400


def test_an_expired_survey_is_410(api):
    expired = SurveyInvitationFactory(status=InvitationStatus.EXPIRED)
    for response in (
        api.get(url(expired)),
        api.post(url(expired), {"score": 5}, format="json"),
    ):
        assert response.status_code == 410
        assert response.json()["code"] == "expired"


def test_an_unknown_or_never_sent_token_is_404(api):
    cancelled = SurveyInvitationFactory(status=InvitationStatus.CANCELLED)
    for path in ("/api/v1/surveys/" + "A" * 43 + "/", url(cancelled), "/api/v1/surveys/é/"):
        assert api.get(path).status_code == 404
        assert api.post(path, {"score": 5}, format="json").status_code == 404


def test_the_storefront_fetches_the_link_of_a_ticket_survey(invitation):
    storefront = storefront_client()
    response = storefront.get("/api/v1/surveys/", {"ticket": invitation.ticket.number})

    assert response.status_code == 200
    body = response.json()
    assert body["token"] == survey_token(invitation)
    assert body["url"].endswith(f"/s/{survey_token(invitation)}")
    assert (body["kind"], body["status"], body["answered"]) == ("csat", "sent", False)


def test_the_storefront_fetches_the_link_of_an_order_survey():
    order = OrderFactory()
    nps = SurveyInvitationFactory(
        kind=SurveyKind.NPS, ticket=None, order=order, customer=order.customer
    )
    body = storefront_client().get("/api/v1/surveys/", {"order": order.number}).json()
    assert body["token"] == survey_token(nps)


def test_the_link_lookup_needs_the_storefront_key_and_one_subject(invitation):
    assert APIClient().get(
        "/api/v1/surveys/", {"ticket": invitation.ticket.number}
    ).status_code in (
        401,
        403,
    )
    storefront = storefront_client()
    assert storefront.get("/api/v1/surveys/").status_code == 400
    both = {"ticket": invitation.ticket.number, "order": "SO-1"}
    assert storefront.get("/api/v1/surveys/", both).status_code == 400


def test_no_link_for_a_survey_not_sent_yet_or_an_unknown_ticket():
    scheduled = SurveyInvitationFactory(status=InvitationStatus.SCHEDULED)
    storefront = storefront_client()
    assert (
        storefront.get("/api/v1/surveys/", {"ticket": scheduled.ticket.number}).status_code == 404
    )
    assert storefront.get("/api/v1/surveys/", {"ticket": TicketFactory().number}).status_code == 404
    assert storefront.get("/api/v1/surveys/", {"ticket": "T\x00" + "9" * 80}).status_code == 404


def test_the_schema_describes_the_survey_endpoints_truthfully(api):
    schema = api.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    survey = schema["paths"]["/api/v1/surveys/{token}/"]
    assert set(survey["get"]["responses"]) == {"200", "404", "410", "429"}
    assert set(survey["post"]["responses"]) == {"201", "400", "404", "409", "410", "415", "429"}
    assert survey["get"].get("security", []) in ([], [{}])  # no credentials: the token is one
    assert "security" not in schema
    lookup = schema["paths"]["/api/v1/surveys/"]["get"]
    assert {p["name"] for p in lookup["parameters"]} >= {"ticket", "order", "complaint"}
