from __future__ import annotations

from typing import TYPE_CHECKING

from django.utils import timezone
from rest_framework.permissions import BasePermission
from rest_framework_api_key.models import APIKey

from csplatform.models import ApiKeyProfile
from csplatform.roles import is_desk_user

if TYPE_CHECKING:
    from rest_framework.request import Request
    from rest_framework.views import APIView

    from csplatform.models import Storefront

API_ROOT = "/api/v1/"
# The scope a storefront key needs, by the first segment of the path under /api/v1/. A path
# not listed here is out of every storefront key's reach.
SCOPE_BY_RESOURCE = {
    "orders": "orders",
    "customers": "orders",
    "tickets": "tickets",
    "returns": "returns",
    "complaints": "complaints",
    "surveys": "surveys",
    "webhooks": "webhooks",
    "inbound": "inbound_email",
}
# ``last_used_at`` is written at most this often per key, not at every request.
LAST_USED_RESOLUTION_SECONDS = 60


def required_scope(path: str) -> str | None:
    if not path.startswith(API_ROOT):
        return None
    return SCOPE_BY_RESOURCE.get(path[len(API_ROOT) :].split("/", 1)[0])


def is_storefront_request(request: Request) -> bool:
    """Made with a storefront key (whatever its scopes; the permissions check those)."""
    return isinstance(getattr(request, "auth", None), APIKey)


def request_storefront(request: Request) -> Storefront | None:
    """The storefront whose key made the request (``csplatform.Storefront``), or ``None`` for a
    desk user. A key sees that storefront's customers and orders and what hangs off them; the
    storefront endpoints filter by it and answer 404 for anything else, exactly as for an
    object that does not exist."""
    api_key = getattr(request, "auth", None)
    if not isinstance(api_key, APIKey):
        return None
    # Loaded with the key by the authentication; a key without a profile gets no further
    # than the permissions.
    return api_key.profile.storefront


def storefront_key_allows(request: Request) -> bool:
    """The request carries a storefront key whose scopes cover the path; notes its use."""
    api_key = request.auth
    if not isinstance(api_key, APIKey):
        return False

    try:
        profile = api_key.profile  # loaded with the key by the authentication
    except ApiKeyProfile.DoesNotExist:
        profile = None
    scope = required_scope(request.path)
    if profile is None or scope is None or scope not in profile.scopes:
        return False
    now = timezone.now()
    last = profile.last_used_at
    if last is None or (now - last).total_seconds() > LAST_USED_RESOLUTION_SECONDS:
        ApiKeyProfile.objects.filter(pk=profile.pk).update(last_used_at=now)
        profile.last_used_at = now
    return True


class IsStorefront(BasePermission):
    """A request made with a valid storefront key whose scopes cover the endpoint."""

    message = "This key's scopes do not include this part of the API."

    def has_permission(self, request: Request, view: APIView) -> bool:
        return storefront_key_allows(request)


class IsDeskUser(BasePermission):
    """A signed-in agent, supervisor or admin."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        return is_desk_user(request.user)


class IsStorefrontOrDeskUser(BasePermission):
    message = IsStorefront.message

    def has_permission(self, request: Request, view: APIView) -> bool:
        if isinstance(request.auth, APIKey):
            return storefront_key_allows(request)
        return is_desk_user(request.user)
