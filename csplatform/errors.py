"""The refusals of the business rules, shared by every app.

A refusal says why (``detail``, for people), which rule (``code``, for programs) and what else
a client needs to act on it (``extra``). How a refusal reaches a client, its HTTP status and
body, is the API's concern (``csplatform.api.errors``), so services never depend on the web.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A request the current state or the business rules refuse."""

    code = "rule_violated"

    def __init__(self, detail: str, *, code: str | None = None, **extra: Any):
        super().__init__(detail)
        self.detail = detail
        if code:
            self.code = code
        self.extra = extra


class InvalidInput(DomainError):
    """Input the rules of a write refuse field by field, like a form would."""

    code = "invalid"


class NotPermitted(DomainError):
    """The acting person may not do this, though another (a supervisor) may."""

    code = "permission_denied"


class ConflictError(DomainError):
    """The request conflicts with the object's current state."""

    code = "conflict"


class Gone(DomainError):
    """The object existed but is no longer available, e.g. an expired survey link."""

    code = "expired"
