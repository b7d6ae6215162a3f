"""``POST /api/v1/auth/token/``: an agent's token for the API, from username and password."""

from drf_spectacular.utils import extend_schema
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.parsers import FormParser, MultiPartParser

from .parsers import BoundedJSONParser
from .schema import ERROR_RESPONSES


class TokenObtainApi(ObtainAuthToken):
    parser_classes = (FormParser, MultiPartParser, BoundedJSONParser)

    @extend_schema(
        operation_id="auth_token_create",
        responses={200: ObtainAuthToken.serializer_class, 400: ERROR_RESPONSES[400]},
    )
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)
