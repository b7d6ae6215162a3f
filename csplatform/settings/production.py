"""Production settings: every secret comes from the environment, nothing insecure is assumed."""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import INSECURE_DEV_SECRET_KEY, env

DEBUG = False
DEMO_ACCOUNTS_ALLOWED = False

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY or SECRET_KEY == INSECURE_DEV_SECRET_KEY or len(SECRET_KEY) < 50:
    raise ImproperlyConfigured(
        "SECRET_KEY must be set to a random value of at least 50 characters in production."
    )
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")

# Webhooks go to public https addresses only (messaging/targets.py), whatever the environment.
WEBHOOKS_ALLOW_PRIVATE_TARGETS = False
# Mailboxes are read over TLS (implicit or STARTTLS), whatever the environment.
IMAP_ALLOW_PLAINTEXT = False

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SECURE_REDIRECT_EXEMPT = [r"^healthz/$"]  # the container health check speaks plain HTTP
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_SECURE = True
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
# Every staff role signs in with a second factor (csplatform/two_factor.py). A deployment may
# turn that off with OTP_REQUIRED_FOR_STAFF=false; admins keep it whatever the environment says.
OTP_REQUIRED_FOR_STAFF = env.bool("OTP_REQUIRED_FOR_STAFF", default=True)
OTP_REQUIRED_FOR_ADMINS = True

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# Customers' personal data: real keys only, never the embedded setup's (settings/base.py).
PII_ENCRYPTION_KEYS = env.list("PII_ENCRYPTION_KEYS", default=[])
if not PII_ENCRYPTION_KEYS or any(
    len(key) < 32 or key.startswith("dev-only-") for key in PII_ENCRYPTION_KEYS
):
    raise ImproperlyConfigured(
        "PII_ENCRYPTION_KEYS must be set to one or more random values of at least 32 characters"
        " in production."
    )
SALT_KEY = PII_ENCRYPTION_KEYS
PII_BLIND_INDEX_KEY = env.str("PII_BLIND_INDEX_KEY", default="")
if len(PII_BLIND_INDEX_KEY) < 32 or PII_BLIND_INDEX_KEY.startswith("dev-only-"):
    raise ImproperlyConfigured(
        "PII_BLIND_INDEX_KEY must be set to a random value of at least 32 characters in production."
    )
