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


def document_common_errors(result, generator, request, public):
    """Postprocessing hook: every operation may be throttled (429), and every operation that
    needs credentials may answer 401 and 403; document those where a view did not."""
    error = {"$ref": "#/components/schemas/Error"}
    descriptions = {
        "401": "No valid credentials",
        "403": "Not allowed for this principal",
        "429": "Too many requests; retry after the Retry-After header's seconds",
    }
    for path in result.get("paths", {}).values():
        for operation in path.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            security = operation.get("security") or []
            needs_credentials = bool(security) and {} not in security
            codes = ["429", *(["401", "403"] if needs_credentials else [])]
            for code in codes:
                operation["responses"].setdefault(
                    code,
                    {
                        "description": descriptions[code],
                        "content": {"application/json": {"schema": error}},
                    },
                )
    return result
