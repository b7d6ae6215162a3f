"""Survey link tokens: 256 bits, derived from a per-invitation nonce under the server secret.

Only the nonce and the token's SHA-256 are stored. The token cannot be computed from the
database alone (it needs ``SECRET_KEY``), reveals no id, and a request is matched by hashing
what it presents, so no token is ever compared or logged in clear.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Callable

from django.conf import settings
from django.utils.crypto import salted_hmac
from django.utils.encoding import force_bytes

_SALT = "surveys.invitation.token"
# What a token looks like: 43 URL-safe base64 characters (32 bytes). Longer input is refused
# before any lookup.
TOKEN_MAX_LENGTH = 64


def nonce_new() -> str:
    return secrets.token_hex(16)


def token_for(nonce: str) -> str:
    digest = salted_hmac(_SALT, nonce, algorithm="sha256").digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def token_hash(token: str) -> str | None:
    """The stored hash of a presented token, or ``None`` for text no token could be."""
    if not token or len(token) > TOKEN_MAX_LENGTH:
        return None
    try:
        raw = token.encode("ascii")
    except UnicodeEncodeError:
        return None
    return hashlib.sha256(raw).hexdigest()


def nonce_hasher() -> Callable[[str], str]:
    """``token_hash(token_for(nonce))`` for many nonces, the HMAC key derived once (the demo
    seeder stores hundreds of thousands)."""
    key = hashlib.sha256(force_bytes(_SALT) + force_bytes(settings.SECRET_KEY)).digest()
    mac = hmac.new(key, digestmod=hashlib.sha256)

    def hashed(nonce: str) -> str:
        one = mac.copy()
        one.update(nonce.encode())
        return hashlib.sha256(base64.urlsafe_b64encode(one.digest()).rstrip(b"=")).hexdigest()

    return hashed
