"""``POST /api/v1/auth/token/``: an agent's token for the API, from username and password, and
the authenticator code where the user has one or two factors are required
(``csplatform/two_factor.py``): the token endpoint is no way round the second factor."""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.authtoken.models import Token
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from csplatform.two_factor import SecondFactorRefused, second_factor_verify

from .errors import InvalidInput
from .parsers import BoundedJSONParser
from .schema import ERROR_RESPONSES


class TokenObtainInput(AuthTokenSerializer):
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


class TokenObtainApi(ObtainAuthToken):
    parser_classes = (FormParser, MultiPartParser, BoundedJSONParser)
    serializer_class = TokenObtainInput

    @extend_schema(
        operation_id="auth_token_create",
        responses={200: AuthTokenSerializer, 400: ERROR_RESPONSES[400]},
    )
    def post(self, request, *args, **kwargs):
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
        token, _created = Token.objects.get_or_create(user=user)
        return Response({"token": token.key})
