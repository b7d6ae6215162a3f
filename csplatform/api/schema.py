"""Shared pieces of the OpenAPI description."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.core.validators import RegexValidator
from django.forms import ChoiceField
from drf_spectacular.extensions import (
    OpenApiAuthenticationExtension,
    OpenApiSerializerFieldExtension,
)
from drf_spectacular.utils import Direction, OpenApiParameter, OpenApiResponse, inline_serializer
from rest_framework import serializers

from .pagination import PeekPagination

if TYPE_CHECKING:
    from django_filters import FilterSet
    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.openapi import AutoSchema
    from rest_framework.request import Request

Schema = dict[str, Any]

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

    def get_security_definition(self, auto_schema: AutoSchema) -> Schema:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Api-Key <key>`",
        }


def document_common_errors(
    result: Schema, generator: SchemaGenerator, request: Request | None, public: bool
) -> Schema:
    """Postprocessing hook: every operation may be throttled (429), every operation that
    needs credentials may answer 401 and 403, and every operation that takes a body may refuse
    one it cannot read as any of its media types (415); document those where a view did not."""
    error = {"$ref": "#/components/schemas/Error"}
    descriptions = {
        "401": "No valid credentials",
        "403": "Not allowed for this principal",
        "415": "The body's media type is not one this operation reads, or the body cannot be "
        "read as it",
        "429": "Too many requests; retry after the Retry-After header's seconds",
    }
    for path in result.get("paths", {}).values():
        for operation in path.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            security = operation.get("security") or []
            needs_credentials = bool(security) and {} not in security
            codes = ["429", *(["401", "403"] if needs_credentials else [])]
            if "requestBody" in operation:
                codes.append("415")
            for code in codes:
                operation["responses"].setdefault(
                    code,
                    {
                        "description": descriptions[code],
                        "content": {"application/json": {"schema": error}},
                    },
                )
    return result


# --- Request bodies as strict as the serializers --------------------------------------------
# What DRF refuses and drf-spectacular does not say: a required string may not be blank (nor
# only spaces, which DRF trims away), a decimal string needs a digit and no sign below a zero
# minimum, a list may be required to hold an item. Said here once, for every input field, so
# that the fuzzer's valid requests are accepted and its invalid ones refused.

NOT_BLANK = r"\S"  # something besides whitespace: DRF trims, then refuses the blank


class NonBlankStringSchema(OpenApiSerializerFieldExtension):
    target_class = "rest_framework.fields.CharField"
    match_subclasses = True
    priority = -1  # a more specific extension wins

    def map_serializer_field(self, auto_schema: AutoSchema, direction: Direction) -> Schema:
        field = self.target
        schema = auto_schema._map_serializer_field(field, direction, bypass_extensions=True)
        if (
            direction == "request"
            and schema.get("type") == "string"
            and "enum" not in schema
            and not field.allow_blank
        ):
            schema["minLength"] = max(schema.get("minLength", 0), 1)
            has_regex = any(isinstance(v, RegexValidator) for v in field.validators)
            if field.trim_whitespace and not has_regex and "pattern" not in schema:
                schema["pattern"] = NOT_BLANK
        return schema


def decimal_pattern(field: serializers.DecimalField) -> str:
    """The decimal strings DRF takes for the field: digits, at most ``decimal_places`` after
    the point, no sign unless negatives are allowed, not zero when the minimum is above it."""
    places = field.decimal_places or 0
    whole = field.max_digits - places if field.max_digits else None
    digits = rf"\d{{1,{whole}}}" if whole else r"\d+"
    fraction = rf"(?:\.\d{{1,{places}}})?" if places else ""
    if field.min_value is None or field.min_value < 0:
        return rf"^-?{digits}{fraction}$"
    if field.min_value == 0:
        return rf"^{digits}{fraction}$"
    # Above zero: a non-zero whole part, or a fraction with a non-zero digit (exact for a
    # minimum of one step, 0.01, the only one in use; the number branch is exact for any).
    whole_rest = rf"\d{{0,{whole - 1}}}" if whole else r"\d*"
    if not places:
        return rf"^0*[1-9]{whole_rest}$"
    # A fraction alone: k leading zeros, a non-zero digit, then at most the places left.
    nonzero = "|".join(rf"0{{{k}}}[1-9]\d{{0,{places - 1 - k}}}" for k in range(places))
    return rf"^(?:0*[1-9]{whole_rest}{fraction}|0*\.(?:{nonzero}))$"


def decimal_number(field: serializers.DecimalField) -> Schema:
    """The JSON numbers DRF takes for the field (read through their decimal spelling)."""
    places = field.decimal_places or 0
    step = Decimal(1).scaleb(-places)
    schema: Schema = {"type": "number", "multipleOf": float(step)}
    if field.max_digits:
        schema["maximum"] = float(Decimal(10) ** (field.max_digits - places) - step)
    if field.min_value is not None:
        schema["minimum"] = float(field.min_value)
    elif "maximum" in schema:
        schema["minimum"] = -schema["maximum"]
    if field.max_value is not None:
        schema["maximum"] = min(schema.get("maximum", float("inf")), float(field.max_value))
    return schema


class DecimalSchema(OpenApiSerializerFieldExtension):
    """Money in a request: a decimal string (as answers give it) or a JSON number."""

    target_class = "rest_framework.fields.DecimalField"
    match_subclasses = True

    def map_serializer_field(self, auto_schema: AutoSchema, direction: Direction) -> Schema:
        field = self.target
        schema = auto_schema._map_serializer_field(field, direction, bypass_extensions=True)
        if direction != "request" or schema.get("type") != "string":
            return schema
        string = {k: schema.pop(k) for k in ("type", "format") if k in schema}
        string["pattern"] = decimal_pattern(field)
        schema.pop("pattern", None)
        return {"anyOf": [string, decimal_number(field)], **schema}


class RequiredItemsSchema(OpenApiSerializerFieldExtension):
    """``many=True, allow_empty=False`` (and ``max_length``) as ``minItems`` / ``maxItems``."""

    target_class = "rest_framework.serializers.ListSerializer"
    match_subclasses = True

    def map_serializer_field(self, auto_schema: AutoSchema, direction: Direction) -> Schema:
        field = self.target
        schema = auto_schema._map_serializer_field(field, direction, bypass_extensions=True)
        if direction == "request" and schema and schema.get("type") == "array":
            if not field.allow_empty:
                schema["minItems"] = max(schema.get("minItems", 0), 1)
            if field.max_length is not None:
                schema["maxItems"] = field.max_length
            if field.min_length is not None:
                schema["minItems"] = max(schema.get("minItems", 0), field.min_length)
        return schema


def describe_page_parameters(
    result: Schema, generator: SchemaGenerator, request: Request | None, public: bool
) -> Schema:
    """Postprocessing hook: a ``page`` query parameter, wherever a view lists it, is described as
    ``PeekPagination`` reads it (a whole number from 1)."""
    (page,) = PeekPagination().get_schema_operation_parameters(None)
    for path in result.get("paths", {}).values():
        for operation in path.values():
            if not isinstance(operation, dict):
                continue
            for parameter in operation.get("parameters", []):
                if parameter.get("in") == "query" and parameter.get("name") == page["name"]:
                    parameter["schema"] = dict(page["schema"])
    return result


def filterset_parameters(filterset_class: type[FilterSet]) -> list[OpenApiParameter]:
    """The query parameters of a FilterSet that a view applies by hand, as the form reads them:
    a choice is one of its values (blank: no filter), a multiple choice a list of them."""
    from django_filters import ChoiceFilter, MultipleChoiceFilter

    parameters = []
    for name, f in filterset_class.base_filters.items():
        description = f.extra.get("help_text") or ""
        field = f.field
        if isinstance(f, MultipleChoiceFilter | ChoiceFilter) and isinstance(field, ChoiceField):
            # Django reads choices back as pairs; the stubs type the getter like the setter.
            values = [str(value) for value, _ in field.choices]  # type: ignore[misc, union-attr]
            if isinstance(f, ChoiceFilter) and "" not in values:
                values.insert(0, "")  # Django's ChoiceField takes the blank as "not given"
            many = isinstance(f, MultipleChoiceFilter)
            parameters.append(
                OpenApiParameter(name, str, enum=values, many=many, description=description)
            )
        else:
            parameters.append(OpenApiParameter(name, str, description=description))
    return parameters
