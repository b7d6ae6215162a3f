"""Input whose JSON types are the ones the OpenAPI schema states.

DRF coerces where the schema promises a type: a ``CharField`` takes ``0`` and stores ``"0"``,
an ``IntegerField`` takes ``"12"``, a ``BooleanField`` takes ``"yes"``, a ``ChoiceField`` of
strings takes a number whose text is a choice. The schema (and every client generated from it)
says otherwise, and the fuzzer holds the API to its schema. Every input serializer derives from
``StrictSerializer``, which refuses a value of the wrong JSON type field by field, with the
field's own message, before DRF converts anything. The schema side (non-blank strings, decimal
patterns, non-empty lists) is in ``csplatform.api.schema``.

Form-encoded and multipart bodies (``QueryDict``) carry only strings: they are left to DRF.
Money stays lenient, as the API always was: a decimal string, or a JSON number read exactly.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.http import QueryDict
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.fields import empty

STRING_FIELDS = (
    serializers.CharField,
    serializers.DateTimeField,
    serializers.DateField,
    serializers.TimeField,
    serializers.DurationField,
    serializers.UUIDField,
)


def _is_int(value: object) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and value.is_integer())


def _type_error(field: serializers.Field[Any, Any, Any, Any], value: object) -> Any:
    """The field's own complaint when ``value`` has the wrong JSON type, else ``None``."""
    if value is None or value is empty:
        return None  # allow_null / required: DRF's own checks
    if isinstance(field, serializers.BooleanField):
        ok, key = isinstance(value, bool), "invalid"
    elif isinstance(field, serializers.MultipleChoiceField):
        ok, key = isinstance(value, list), "not_a_list"
    elif isinstance(field, serializers.ChoiceField):
        kinds = {type(choice) for choice in field.choices}
        if kinds <= {int}:
            ok = _is_int(value)
        elif all(issubclass(kind, str) for kind in kinds):
            ok = isinstance(value, str)
        else:
            ok = True
        key = "invalid_choice"
    elif isinstance(field, serializers.IntegerField):
        ok, key = _is_int(value), "invalid"
    elif isinstance(field, (serializers.FloatField, serializers.DecimalField)):
        ok = isinstance(value, (str, int, float)) and not isinstance(value, bool)
        key = "invalid"
    elif isinstance(field, STRING_FIELDS):
        ok, key = isinstance(value, str), "invalid"
    elif isinstance(field, serializers.ListField):
        if not isinstance(value, list):
            ok, key = False, "not_a_list"
        else:
            errors = {i: e for i, item in enumerate(value) if (e := _type_error(field.child, item))}
            return errors or None
    elif isinstance(field, serializers.ListSerializer):
        ok, key = isinstance(value, list), "not_a_list"
    elif isinstance(field, serializers.DictField):
        if not isinstance(value, dict):
            ok, key = False, "not_a_dict"
        else:
            errors = {k: e for k, item in value.items() if (e := _type_error(field.child, item))}
            return errors or None
    elif isinstance(field, serializers.BaseSerializer):
        ok, key = isinstance(value, Mapping), "invalid"
    else:
        return None  # JSONField, files: any JSON value
    if ok:
        return None
    try:
        kind = type(value).__name__
        field.fail(key, input=value, input_type=kind, datatype=kind, format="ISO 8601")
    except ValidationError as exc:
        return exc.detail
    return None  # pragma: no cover - fail() always raises


def json_type_errors(
    fields: Mapping[str, serializers.Field[Any, Any, Any, Any]], data: Mapping[str, Any]
) -> dict[str, Any]:
    """Field by field, the values in ``data`` whose JSON type the field does not take."""
    errors: dict[str, Any] = {}
    for name, field in fields.items():
        if field.read_only or name not in data:
            continue
        if (error := _type_error(field, data[name])) is not None:
            errors[name] = error
    return errors


# An input serializer that refuses values of the wrong JSON type (see the module). No
# docstring: drf-spectacular would show it as every input schema's description.
class StrictSerializer(serializers.Serializer):
    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, Mapping) or isinstance(data, QueryDict):
            return super().to_internal_value(data)
        type_errors = json_type_errors(self.fields, data)
        if not type_errors:
            return super().to_internal_value(data)
        # The rest is still checked, so that one answer lists every field's problem; the
        # mistyped values are left out so that DRF never tries to convert them.
        rest = {key: value for key, value in data.items() if key not in type_errors}
        try:
            super().to_internal_value(rest)
        except ValidationError as exc:
            if isinstance(exc.detail, dict):
                raise ValidationError({**exc.detail, **type_errors}) from None
        raise ValidationError(type_errors)


# A storefront's moments (an order placed, a payment or a parcel scan) fall in this range;
# anything outside is a broken clock or a typing slip, and some of it (a year 3) would not
# even come back out as an RFC 3339 date-time.
EARLIEST_YEAR, LATEST_YEAR = 2000, 2099


@extend_schema_field(
    {
        "type": "string",
        "format": "date-time",
        "pattern": "^20[0-9]{2}-",
        "description": "A date-time with its offset, in the years 2000–2099.",
    }
)
class MomentField(serializers.DateTimeField):
    """A date-time with its offset, in the years 2000–2099."""

    default_error_messages = {
        "implausible": _("Give a moment in the years 2000–2099."),
    }

    def to_internal_value(self, value: Any) -> datetime:
        moment = super().to_internal_value(value)
        # The year as written, in the offset it came with (what the schema's pattern reads).
        written = parse_datetime(value) if isinstance(value, str) else None
        if not EARLIEST_YEAR <= (written or moment).year <= LATEST_YEAR:
            self.fail("implausible")
        return moment
