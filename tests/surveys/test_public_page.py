"""The public page ``/s/<token>``: no login, the customer's language with a switch, one tap,
a thank-you page, friendly "already answered" (409 on a second submit) and "expired" (410)
pages, and a 404 that says nothing about what exists."""

import logging
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from surveys.choices import InvitationStatus, SurveyKind
from surveys.models import SurveyResponse
from tests.factories import OrderFactory, SurveyInvitationFactory, survey_token

pytestmark = pytest.mark.django_db


def url(invitation, suffix: str = "") -> str:
    return f"/s/{survey_token(invitation)}{suffix}"


def test_the_page_asks_a_chinese_customer_in_chinese(client, invitation):
    response = client.get(url(invitation))

    assert response.status_code == 200
    page = response.content.decode()
    assert '<html lang="zh-hans">' in page
    assert "您对本次客服服务满意吗？" in page
    assert "非常满意" in page  # the scale's end, translated
    assert 'href="?lang=en"' in page  # the switch to English
    assert [f'value="{n}"' in page for n in range(1, 6)] == [True] * 5
    assert response["Content-Language"] == "zh-hans"


def test_the_page_asks_an_english_customer_in_english(client):
    invitation = SurveyInvitationFactory(language="en")
    page = client.get(url(invitation)).content.decode()

    assert '<html lang="en">' in page
    assert "How satisfied are you with the help you received?" in page
    assert "Very satisfied" in page
    assert 'href="?lang=zh-hans"' in page


def test_the_customer_can_switch_the_language(client, invitation):
    page = client.get(url(invitation) + "?lang=en").content.decode()
    assert "How satisfied are you with the help you received?" in page
    assert '<input type="hidden" name="lang" value="en">' in page


def test_an_nps_page_offers_0_to_10(client):
    order = OrderFactory()
    invitation = SurveyInvitationFactory(
        kind=SurveyKind.NPS, ticket=None, order=order, customer=order.customer, language="en"
    )
    page = client.get(url(invitation)).content.decode()
    assert "recommend" in page
    assert [f'id="score-{n}"' in page for n in range(11)] == [True] * 11


def test_one_tap_answers_and_shows_the_thank_you_page(client, invitation):
    response = client.post(url(invitation), {"score": "4", "comment": "很快", "lang": "zh-hans"})

    assert response.status_code == 302
    assert response["Location"] == url(invitation, "/thanks?lang=zh-hans")
    stored = SurveyResponse.objects.get(invitation=invitation)
    assert (stored.score, stored.comment, stored.language) == (4, "很快", "zh-hans")
    thanks = client.get(response["Location"])
    assert thanks.status_code == 200
    assert "感谢您的评价" in thanks.content.decode()


def test_the_answer_records_the_language_the_customer_chose(client, invitation):
    client.post(url(invitation), {"score": "5", "lang": "en"})
    assert SurveyResponse.objects.get(invitation=invitation).language == "en"


def test_a_second_answer_gets_a_friendly_message_and_409(client, invitation):
    client.post(url(invitation), {"score": "4"})
    again = client.post(url(invitation), {"score": "1", "comment": "改主意了"})

    assert again.status_code == 409
    assert "您已经回答过这份问卷" in again.content.decode()
    assert SurveyResponse.objects.get(invitation=invitation).score == 4
    # Opening the link again says the same, kindly (not an error).
    assert client.get(url(invitation)).status_code == 200


def test_an_expired_link_says_so_with_410(client):
    expired = SurveyInvitationFactory(status=InvitationStatus.EXPIRED, language="en")
    response = client.get(url(expired))
    assert response.status_code == 410
    assert "This survey has closed" in response.content.decode()
    assert client.post(url(expired), {"score": "5"}).status_code == 410
    assert not SurveyResponse.objects.exists()


def test_a_link_past_its_expiry_is_expired_before_the_sweep_marks_it(client):
    late = SurveyInvitationFactory(created_at=timezone.now() - timedelta(days=8))
    assert late.status == InvitationStatus.SENT
    assert client.get(url(late)).status_code == 410
    assert client.post(url(late), {"score": "5"}).status_code == 410


def test_an_unknown_token_is_404_and_tells_nothing(client):
    cancelled = SurveyInvitationFactory(status=InvitationStatus.CANCELLED)
    scheduled = SurveyInvitationFactory(status=InvitationStatus.SCHEDULED)
    unknown = client.get("/s/" + "A" * 43)

    assert unknown.status_code == 404
    for never_sent in (cancelled, scheduled):
        response = client.get(url(never_sent))
        assert response.status_code == 404
        assert response.content == unknown.content
    assert client.get("/s/" + "x" * 500).status_code == 404
    assert client.post("/s/" + "A" * 43, {"score": "5"}).status_code == 404


@pytest.mark.parametrize("score", ["0", "6", "abc", "", "4.5"])
def test_a_score_out_of_range_is_refused_with_the_range(client, invitation, score):
    response = client.post(url(invitation), {"score": score, "lang": "en"})

    assert response.status_code == 400
    assert "Enter a whole number from 1 to 5." in response.content.decode()
    assert not SurveyResponse.objects.exists()


def test_the_form_works_with_csrf_protection_on(invitation):
    browser = Client(enforce_csrf_checks=True)
    assert browser.post(url(invitation), {"score": "5"}).status_code == 403

    browser.get(url(invitation))
    token = browser.cookies["csrftoken"].value
    response = browser.post(url(invitation), {"score": "5", "csrfmiddlewaretoken": token})
    assert response.status_code == 302


def test_the_thanks_page_before_answering_goes_back_to_the_survey(client, invitation):
    response = client.get(url(invitation, "/thanks"))
    assert response.status_code == 302
    assert response["Location"].startswith(url(invitation))


def test_refused_requests_keep_the_token_out_of_the_logs(client, caplog, invitation):
    token = survey_token(invitation)
    client.post(url(invitation), {"score": "4"})
    with caplog.at_level(logging.DEBUG):
        client.post(url(invitation), {"score": "4"})  # 409
        client.get("/s/" + "B" * 43)  # 404
        client.get(f"/api/v1/surveys/{'C' * 43}/")  # 404 in the API
        Client(enforce_csrf_checks=True).post(url(invitation), {"score": "4"})  # CSRF 403
    assert "Forbidden (CSRF" in caplog.text
    assert "/s/[token]" in caplog.text
    for secret in (token, "B" * 43, "C" * 43):
        assert secret not in caplog.text


def test_the_page_has_no_inline_script_and_is_not_cached(client, invitation):
    response = client.get(url(invitation))
    assert "<script" not in response.content.decode()
    assert response["Cache-Control"] == "no-store"


def test_an_unknown_language_falls_back_to_the_customers(client, invitation):
    assert "您对本次客服服务满意吗？" in client.get(url(invitation) + "?lang=fr").content.decode()
    response = client.post(url(invitation), {"score": "3", "lang": "fr"})
    assert response.status_code == 302
    assert SurveyResponse.objects.get(invitation=invitation).language == "zh-hans"
