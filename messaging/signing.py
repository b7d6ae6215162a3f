"""The Standard Webhooks signature: pure functions, no database.

A secret is ``whsec_`` followed by base64 of 32 random bytes; the key is those bytes. The
signature of a delivery is ``v1,`` + base64(HMAC-SHA256(key, "{id}.{timestamp}.{body}")); while
a rotated-out secret still signs, the header carries both signatures, space-separated.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

SECRET_PREFIX = "whsec_"  # noqa: S105 - the prefix of every secret, not a secret


def secret_generate() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def signature(secret: str, *, webhook_id: str, timestamp: int, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    signed = f"{webhook_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signature_header(
    secrets_in_use: list[str], *, webhook_id: str, timestamp: int, body: bytes
) -> str:
    return " ".join(
        signature(secret, webhook_id=webhook_id, timestamp=timestamp, body=body)
        for secret in secrets_in_use
    )
