"""Agents' API tokens (``Authorization: Token <key>``): issued at sign-in through the API, good
for the session's absolute lifetime (``SESSION_ABSOLUTE_SECONDS``, 12 hours), revoked when the
agent signs out of the desk or asks for it through the API."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from rest_framework.authtoken.models import Token


def api_token_lifetime() -> timedelta:
    return timedelta(seconds=settings.SESSION_ABSOLUTE_SECONDS)


def api_token_expired(token: Token, *, now: datetime | None = None) -> bool:
    return (now or timezone.now()) >= token.created + api_token_lifetime()


@transaction.atomic
def api_token_issue(*, user: User, now: datetime | None = None) -> Token:
    """The user's token: the current one while it lasts, a new one once it expired."""
    now = now or timezone.now()
    token = Token.objects.select_for_update().filter(user=user).first()
    if token is not None and not api_token_expired(token, now=now):
        return token
    if token is not None:
        token.delete()
    token = Token(user=user)
    token.save()
    if token.created != now:  # ``created`` is set by the database clock's auto_now_add
        Token.objects.filter(pk=token.pk).update(created=now)
        token.created = now
    return token


def api_tokens_revoke(*, user: User) -> int:
    """End the user's API token (signing out ends what signing in gave)."""
    deleted, _ = Token.objects.filter(user=user).delete()
    return deleted
