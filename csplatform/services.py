"""Writes of the platform itself: storefront keys (and the storefronts they belong to)."""

from __future__ import annotations

from datetime import datetime
from typing import cast

from django.core.exceptions import ValidationError
from django.db import transaction
from rest_framework_api_key.models import APIKey

from .models import DEFAULT_SCOPES, ApiKeyProfile, ApiScope, Storefront


@transaction.atomic
def storefront_key_create(
    *,
    name: str,
    storefront: Storefront,
    scopes: list[str] | None = None,
    expiry_date: datetime | None = None,
) -> tuple[APIKey, str]:
    """A named key of ``storefront``, stored hashed; returns ``(api_key, key)``, the key shown
    once. The key sees the storefront's customers and orders and what hangs off them, as every
    other key of it does (an old and a new key share it while the storefront rotates keys).

    ``scopes``: what it may reach (``ApiScope``); every storefront scope when left out
    (``DEFAULT_SCOPES``: not ``inbound_email``, which a mail provider's key is given alone).
    """
    scopes = list(DEFAULT_SCOPES) if scopes is None else list(dict.fromkeys(scopes))
    unknown = set(scopes) - set(ApiScope.values)
    if unknown:
        raise ValidationError(
            f"Unknown scope {', '.join(sorted(unknown))}; choose from {', '.join(ApiScope.values)}."
        )
    created, key = APIKey.objects.create_key(name=name, expiry_date=expiry_date)
    api_key = cast(APIKey, created)  # the library types its manager for the abstract key model
    ApiKeyProfile.objects.create(api_key=api_key, storefront=storefront, scopes=scopes)
    return api_key, key


def storefront_get_or_create(*, name: str) -> tuple[Storefront, bool]:
    """The storefront of this name (``True`` when it had to be created, active)."""
    name = name.strip()
    if not name:
        raise ValidationError("A storefront needs a name.")
    max_length = Storefront._meta.get_field("name").max_length
    if max_length is not None and len(name) > max_length:
        raise ValidationError(f"A storefront's name has at most {max_length} characters.")
    return Storefront.objects.get_or_create(name=name)
