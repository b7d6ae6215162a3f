"""Who made a change: a desk user, a storefront key, or the system itself."""

from __future__ import annotations

from dataclasses import dataclass, field

from rest_framework_api_key.models import APIKey


@dataclass(frozen=True)
class Actor:
    kind: str  # "user" | "api_key" | "system"
    user: object | None = field(default=None, compare=False)
    label: str = ""

    @classmethod
    def system(cls, label: str = "system") -> Actor:
        return cls(kind="system", label=label)

    @classmethod
    def for_user(cls, user) -> Actor:
        return cls(kind="user", user=user, label=user.get_username())

    @classmethod
    def for_api_key(cls, api_key: APIKey) -> Actor:
        return cls(kind="api_key", label=api_key.name)

    @classmethod
    def from_request(cls, request) -> Actor:
        if isinstance(getattr(request, "auth", None), APIKey):
            return cls.for_api_key(request.auth)
        return cls.for_user(request.user)

    def event_fields(self) -> dict:
        """The actor columns every event table shares."""
        return {
            "actor_kind": self.kind,
            "actor_user": self.user if self.kind == "user" else None,
            "actor_label": self.label[:150],
        }
