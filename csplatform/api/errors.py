"""One error shape for the whole API: ``{"code", "detail", ...}``."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler


class DomainError(Exception):
    """A request the current state or the business rules refuse."""

    status_code: int = status.HTTP_422_UNPROCESSABLE_ENTITY
    code = "rule_violated"

    def __init__(self, detail: str, *, code: str | None = None, **extra: Any):
        super().__init__(detail)
        self.detail = detail
        if code:
            self.code = code
        self.extra = extra

    def as_body(self) -> dict[str, Any]:
        return {"code": self.code, "detail": self.detail, **self.extra}


class InvalidInput(DomainError):
    """Input the rules of a write refuse field by field (400), like a serializer would."""

    status_code = status.HTTP_400_BAD_REQUEST
    code = "invalid"


class ConflictError(DomainError):
    """The request conflicts with the object's current state (409)."""

    status_code = status.HTTP_409_CONFLICT
    code = "conflict"


class Gone(DomainError):
    """The object existed but is no longer available, e.g. an expired survey link (410)."""

    status_code = status.HTTP_410_GONE
    code = "expired"


def _flatten(detail: object) -> dict[Any, Any] | list[Any] | str:
    if isinstance(detail, dict):
        return {key: _flatten(value) for key, value in detail.items()}
    if isinstance(detail, list):
        return [_flatten(item) for item in detail]
    return str(detail)


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DomainError):
        return Response(exc.as_body(), status=exc.status_code)
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
