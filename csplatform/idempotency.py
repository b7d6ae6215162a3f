"""``Idempotency-Key`` for writes that move money or create requests (api.md).

The same key with the same request returns the first response again (same status, same
body); the same key with another request is a 422; a retry while the first is still running
waits for it and gets its answer (409 if it is still running after a while). Keys are kept
24 hours. The record is written in the same transaction as the work it guards, so a
request that failed leaves no record and can be retried; that transaction is the request's
outermost one, run again if it loses a deadlock (``csplatform.locks``).
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Concatenate, ParamSpec, TypeVar

from django.db import IntegrityError, transaction
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework_api_key.models import APIKey

from .locks import retry_on_deadlock
from .models import IdempotencyRecord

HEADER = "Idempotency-Key"
KEEP = timedelta(hours=24)

P = ParamSpec("P")
View = TypeVar("View")


def _principal(request: Request) -> str:
    if isinstance(request.auth, APIKey):
        # The prefix identifies the key; its pk (prefix + hash) is longer than the column.
        return f"key:{request.auth.prefix}"
    return f"user:{request.user.pk}"


def _fingerprint(request: Request) -> str:
    body = json.dumps(request.data, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(f"{request.method} {request.path}\n{body}".encode()).hexdigest()


def _error(code: str, detail: str, status_code: int) -> Response:
    return Response({"code": code, "detail": detail}, status=status_code)


def idempotent(
    view_method: Callable[Concatenate[View, Request, P], Response],
) -> Callable[Concatenate[View, Request, P], Response]:
    """Decorate an API view method (``post``) to honour the ``Idempotency-Key`` header."""

    @functools.wraps(view_method)
    def wrapper(self: View, request: Request, *args: P.args, **kwargs: P.kwargs) -> Response:
        key = request.headers.get(HEADER, "").strip()
        if not key:
            return view_method(self, request, *args, **kwargs)
        if len(key) > 255:
            return _error("invalid", f"{HEADER} is longer than 255 characters.", 400)
        principal, fingerprint = _principal(request), _fingerprint(request)
        now = timezone.now()
        IdempotencyRecord.objects.filter(
            principal=principal, key=key, created_at__lt=now - KEEP
        ).delete()

        @retry_on_deadlock
        def first_time() -> Response | None:
            """The response when this request is the key's first, else ``None``."""
            with transaction.atomic():
                try:
                    with transaction.atomic():
                        # A concurrent request with the same key waits here on the unique
                        # index until the first one's transaction ends, then replays its
                        # answer below.
                        record = IdempotencyRecord.objects.create(
                            key=key, principal=principal, fingerprint=fingerprint, created_at=now
                        )
                except IntegrityError:
                    return None
                response = view_method(self, request, *args, **kwargs)
                if response.status_code >= 500:
                    transaction.set_rollback(True)
                    return response
                record.status_code = response.status_code
                record.body = response.data
                record.save(update_fields=["status_code", "body"])
                return response

        response = first_time()
        if response is not None:
            return response
        first = IdempotencyRecord.objects.filter(principal=principal, key=key).first()
        if first is None or first.status_code is None:
            return _error(
                "request_in_progress",
                "A request with this Idempotency-Key is still being processed.",
                status.HTTP_409_CONFLICT,
            )
        if first.fingerprint != fingerprint:
            return _error(
                "idempotency_key_reused",
                "This Idempotency-Key was used with a different request.",
                status.HTTP_422_UNPROCESSABLE_ENTITY,
            )
        return Response(first.body, status=first.status_code, headers={"Idempotent-Replay": "true"})

    return wrapper


def idempotency_records_purge(*, now: datetime | None = None) -> int:
    now = now or timezone.now()
    return IdempotencyRecord.objects.filter(created_at__lt=now - KEEP).delete()[0]


# The header as the API schema describes it, for the endpoints that accept it.
SCHEMA_PARAMETER = OpenApiParameter(
    HEADER,
    str,
    OpenApiParameter.HEADER,
    description="Retry safely: the same key with the same body returns the first response; "
    "another body is 422; a retry while the first is running is 409. Kept 24 hours.",
)
