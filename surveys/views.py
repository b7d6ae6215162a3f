"""The public survey page ``/s/<token>``: no login, the customer's language, one tap.

The token in the path is kept out of Django's logs by ``redaction.py``.
"""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.views.decorators.http import require_http_methods

from .choices import InvitationStatus, SurveyKind, SurveyLanguage
from .forms import SurveyAnswerForm
from .models import SurveyInvitation, SurveySettings
from .selectors import invitation_by_token
from .services import SurveyAlreadyAnswered, SurveyExpired, survey_answer


def _language(request, invitation: SurveyInvitation) -> str:
    wanted = request.POST.get("lang") or request.GET.get("lang")
    return wanted if wanted in SurveyLanguage.values else invitation.language


def _page(request, template: str, context: dict, *, language: str, status: int = 200):
    with translation.override(language):
        response = render(
            request,
            template,
            {**context, "language": language, "languages": SurveyLanguage.choices},
            status=status,
        )
    response["Content-Language"] = language
    response.headers.setdefault("Cache-Control", "no-store")
    return response


def _not_found(request) -> HttpResponse:
    language = translation.get_language_from_request(request)
    language = language if language in SurveyLanguage.values else SurveyLanguage.ZH_HANS
    return _page(request, "surveys/not_found.html", {}, language=language, status=404)


def _is_expired(invitation: SurveyInvitation) -> bool:
    return invitation.status == InvitationStatus.EXPIRED or (
        invitation.status == InvitationStatus.SENT and invitation.expires_at <= timezone.now()
    )


def _survey_context(invitation: SurveyInvitation, language: str, form) -> dict:
    low, high = invitation.scale
    return {
        "invitation": invitation,
        "form": form,
        "question": SurveySettings.load().question(invitation.kind, language),
        "scores": range(low, high + 1),
        "is_nps": invitation.kind == SurveyKind.NPS,
    }


@require_http_methods(["GET", "POST"])
def survey_page(request, token: str) -> HttpResponse:
    invitation = invitation_by_token(token)
    if invitation is None:
        return _not_found(request)
    language = _language(request, invitation)
    if invitation.status == InvitationStatus.ANSWERED:
        status = 409 if request.method == "POST" else 200
        return _page(request, "surveys/answered.html", {}, language=language, status=status)
    if _is_expired(invitation):
        return _page(request, "surveys/expired.html", {}, language=language, status=410)

    with translation.override(language):
        form = SurveyAnswerForm(
            request.POST if request.method == "POST" else None, kind=invitation.kind
        )
        if request.method == "POST" and form.is_valid():
            try:
                survey_answer(
                    invitation=invitation,
                    score=form.cleaned_data["score"],
                    comment=form.cleaned_data["comment"],
                    language=language,
                )
            except SurveyAlreadyAnswered:
                return _page(request, "surveys/answered.html", {}, language=language, status=409)
            except SurveyExpired:
                return _page(request, "surveys/expired.html", {}, language=language, status=410)
            thanks = reverse("survey-thanks", kwargs={"token": token})
            return redirect(f"{thanks}?lang={language}")
    context = _survey_context(invitation, language, form)
    status = 400 if form.is_bound else 200
    return _page(request, "surveys/survey.html", context, language=language, status=status)


@require_http_methods(["GET"])
def survey_thanks(request, token: str) -> HttpResponse:
    invitation = invitation_by_token(token)
    if invitation is None:
        return _not_found(request)
    language = _language(request, invitation)
    if invitation.status != InvitationStatus.ANSWERED:
        return redirect(f"{reverse('survey', kwargs={'token': token})}?lang={language}")
    return _page(request, "surveys/thanks.html", {}, language=language)
