"""``/api/v1/surveys/``: the customer's survey by its token, and the storefront's lookup."""

from __future__ import annotations

from django.utils import timezone, translation
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from csplatform.api.permissions import IsStorefront, request_storefront
from csplatform.api.schema import ERROR_RESPONSES, ErrorSerializer
from csplatform.errors import InvalidInput
from surveys.choices import InvitationStatus, SurveyLanguage
from surveys.models import SurveySettings
from surveys.selectors import invitation_by_token, invitation_for_subject
from surveys.services import (
    COMMENT_MAX_LENGTH,
    SurveyAlreadyAnswered,
    SurveyExpired,
    survey_answer,
    survey_url,
)
from surveys.tokens import token_for

from .serializers import (
    SurveyAnswerInputSerializer,
    SurveyAnswerOutputSerializer,
    SurveyLinkSerializer,
    SurveyOutputSerializer,
)

GONE = OpenApiResponse(ErrorSerializer, description="The survey has expired (code `expired`)")
THROTTLED = OpenApiResponse(ErrorSerializer, description="Too many requests; see Retry-After")
LANG_PARAMETER = OpenApiParameter(
    "lang",
    str,
    enum=SurveyLanguage.values,
    required=False,
    description="The language of the question; the customer's language by default.",
)


def _invitation_or_404(token: str):
    invitation = invitation_by_token(token)
    if invitation is None:
        raise NotFound()
    return invitation


def _is_expired(invitation) -> bool:
    return invitation.status == InvitationStatus.EXPIRED or (
        invitation.status == InvitationStatus.SENT and invitation.expires_at <= timezone.now()
    )


class SurveyApi(APIView):
    """The token is the credential: no key, no session (hence no CSRF)."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="survey_retrieve",
        auth=[],
        parameters=[LANG_PARAMETER],
        responses={
            200: SurveyOutputSerializer,
            404: ERROR_RESPONSES[404],
            410: GONE,
            429: THROTTLED,
        },
    )
    def get(self, request, token: str) -> Response:
        invitation = _invitation_or_404(token)
        if _is_expired(invitation):
            raise SurveyExpired(str(_expired_detail()))
        wanted = request.query_params.get("lang")
        language = wanted if wanted in SurveyLanguage.values else invitation.language
        low, high = invitation.scale
        data = {
            "kind": invitation.kind,
            "question": SurveySettings.load().question(invitation.kind, language),
            "scale_min": low,
            "scale_max": high,
            "expires_at": invitation.expires_at,
            "answered": invitation.status == InvitationStatus.ANSWERED,
            "language": language,
            "comment_max_length": COMMENT_MAX_LENGTH,
        }
        return Response(SurveyOutputSerializer(data).data)

    @extend_schema(
        operation_id="survey_answer",
        auth=[],
        request=SurveyAnswerInputSerializer,
        responses={
            201: SurveyAnswerOutputSerializer,
            400: ERROR_RESPONSES[400],
            404: ERROR_RESPONSES[404],
            409: OpenApiResponse(
                ErrorSerializer, description="Already answered (code `already_answered`)"
            ),
            410: GONE,
            429: THROTTLED,
        },
    )
    def post(self, request, token: str) -> Response:
        invitation = _invitation_or_404(token)
        if invitation.status == InvitationStatus.ANSWERED:
            raise SurveyAlreadyAnswered(str(_answered_detail()))
        if _is_expired(invitation):
            raise SurveyExpired(str(_expired_detail()))
        if not isinstance(request.data, dict):
            raise InvalidInput("Send a JSON object.", errors={"non_field_errors": ["object"]})
        serializer = SurveyAnswerInputSerializer(
            data=request.data, kind=invitation.kind, scale=invitation.scale
        )
        serializer.is_valid(raise_exception=True)
        response = survey_answer(
            invitation=invitation,
            score=serializer.validated_data["score"],
            comment=serializer.validated_data.get("comment", ""),
            language=request.query_params.get("lang"),
        )
        return Response(SurveyAnswerOutputSerializer(response).data, status=status.HTTP_201_CREATED)


def _expired_detail():
    return translation.gettext("This survey has expired.")


def _answered_detail():
    return translation.gettext("This survey has already been answered.")


SUBJECT_MAX_LENGTH = 40


class SurveyLinkApi(APIView):
    """The storefront fetches the survey link of a ticket, an order or a complaint, to show
    the survey in its own pages."""

    permission_classes = [IsStorefront]

    @extend_schema(
        operation_id="survey_link_lookup",
        parameters=[
            OpenApiParameter("ticket", str, required=False, description="A ticket number."),
            OpenApiParameter("order", str, required=False, description="An order number."),
            OpenApiParameter("complaint", str, required=False, description="A complaint number."),
        ],
        responses={
            200: SurveyLinkSerializer,
            400: ERROR_RESPONSES[400],
            401: ERROR_RESPONSES[401],
            403: ERROR_RESPONSES[403],
            404: ERROR_RESPONSES[404],
            429: THROTTLED,
        },
    )
    def get(self, request) -> Response:
        given = {
            name: request.query_params.get(name, "")
            for name in ("ticket", "order", "complaint")
            if request.query_params.get(name, "")
        }
        if len(given) != 1:
            message = "Give exactly one of ticket, order or complaint."
            raise InvalidInput(message, errors={"non_field_errors": [message]})
        ((name, value),) = given.items()
        if len(value) > SUBJECT_MAX_LENGTH or "\x00" in value:
            raise NotFound()
        invitation = invitation_for_subject(
            storefront=request_storefront(request), **{f"{name}_number": value}
        )
        if invitation is None:
            raise NotFound()
        data = {
            "kind": invitation.kind,
            "status": invitation.status,
            "token": token_for(invitation.token_nonce),
            "url": survey_url(invitation),
            "language": invitation.language,
            "sent_at": invitation.sent_at,
            "expires_at": invitation.expires_at,
            "answered": invitation.status == InvitationStatus.ANSWERED,
        }
        return Response(SurveyLinkSerializer(data).data)
