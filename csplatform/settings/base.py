"""Settings shared by every environment, read from the environment.

The defaults are the embedded setup: SQLite under ``var/`` and a Celery broker on the
file system, so a machine with nothing but Python runs the whole product.
"""

from pathlib import Path

import environ
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()

DEBUG = env.bool("DEBUG", default=True)
# Only good for the embedded setup; production.py refuses to start with it.
INSECURE_DEV_SECRET_KEY = "dev-only-not-secret-csplatform"  # noqa: S105
SECRET_KEY = env.str("SECRET_KEY", default=INSECURE_DEV_SECRET_KEY)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# Demo accounts (agent/supervisor/admin, password "demo") may log in only where this is true.
DEMO_ACCOUNTS_ALLOWED = True

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "rest_framework_api_key",
    "django_filters",
    "drf_spectacular",
    "django_htmx",
    "drf_spectacular_sidecar",
    "axes",
    "auditlog",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "csplatform",
    "orders",
    "tickets",
    "refunds",
    "complaints",
    "surveys",
    "kpis",
    "privacy",
    "messaging",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    # Outside every other middleware: whatever fails under /api/ is answered in JSON.
    "csplatform.middleware.ApiErrorBodyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "csplatform.two_factor.TwoFactorRequiredMiddleware",
    "csplatform.middleware.SessionLifetimeMiddleware",
    "auditlog.middleware.AuditlogMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into its lockout response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "csplatform.urls"
WSGI_APPLICATION = "csplatform.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "csplatform.context_processors.roles",
            ],
        },
    },
]

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'csplatform.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several processes (web, worker, beat) share the file: wait for locks instead of failing.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # A server that is gone fails a request (and /healthz/) in seconds, not minutes.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
        "connect_timeout", env.int("DB_CONNECT_TIMEOUT", default=5)
    )
    # A bounded pool per process (psycopg's, through Django) instead of a connection kept per
    # thread: the ASGI server of `make run` runs each request in a thread of its own, so kept
    # connections would grow with the requests in flight. `make run` sets it for the web
    # server only; a request waits up to DB_POOL_TIMEOUT seconds for a free connection.
    DB_POOL_SIZE = env.int("DB_POOL_SIZE", default=0)
    if DB_POOL_SIZE:
        DATABASES["default"]["CONN_MAX_AGE"] = 0
        DATABASES["default"]["OPTIONS"]["pool"] = {
            "min_size": 1,
            "max_size": DB_POOL_SIZE,
            "timeout": env.float("DB_POOL_TIMEOUT", default=10.0),
        }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# django-axes first: it refuses a locked-out username and address before a password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "csplatform.auth.DemoAwareModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "root"  # the desk, or the KPIs for an analyst
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = env.str("LANGUAGE_CODE", default="zh-hans")
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env.str("TIME_ZONE", default="Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
    "kpis.staticfinders.PlotlyFinder",  # plotly.js from the installed plotly package
]
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # var/ holds the embedded database too
MEDIA_ROOT = env.path("MEDIA_ROOT", default=VAR_DIR / "media")
MEDIA_URL = "media/"
# Uploaded attachments and return evidence (csplatform/uploads.py): the largest file accepted.
UPLOAD_MAX_BYTES = env.int("UPLOAD_MAX_BYTES", default=10 * 1024 * 1024)

EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="service@localhost")
# Seconds an SMTP connection or command may take before the e-mail sender gives up on the
# attempt (and retries later); without it a stuck server would hold a worker forever.
EMAIL_TIMEOUT = env.float("EMAIL_TIMEOUT", default=10.0)

# --- REST API --------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "csplatform.api.authentication.StorefrontKeyAuthentication",
        "csplatform.api.authentication.DeskTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "csplatform.api.errors.api_exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["csplatform.api.parsers.BoundedJSONParser"],
    "COERCE_DECIMAL_TO_STRING": True,
    # The answer's format follows the Accept header only; ?format= is an ordinary parameter.
    "URL_FORMAT_OVERRIDE": None,
    # Per storefront key, per desk user, per anonymous address (the survey endpoints); a
    # throttled request gets 429 with Retry-After.
    "DEFAULT_THROTTLE_CLASSES": [
        "csplatform.api.throttling.StorefrontKeyThrottle",
        "csplatform.api.throttling.DeskUserThrottle",
        "csplatform.api.throttling.AnonymousAddressThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "storefront": env.str("THROTTLE_STOREFRONT", default="1200/min"),
        "desk": env.str("THROTTLE_DESK", default="600/min"),
        "anonymous": env.str("THROTTLE_ANONYMOUS", default="60/min"),
    },
}
API_KEY_CUSTOM_HEADER = None
SPECTACULAR_SETTINGS = {
    # The API docs page serves Swagger UI from the installed sidecar package, not a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "csplatform.api.schema.document_common_errors",
        "csplatform.api.schema.describe_page_parameters",
    ],
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "TITLE": "Customer-service operations platform API",
    "DESCRIPTION": "Storefront and agent endpoints of /api/v1/. Values have the JSON type the "
    "schema gives them (no number for a string, no string for a number or boolean; money is a "
    "decimal string or a JSON number), and text never contains NUL characters: 400 otherwise.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "OrderStatusEnum": "orders.choices.OrderStatus",
        "ShipmentStatusEnum": "orders.choices.ShipmentStatus",
        "PaymentStatusEnum": "orders.choices.PaymentStatus",
        "LogisticsUpdateStatusEnum": "orders.choices.LOGISTICS_UPDATE_STATUSES",
        "TicketStatusEnum": "tickets.choices.TicketStatus",
        "ReplyStatusEnum": ["pending", "on_hold", "solved"],
        "ReturnStatusEnum": "refunds.choices.ReturnStatus",
        "ReturnTypeEnum": "refunds.choices.ReturnType",
        "ReturnEventTypeEnum": "refunds.choices.ReturnEventType",
        "RefundStatusEnum": "refunds.choices.RefundStatus",
        "TicketKindEnum": "tickets.choices.TicketKind",
        "SlaMetricEnum": "tickets.choices.SlaMetric",
        "EscalationActionEnum": "tickets.models.EscalationAction",
        "SurveyKindEnum": "surveys.choices.SurveyKind",
        "SurveyLanguageEnum": "surveys.choices.SurveyLanguage",
        "SurveyLinkStatusEnum": ["sent", "answered", "expired"],
        "ComplaintStatusEnum": "complaints.choices.ComplaintStatus",
        "ComplaintEventTypeEnum": "complaints.choices.ComplaintEventType",
        "ComplaintCategoryEnum": "complaints.choices.ComplaintCategory",
        "ComplaintSeverityEnum": "complaints.choices.Severity",
        "RemedyTypeEnum": "complaints.choices.RemedyType",
        "ResponsiblePartyEnum": "complaints.choices.ResponsibleParty",
        "EscalationLevelEnum": "complaints.choices.EscalationLevel",
        # A return's reason keeps the name it had before the inbound webhook's reasons came.
        "ReasonEnum": "refunds.choices.ReturnReason",
        "InboundEmailIgnoredReasonEnum": "messaging.choices.INBOUND_IGNORED_REASONS",
    },
}

# --- Refund payouts --------------------------------------------------------------------------
REFUND_GATEWAY = env.str("REFUND_GATEWAY", default="refunds.gateways.SimulatedGateway")
REFUND_GATEWAY_LATENCY_MS = env.float("REFUND_GATEWAY_LATENCY_MS", default=0.0)
REFUND_GATEWAY_FAILURE_RATE = env.float("REFUND_GATEWAY_FAILURE_RATE", default=0.0)

# --- Surveys ---------------------------------------------------------------------------------
# The address customers open survey links at, and the classes that deliver the links.
SURVEYS_PUBLIC_BASE_URL = env.str("SURVEYS_PUBLIC_BASE_URL", default="http://127.0.0.1:8000")
# Survey invitations are queued as e-mails of the messaging app, sent and retried by its sender
# with the replies (surveys.delivery.DjangoEmailSender sends them directly instead).
SURVEYS_EMAIL_SENDER = env.str(
    "SURVEYS_EMAIL_SENDER", default="messaging.survey_email.QueuedSurveyEmailSender"
)
SURVEYS_SMS_SENDER = env.str("SURVEYS_SMS_SENDER", default="surveys.delivery.LoggingSmsSender")

# --- Webhooks to the storefronts (messaging/) -------------------------------------------------
# Whether a webhook may target http:// and private, loopback or link-local addresses: only in
# the embedded setup and the tests (their receivers listen on 127.0.0.1); production.py says no.
WEBHOOKS_ALLOW_PRIVATE_TARGETS = env.bool("WEBHOOKS_ALLOW_PRIVATE_TARGETS", default=True)
WEBHOOKS_CONNECT_TIMEOUT = env.float("WEBHOOKS_CONNECT_TIMEOUT", default=3.0)
WEBHOOKS_READ_TIMEOUT = env.float("WEBHOOKS_READ_TIMEOUT", default=5.0)
# Outbox events (with their deliveries) are deleted this many days after they were written once
# delivered everywhere, and after the longer period when a delivery failed or died (it may
# still be sent again until then); events still pending are kept.
WEBHOOKS_RETENTION_DAYS = env.int("WEBHOOKS_RETENTION_DAYS", default=30)
WEBHOOKS_FAILED_RETENTION_DAYS = env.int("WEBHOOKS_FAILED_RETENTION_DAYS", default=90)

# --- E-mail in (messaging/inbound.py, messaging/imap.py) ------------------------------------
# The largest raw message the inbound webhook takes: five attachments of UPLOAD_MAX_BYTES,
# base64-encoded (4/3), and the text around them.
INBOUND_EMAIL_MAX_BYTES = env.int(
    "INBOUND_EMAIL_MAX_BYTES", default=UPLOAD_MAX_BYTES * 5 * 4 // 3 + 2 * 1024 * 1024
)
# More mails than this from one address within an hour are ignored (a mail loop that no header
# gives away).
INBOUND_EMAIL_MAX_PER_SENDER_HOUR = env.int("INBOUND_EMAIL_MAX_PER_SENDER_HOUR", default=20)
# IMAP polling: each socket operation's timeout, the messages taken per mailbox and poll, and
# whether a mailbox may be read without TLS (only the tests' local server; production says no).
IMAP_TIMEOUT = env.float("IMAP_TIMEOUT", default=30.0)
IMAP_BATCH_SIZE = env.int("IMAP_BATCH_SIZE", default=50)
IMAP_ALLOW_PLAINTEXT = env.bool("IMAP_ALLOW_PLAINTEXT", default=False)

# --- Celery ----------------------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL or "filesystem://")
CELERY_BROKER_FOLDER = VAR_DIR / "broker"
if CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_BROKER_FOLDER / "queue"),
        "data_folder_out": str(CELERY_BROKER_FOLDER / "queue"),
        "processed_folder": str(CELERY_BROKER_FOLDER / "processed"),
        # Broadcasts (worker pings, remote control): under var/, not the working directory.
        "control_folder": str(CELERY_BROKER_FOLDER / "control"),
        "store_processed": False,
    }
    for _folder in ("queue", "processed", "control"):
        (CELERY_BROKER_FOLDER / _folder).mkdir(parents=True, exist_ok=True)
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# Shared counters (API throttling): Redis where there is one, else this process's memory.
# A Redis that is down or stuck fails a cache call within a second; the throttles then count
# in memory (csplatform/api/throttling.py).
CACHES = {
    "default": (
        {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

# --- Security --------------------------------------------------------------------------------
# Sessions end after 30 minutes without a request, and 12 hours after sign-in whatever happens
# (csplatform/middleware.py).
SESSION_IDLE_SECONDS = env.int("SESSION_IDLE_SECONDS", default=30 * 60)
SESSION_ABSOLUTE_SECONDS = env.int("SESSION_ABSOLUTE_SECONDS", default=12 * 60 * 60)
SESSION_COOKIE_AGE = SESSION_ABSOLUTE_SECONDS
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

# Brute force: 10 failed sign-ins of one username from one address within 15 minutes lock
# that pair out for the rest of the 15 minutes.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=10)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=0.25)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_IPWARE_PROXY_COUNT = env.int("AXES_IPWARE_PROXY_COUNT", default=0)
AXES_VERBOSE = False

# Content Security Policy: scripts and styles from our own origin only, no inline script,
# no eval; the pages carry their data in JSON script elements, which are not executed.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    }
}
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Two-factor sign-in (csplatform/two_factor.py): optional for everyone here, required of every
# staff role (agent, supervisor, admin, analyst) in production. OTP_REQUIRED_FOR_ADMINS, the
# older and narrower setting, still requires it of admins alone where it is set.
OTP_REQUIRED_FOR_STAFF = env.bool("OTP_REQUIRED_FOR_STAFF", default=False)
OTP_REQUIRED_FOR_ADMINS = env.bool("OTP_REQUIRED_FOR_ADMINS", default=False)
OTP_TOTP_ISSUER = env.str("OTP_TOTP_ISSUER", default="CS Desk")

# Configuration changes are audited (django-auditlog): who changed which field, from what to what.
AUDITLOG_INCLUDE_ALL_MODELS = False

# --- Personal data ---------------------------------------------------------------------------
# Customers' phones, e-mails and addresses are encrypted at rest (django-fernet-encrypted-fields).
# The library derives its Fernet keys from SECRET_KEY (and SECRET_KEY_FALLBACKS) with each of
# these salts: the first encrypts, all of them decrypt. To rotate, put a new value first, keep
# the old ones after it and run ``manage.py pii_reencrypt``; then drop the old ones.
# The defaults serve only the embedded setup; production.py refuses to start with them.
INSECURE_DEV_PII_ENCRYPTION_KEY = "dev-only-pii-encryption-" + INSECURE_DEV_SECRET_KEY
INSECURE_DEV_PII_BLIND_INDEX_KEY = "dev-only-pii-blind-index-" + INSECURE_DEV_SECRET_KEY
PII_ENCRYPTION_KEYS = env.list("PII_ENCRYPTION_KEYS", default=[INSECURE_DEV_PII_ENCRYPTION_KEY])
SALT_KEY = PII_ENCRYPTION_KEYS  # the library's name for them
# The key of the keyed hashes (HMAC-SHA256) that let agents find a customer by exact phone or
# e-mail without the database holding either in clear. Changing it needs ``pii_reencrypt``.
PII_BLIND_INDEX_KEY = env.str("PII_BLIND_INDEX_KEY", default=INSECURE_DEV_PII_BLIND_INDEX_KEY)
# Full phone numbers and e-mail addresses never reach the log output (csplatform/privacy.py).
LOGGING["filters"] = {"pii": {"()": "csplatform.privacy.PiiLogFilter"}}
LOGGING["handlers"]["console"]["filters"] = ["pii"]
