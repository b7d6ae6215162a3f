"""The surveys admin: one settings row (delays, expiry, cooldowns, questions in both
languages) and read-only, filterable responses and invitations."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from surveys.models import SurveyInvitation, SurveyResponse, SurveySettings
from surveys.services import survey_answer
from tests.factories import SurveyInvitationFactory, survey_token

pytestmark = pytest.mark.django_db


def _settings_form(config: SurveySettings, **changes) -> dict:
    data = {
        field.name: getattr(config, field.name)
        for field in SurveySettings._meta.fields
        if field.name != "id"
    }
    return {**data, **changes}


def test_the_settings_are_one_row_that_cannot_be_deleted(admin_client_):
    add = reverse("admin:surveys_surveysettings_add")
    assert admin_client_.get(add).status_code == 200
    config = SurveySettings.load()
    assert admin_client_.get(add).status_code == 403
    assert (
        admin_client_.get(
            reverse("admin:surveys_surveysettings_delete", args=[config.pk])
        ).status_code
        == 403
    )


def test_an_admin_changes_delays_cooldowns_and_the_questions_in_both_languages(admin_client_):
    config = SurveySettings.load()
    change = reverse("admin:surveys_surveysettings_change", args=[config.pk])
    page = admin_client_.get(change)
    assert page.status_code == 200
    assert "您对本次客服服务满意吗？" in page.content.decode()

    response = admin_client_.post(
        change,
        _settings_form(
            config,
            csat_delay_hours=12,
            csat_cooldown_days=14,
            nps_cooldown_days=60,
            expiry_days=5,
            csat_question_zh="请为我们的服务打分",
            csat_question_en="Please rate our service",
        ),
    )
    assert response.status_code == 302
    config.refresh_from_db()
    assert (config.csat_delay_hours, config.csat_cooldown_days, config.nps_cooldown_days) == (
        12,
        14,
        60,
    )
    assert config.question("csat", "zh-hans") == "请为我们的服务打分"
    assert config.question("csat", "en") == "Please rate our service"


def test_an_expiry_of_zero_days_is_refused(admin_client_):
    config = SurveySettings.load()
    change = reverse("admin:surveys_surveysettings_change", args=[config.pk])
    response = admin_client_.post(change, _settings_form(config, expiry_days=0))
    assert response.status_code == 200  # the form again, with the error
    config.refresh_from_db()
    assert config.expiry_days == 7


def test_responses_are_listed_with_filters_and_cannot_be_edited(admin_client_):
    invitation = SurveyInvitationFactory()
    response = survey_answer(invitation=invitation, score=4, comment="不错")
    changelist = reverse("admin:surveys_surveyresponse_changelist")

    page = admin_client_.get(changelist, {"kind": "csat", "score": "4"})
    assert page.status_code == 200
    assert invitation.ticket.number in page.content.decode()
    assert admin_client_.get(changelist, {"score": "1"}).context["cl"].result_count == 0
    for name in ("team__id__exact", "channel", "ticket_kind"):
        assert name in page.content.decode()

    assert admin_client_.get(reverse("admin:surveys_surveyresponse_add")).status_code == 403
    detail = admin_client_.get(reverse("admin:surveys_surveyresponse_change", args=[response.pk]))
    assert detail.status_code == 200
    assert b'name="_save"' not in detail.content
    before = SurveyResponse.objects.values().get(pk=response.pk)
    admin_client_.post(
        reverse("admin:surveys_surveyresponse_change", args=[response.pk]), {"score": 1}
    )
    assert SurveyResponse.objects.values().get(pk=response.pk) == before


def test_invitations_show_no_token_and_no_personal_data(admin_client_):
    invitation = SurveyInvitationFactory()
    detail = admin_client_.get(
        reverse("admin:surveys_surveyinvitation_change", args=[invitation.pk])
    ).content.decode()
    assert survey_token(invitation) not in detail
    assert invitation.token_hash not in detail
    assert invitation.customer.phone not in detail
    assert invitation.customer.name not in detail
    changelist = admin_client_.get(reverse("admin:surveys_surveyinvitation_changelist"))
    assert changelist.status_code == 200
    assert SurveyInvitation.objects.count() == 1


def test_the_responses_list_uses_as_many_queries_for_30_rows_as_for_3(admin_client_):
    changelist = reverse("admin:surveys_surveyresponse_changelist")

    def queries_for_list() -> int:
        with CaptureQueriesContext(connection) as queries:
            page = admin_client_.get(changelist)
        assert page.status_code == 200
        return len(queries)

    for _ in range(3):
        survey_answer(invitation=SurveyInvitationFactory(), score=3, comment="还行")
    admin_client_.get(changelist)  # the session's first use writes it
    few = queries_for_list()
    for _ in range(27):
        survey_answer(invitation=SurveyInvitationFactory(), score=2, comment="一般")
    assert queries_for_list() == few
