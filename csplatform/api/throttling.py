"""Request rates: per storefront key, per desk user, per anonymous address.

The rates come from ``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]`` (``None`` switches one off)
and are read at each request, so a settings change applies without a restart. A throttled
request gets 429 with ``Retry-After``.
"""

from __future__ import annotations

from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle
from rest_framework_api_key.models import APIKey


class _ConfiguredRate(SimpleRateThrottle):
    def get_rate(self):
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)


class StorefrontKeyThrottle(_ConfiguredRate):
    scope = "storefront"

    def get_cache_key(self, request, view):
        key = getattr(request, "auth", None)
        if not isinstance(key, APIKey):
            return None
        return self.cache_format % {"scope": self.scope, "ident": key.prefix}


class DeskUserThrottle(_ConfiguredRate):
    scope = "desk"

    def get_cache_key(self, request, view):
        if isinstance(getattr(request, "auth", None), APIKey):
            return None
        user = request.user
        if not (user and user.is_authenticated):
            return None
        return self.cache_format % {"scope": self.scope, "ident": user.pk}


class AnonymousAddressThrottle(_ConfiguredRate):
    """Requests without credentials (the survey endpoints), counted per client address."""

    scope = "anonymous"

    def get_cache_key(self, request, view):
        if request.user and request.user.is_authenticated:
            return None
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
