"""Writes of the platform itself: storefront keys."""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from rest_framework_api_key.models import APIKey

from .models import ApiKeyProfile, ApiScope


@transaction.atomic
def storefront_key_create(
    *, name: str, scopes: list[str] | None = None, expiry_date: datetime | None = None
) -> tuple[APIKey, str]:
    """A named storefront key, stored hashed; returns ``(api_key, key)``, the key shown once.

    ``scopes``: what it may reach (``ApiScope``); every scope when left out.
    """
    scopes = list(ApiScope.values) if scopes is None else list(dict.fromkeys(scopes))
    unknown = set(scopes) - set(ApiScope.values)
    if unknown:
        raise ValidationError(
            f"Unknown scope {', '.join(sorted(unknown))}; choose from {', '.join(ApiScope.values)}."
        )
    api_key, key = APIKey.objects.create_key(name=name, expiry_date=expiry_date)
    ApiKeyProfile.objects.create(api_key=api_key, scopes=scopes)
    return api_key, key
