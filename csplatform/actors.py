"""Who made a change: a desk user, a storefront key, or the system itself."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rest_framework_api_key.models import APIKey

if TYPE_CHECKING:
    from django.contrib.auth.models import User
    from django.http import HttpRequest
    from rest_framework.request import Request


@dataclass(frozen=True)
class Actor:
    kind: str  # "user" | "api_key" | "system"
    user: User | None = field(default=None, compare=False)
    label: str = ""

    @classmethod
    def system(cls, label: str = "system") -> Actor:
        return cls(kind="system", label=label)

    @classmethod
    def for_user(cls, user: User) -> Actor:
        return cls(kind="user", user=user, label=user.get_username())

    @classmethod
    def for_api_key(cls, api_key: APIKey) -> Actor:
        return cls(kind="api_key", label=api_key.name)

    @classmethod
    def from_request(cls, request: Request | HttpRequest) -> Actor:
        auth = getattr(request, "auth", None)
        if isinstance(auth, APIKey):
            return cls.for_api_key(auth)
        # Only signed-in users and storefront keys get past the API's permissions.
        assert request.user.is_authenticated
        return cls.for_user(request.user)

    def event_fields(self) -> dict[str, Any]:
        """The actor columns every event table shares."""
        return {
            "actor_kind": self.kind,
            "actor_user": self.user if self.kind == "user" else None,
            "actor_label": self.label[:150],
        }
