"""Shared pieces of the OpenAPI description."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import serializers

ErrorSerializer = inline_serializer(
    name="Error",
    fields={
        "code": serializers.CharField(),
        "detail": serializers.CharField(),
        "errors": serializers.DictField(required=False),
        "allowed": serializers.ListField(child=serializers.CharField(), required=False),
    },
)

ERROR_RESPONSES = {
    400: OpenApiResponse(ErrorSerializer, description="Invalid input, field by field"),
    401: OpenApiResponse(ErrorSerializer, description="No valid credentials"),
    403: OpenApiResponse(ErrorSerializer, description="Not allowed for this principal"),
    404: OpenApiResponse(ErrorSerializer, description="Not found or not visible"),
    409: OpenApiResponse(ErrorSerializer, description="Conflicts with the current state"),
    422: OpenApiResponse(ErrorSerializer, description="Refused by a business rule"),
}


class StorefrontKeyScheme(OpenApiAuthenticationExtension):
    target_class = "csplatform.api.authentication.StorefrontKeyAuthentication"
    name = "ApiKeyAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Api-Key <key>`",
        }
