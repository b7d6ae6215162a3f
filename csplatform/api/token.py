"""``POST /api/v1/auth/token/``: an agent's token for the API, from username and password, and
the authenticator code where the user has one or two factors are required
(``csplatform/two_factor.py``): the token endpoint is no way round the second factor."""

from collections.abc import Mapping
from typing import Any

from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_cool_off
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.exceptions import NotAuthenticated, Throttled
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings

from csplatform.api_tokens import api_token_issue, api_token_lifetime, api_tokens_revoke
from csplatform.two_factor import (
    USERNAME_MAX_LENGTH,
    SecondFactorRefused,
    second_factor_verify,
)

from .errors import InvalidInput
from .parsers import BoundedJSONParser
from .schema import ERROR_RESPONSES, ErrorSerializer


class TokenObtainInput(AuthTokenSerializer):
    # Checked before authenticate(): a longer name is no user, and django-axes would fail to
    # record it (varchar(255)).
    username = serializers.CharField(label=_("Username"), max_length=150, write_only=True)
    password = serializers.CharField(
        label=_("Password"),
        style={"input_type": "password"},
        trim_whitespace=False,
        max_length=4096,
        write_only=True,
    )
    otp_token = serializers.CharField(
        label=_("Authenticator code"),
        required=False,
        allow_blank=True,
        max_length=8,
        write_only=True,
        help_text="The 6-digit code of the user's authenticator app: needed once the user set one"
        " up, and always where two-factor sign-in is required (400 `otp_required`,"
        " `otp_invalid`, or `otp_not_set_up` for a user who has yet to set one up in the desk).",
    )


class TokenIssuedSerializer(serializers.Serializer):
    token = serializers.CharField()
    expires_at = serializers.DateTimeField()


class TokenObtainApi(ObtainAuthToken):
    parser_classes = (FormParser, MultiPartParser, BoundedJSONParser)
    serializer_class = TokenObtainInput
    # POST signs in (no credentials yet); DELETE is authenticated by the token it revokes.
    # The setting holds the classes by then; the stubs type it as their import paths.
    authentication_classes = api_settings.DEFAULT_AUTHENTICATION_CLASSES  # type: ignore[assignment]
    permission_classes = ()

    @extend_schema(
        operation_id="auth_token_create",
        responses={
            200: TokenIssuedSerializer,
            400: ERROR_RESPONSES[400],
            429: OpenApiResponse(ErrorSerializer, description="Locked out for a while"),
        },
        description="A token good for the session's absolute lifetime (12 hours by default).",
    )
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        self._refuse_if_locked_out(request)
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = serializer.validated_data["user"]
        try:
            second_factor_verify(
                user, serializer.validated_data.get("otp_token"), enrolled_only=False
            )
        except SecondFactorRefused as refusal:
            message = str(refusal.message)
            errors = {"otp_token": [message]}
            raise InvalidInput(message, code=refusal.code, errors=errors) from None
        token = api_token_issue(user=user)
        return Response({"token": token.key, "expires_at": token.created + api_token_lifetime()})

    def _refuse_if_locked_out(self, request: Request) -> None:
        """django-axes locks a username at an address after repeated failures; its refusal
        reaches the token view as a plain failed login, so it is checked here first and
        answered like the sign-in form: 429 with Retry-After."""
        data = request.data if isinstance(request.data, Mapping) else {}
        username = data.get("username")
        if not isinstance(username, str) or not 0 < len(username) <= USERNAME_MAX_LENGTH:
            return
        if AxesProxyHandler.is_locked(request._request, {"username": username}):
            cool_off = get_cool_off(request._request)
            raise Throttled(
                wait=cool_off.total_seconds() if cool_off else None,
                detail=str(_("Too many failed sign-ins: try again later.")),
            )

    @extend_schema(
        operation_id="auth_token_revoke",
        request=None,
        responses={204: None, 401: ERROR_RESPONSES[401]},
        description="Revoke the caller's token (signing out of the desk does the same).",
    )
    def delete(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        if not request.user.is_authenticated or getattr(request.user, "pk", None) is None:
            raise NotAuthenticated()
        api_tokens_revoke(user=request.user)
        return Response(status=204)
