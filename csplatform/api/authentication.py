"""``Authorization: Api-Key <key>``, the storefront's credential; ``Token <key>``, an agent's."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib.auth.models import AnonymousUser, User
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions
from rest_framework_api_key.models import APIKey

from csplatform.api_tokens import api_token_expired, api_tokens_revoke
from csplatform.two_factor import has_two_factor, two_factor_required

if TYPE_CHECKING:
    from rest_framework.authtoken.models import Token
    from rest_framework.request import Request

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
    def authenticate(self, request: Request) -> tuple[StorefrontPrincipal, APIKey] | None:
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

    def authenticate_header(self, request: Request) -> str:
        return KEYWORD


class DeskTokenAuthentication(authentication.TokenAuthentication):
    """``Authorization: Token <key>``, an agent's token, refused where two-factor sign-in is
    required of a user who has not set it up: such a token was got with the password alone
    (before the requirement), and enrolling ends it (``csplatform.two_factor.device_confirm``)."""

    def authenticate_credentials(self, key: str) -> tuple[User, Token]:
        user, token = super().authenticate_credentials(key)
        if api_token_expired(token):
            api_tokens_revoke(user=user)
            raise exceptions.AuthenticationFailed(
                _("The token expired: get a new one."), code="token_expired"
            )
        if two_factor_required(user) and not has_two_factor(user):
            raise exceptions.AuthenticationFailed(
                _("Two-factor sign-in is required: set it up in the desk, then get a new token.")
            )
        return user, token
