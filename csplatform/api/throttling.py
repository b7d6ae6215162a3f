"""Request rates: per storefront key, per desk user, per anonymous address.

The rates come from ``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]`` (``None`` switches one off)
and are read at each request, so a settings change applies without a restart. A throttled
request gets 429 with ``Retry-After``.

The counts live in the shared cache (Redis where there is one). When that cache fails, the
request is not refused for it: for the next ``LOCAL_FOR`` seconds this process counts in its
own memory (the same rates, per process), with one warning in the log per ``WARN_EVERY``
seconds, then tries the shared cache again.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING

from django.core.cache.backends.locmem import LocMemCache
from redis.exceptions import RedisError
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle
from rest_framework_api_key.models import APIKey

if TYPE_CHECKING:
    from rest_framework.request import Request
    from rest_framework.views import APIView

logger = logging.getLogger(__name__)

CACHE_ERRORS = (RedisError, OSError)
LOCAL_FOR = 5.0  # seconds counted locally after the shared cache failed
WARN_EVERY = 60.0  # seconds between two warnings while it keeps failing

_local_counts = LocMemCache("throttling-local", {"OPTIONS": {"MAX_ENTRIES": 10_000}})
_lock = threading.Lock()
_shared_down_until = 0.0
_warned_at: float | None = None


def _shared_failed(error: Exception) -> None:
    global _shared_down_until, _warned_at
    now = time.monotonic()
    with _lock:
        _shared_down_until = now + LOCAL_FOR
        warn = _warned_at is None or now - _warned_at >= WARN_EVERY
        if warn:
            _warned_at = now
    if warn:
        logger.warning(
            "API throttling: the shared cache failed (%s: %s); counting in this process's "
            "memory until it answers again.",
            type(error).__name__,
            error,
        )


def _shared_is_down() -> bool:
    return time.monotonic() < _shared_down_until


class _ConfiguredRate(SimpleRateThrottle):
    scope: str

    def get_rate(self) -> str | None:
        # The stubs type the rates as numbers; DRF's are texts such as "120/min".
        rate: str | None = api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)  # type: ignore[assignment]
        return rate

    def allow_request(self, request: Request, view: APIView) -> bool:
        if not _shared_is_down():
            try:
                return super().allow_request(request, view)
            except CACHE_ERRORS as error:
                _shared_failed(error)
        self.cache = _local_counts
        return super().allow_request(request, view)


class StorefrontKeyThrottle(_ConfiguredRate):
    scope = "storefront"

    def get_cache_key(self, request: Request, view: APIView) -> str | None:
        key = getattr(request, "auth", None)
        if not isinstance(key, APIKey):
            return None
        return self.cache_format % {"scope": self.scope, "ident": key.prefix}


class DeskUserThrottle(_ConfiguredRate):
    scope = "desk"

    def get_cache_key(self, request: Request, view: APIView) -> str | None:
        if isinstance(getattr(request, "auth", None), APIKey):
            return None
        user = request.user
        if not (user and user.is_authenticated):
            return None
        return self.cache_format % {"scope": self.scope, "ident": user.pk}


class AnonymousAddressThrottle(_ConfiguredRate):
    """Requests without credentials (the survey endpoints), counted per client address."""

    scope = "anonymous"

    def get_cache_key(self, request: Request, view: APIView) -> str | None:
        if request.user and request.user.is_authenticated:
            return None
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
