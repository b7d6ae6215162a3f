"""``Authorization: Api-Key <key>``: the storefront's credential."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from rest_framework import authentication, exceptions
from rest_framework_api_key.models import APIKey

KEYWORD = "Api-Key"


class StorefrontPrincipal(AnonymousUser):
    """The user object of a request authenticated by a storefront key.

    It is not a desk user: it holds no role and no model permissions, but it counts as
    authenticated so that IsAuthenticated lets it through to the storefront endpoints.
    """

    def __init__(self, api_key: APIKey):
        self.api_key = api_key

    @property
    def is_authenticated(self) -> bool:  # type: ignore[override]
        return True

    def __str__(self) -> str:
        return f"storefront:{self.api_key.name}"


class StorefrontKeyAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].decode("latin-1") != KEYWORD:
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Malformed Api-Key header.")
        key = header[1].decode("latin-1")
        try:
            # The key with its scopes and storefront in one query (csplatform.api.permissions
            # reads them); the keys of an inactive storefront are refused like revoked ones.
            api_key = (
                APIKey.objects.get_usable_keys()
                .exclude(profile__storefront__active=False)
                .select_related("profile__storefront")
                .get(prefix=key.partition(".")[0])
            )
        except APIKey.DoesNotExist:
            raise exceptions.AuthenticationFailed("Invalid or revoked API key.") from None
        if api_key.has_expired or not api_key.is_valid(key):
            raise exceptions.AuthenticationFailed("Invalid or revoked API key.")
        return StorefrontPrincipal(api_key), api_key

    def authenticate_header(self, request) -> str:
        return KEYWORD
