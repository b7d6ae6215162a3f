from rest_framework.permissions import BasePermission
from rest_framework_api_key.models import APIKey

from csplatform.roles import is_desk_user


class IsStorefront(BasePermission):
    """A request made with a valid storefront key."""

    def has_permission(self, request, view) -> bool:
        return isinstance(request.auth, APIKey)


class IsDeskUser(BasePermission):
    """A signed-in agent, supervisor or admin."""

    def has_permission(self, request, view) -> bool:
        return is_desk_user(request.user)


class IsStorefrontOrDeskUser(BasePermission):
    def has_permission(self, request, view) -> bool:
        return isinstance(request.auth, APIKey) or is_desk_user(request.user)
