"""One error shape for the whole API: ``{"code", "detail", ...}``."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from csplatform.errors import ConflictError, DomainError, Gone, InvalidInput, NotPermitted

# The status of each kind of refusal; a refusal takes that of its nearest kind.
STATUS_BY_ERROR: dict[type[DomainError], int] = {
    InvalidInput: status.HTTP_400_BAD_REQUEST,
    NotPermitted: status.HTTP_403_FORBIDDEN,
    ConflictError: status.HTTP_409_CONFLICT,
    Gone: status.HTTP_410_GONE,
    DomainError: status.HTTP_422_UNPROCESSABLE_ENTITY,
}


def error_status(error: DomainError) -> int:
    """The HTTP status a refusal is answered with (the desk pages answer with it too)."""
    return next(STATUS_BY_ERROR[kind] for kind in type(error).__mro__ if kind in STATUS_BY_ERROR)


def error_body(error: DomainError) -> dict[str, Any]:
    return {"code": error.code, "detail": error.detail, **error.extra}


def _flatten(detail: object) -> dict[Any, Any] | list[Any] | str:
    if isinstance(detail, dict):
        return {key: _flatten(value) for key, value in detail.items()}
    if isinstance(detail, list):
        return [_flatten(item) for item in detail]
    return str(detail)


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DomainError):
        return Response(error_body(exc), status=error_status(exc))
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()

    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        response.data = {
            "code": "invalid",
            "detail": "The request is not valid; see errors for each field.",
            "errors": _flatten(exc.detail),
        }
    elif isinstance(exc, exceptions.APIException):
        codes = exc.get_codes()
        response.data = {
            "code": codes if isinstance(codes, str) else "error",
            "detail": str(exc.detail),
        }
    return response
