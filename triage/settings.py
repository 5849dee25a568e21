"""Settings for the triage product, read from environment variables.

Embedded defaults (a SQLite file and a file-system Celery broker in ./var/)
let a first run work on a laptop with nothing but Python; production sets
DATABASE_URL (PostgreSQL) and CELERY_BROKER_URL / REDIS_URL (Redis).
A `.env` file next to manage.py is read if present (real environment wins).
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from dotenv import load_dotenv

from triage.env import env_bool, env_choice, env_email_list, env_float, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("TRIAGE_VAR_DIR") or BASE_DIR / "var")

load_dotenv(BASE_DIR / ".env", override=False)

DEBUG = env_bool("DEBUG", False)

SECRET_KEY = env_str("SECRET_KEY") or ""
if not SECRET_KEY:
    if DEBUG:
        SECRET_KEY = "insecure-development-key-set-SECRET_KEY-in-production"
    else:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set the SECRET_KEY environment variable to a long random "
            'string (for example the output of `python -c "import secrets; '
            'print(secrets.token_urlsafe(50))"`), or set DEBUG=true for local development only.'
        )

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
SITE_URL = (env_str("SITE_URL") or "http://127.0.0.1:8000").rstrip("/")

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
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "tickets",
    "slas",
    "metrics",
    "triage",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "tickets.api.middleware.ApiErrorShapeMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "triage.middleware.BrowserTimezoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "triage.db_router.ReplicaReadsMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "triage.urls"
WSGI_APPLICATION = "triage.wsgi.application"
ASGI_APPLICATION = "triage.asgi.application"

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
                "triage.context_processors.product",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------
DEFAULT_SQLITE_URL = f"sqlite:///{VAR_DIR / 'triage.sqlite3'}"
DATABASE_URL = env_str("DATABASE_URL") or DEFAULT_SQLITE_URL
USING_EMBEDDED_DATABASE = DATABASE_URL.startswith("sqlite")
try:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 60, minimum=0))}
except ValueError as exc:
    raise ImproperlyConfigured(
        f"DATABASE_URL could not be parsed ({exc}); use postgres://USER:PASSWORD@HOST:5432/NAME "
        "or sqlite:///path/to/file.sqlite3."
    ) from None
# A connection kept across requests is checked before reuse, so a PostgreSQL restart costs one request at most.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if USING_EMBEDDED_DATABASE:
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-triage.sqlite3")}
# A PostgreSQL read replica for dashboards (docs/scaling.md): reads of GET requests under
# REPLICA_READ_PATHS go there (triage/db_router.py); writes and everything else use DATABASE_URL.
DATABASE_REPLICA_URL = env_str("DATABASE_REPLICA_URL") or ""
if DATABASE_REPLICA_URL:
    try:
        DATABASES["replica"] = dj_database_url.parse(
            DATABASE_REPLICA_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 60, minimum=0)
        )
    except ValueError as exc:
        raise ImproperlyConfigured(
            f"DATABASE_REPLICA_URL could not be parsed ({exc}); use postgres://USER:PASSWORD@HOST:5432/NAME."
        ) from None
    DATABASES["replica"]["CONN_HEALTH_CHECKS"] = True
REPLICA_READS = bool(DATABASE_REPLICA_URL)
REPLICA_READ_PATHS = [
    "/review/",
    "/api/v1/review/",
    "/metrics/",
    "/slas/compliance/",
    "/api/v1/success-metrics/",
    "/api/v1/sla-compliance/",
    "/api/v1/fix-impacts/",
]
DATABASE_ROUTERS = ["triage.db_router.ReplicaRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# The clustering postings index carries its columns (INCLUDE) on PostgreSQL; SQLite ignores that, which is fine.
SILENCED_SYSTEM_CHECKS = ["models.W040"]

# --- Auth -------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# --- Internationalisation ---------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE") or "UTC"
USE_I18N = True
USE_TZ = True

# --- Static and uploaded files ----------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("STATIC_ROOT") or VAR_DIR / "staticfiles")
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT") or VAR_DIR / "media")
STORAGES = {
    # Attachments go through Django's storage API: local files by default,
    # S3-compatible storage with FILE_STORAGE_BACKEND=storages.backends.s3.S3Storage
    # (django-storages, configured by its AWS_* variables).
    "default": {"BACKEND": env_str("FILE_STORAGE_BACKEND") or "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = True
ATTACHMENT_MAX_BYTES = env_int("ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024, minimum=1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 5 * 1024 * 1024, minimum=1024)

# --- Email ------------------------------------------------------------------
EMAIL_BACKEND = env_str("EMAIL_BACKEND") or (
    "django.core.mail.backends.smtp.EmailBackend"
    if env_str("EMAIL_HOST")
    else "django.core.mail.backends.filebased.EmailBackend"
)
EMAIL_FILE_PATH = str(VAR_DIR / "sent-email")
EMAIL_HOST = env_str("EMAIL_HOST") or "localhost"
EMAIL_PORT = env_int("EMAIL_PORT", 587, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER") or ""
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD") or ""
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL") or "triage@localhost"

# --- Celery -----------------------------------------------------------------
# Without a broker setting, a file-system broker under ./var/celery lets the
# worker and beat run as real processes with no server. Production uses Redis.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL") or env_str("REDIS_URL") or "filesystem://"
USING_EMBEDDED_BROKER = CELERY_BROKER_URL == "filesystem://"
CELERY_BROKER_TRANSPORT_OPTIONS: dict = {}
if USING_EMBEDDED_BROKER:
    # kombu's file-system transport does not create its folders (and would put its
    # exchange table in ./control of the working directory), so make them here.
    _broker_dirs = {name: VAR_DIR / "celery" / name for name in ("queue", "processed", "control")}
    for _folder in _broker_dirs.values():
        os.makedirs(_folder, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dirs["queue"]),
        "data_folder_out": str(_broker_dirs["queue"]),
        "processed_folder": str(_broker_dirs["processed"]),
        "control_folder": str(_broker_dirs["control"]),
        "store_processed": False,
    }
else:
    # Redis: a task is redelivered if the worker dies before acknowledging it. Keepalives and a health
    # check find a dead connection (Redis restarted, a proxy dropped it) instead of waiting on it forever.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": 3600,
        "socket_keepalive": True,
        "socket_connect_timeout": 5,
        "health_check_interval": 25,
        "retry_on_timeout": True,
    }
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A worker outlives a broker outage of any length: it reconnects forever (Celery's default gives up after
# 100 tries and exits, and then nothing assigns tickets or sends SLA alerts). Tasks running when the
# connection drops are cancelled and redelivered (every task is safe to run twice).
CELERY_BROKER_CONNECTION_RETRY = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
# Publishing from the web process while Redis is down must not hold a request for long: the ticket is
# already committed, and the beat sweep assigns it once Redis is back.
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5}

# --- Bug clusters (tickets) --------------------------------------------------
# Spikes: a cluster spikes when its volume exceeds its baseline plus K standard deviations, is at least
# MIN_RATIO x the baseline, and reaches the window's minimum volume x MIN_VOLUME_FACTOR (docs/alerts-and-patterns.md).
CLUSTER_SPIKE_K = env_float("CLUSTER_SPIKE_K", 3.0, minimum=0.0)
CLUSTER_SPIKE_MIN_RATIO = env_float("CLUSTER_SPIKE_MIN_RATIO", 2.0, minimum=1.0)
CLUSTER_SPIKE_MIN_VOLUME_FACTOR = env_float("CLUSTER_SPIKE_MIN_VOLUME_FACTOR", 1.0, minimum=0.0)

# Sentence embeddings for the clustering engine (docs/clustering.md): a model directory (model.onnx and
# tokenizer.json; relative to this project) or a model name fetched once into CLUSTERING_EMBEDDING_CACHE.
# Empty: tickets are compared by their words only (a system check says so at start-up).
CLUSTERING_EMBEDDING_MODEL = env_str("CLUSTERING_EMBEDDING_MODEL") or ""
CLUSTERING_EMBEDDING_CACHE = Path(env_str("CLUSTERING_EMBEDDING_CACHE") or VAR_DIR / "models")
CLUSTERING_EMBEDDING_MAX_TOKENS = env_int("CLUSTERING_EMBEDDING_MAX_TOKENS", 128, minimum=8)
CLUSTERING_EMBEDDING_THREADS = env_int("CLUSTERING_EMBEDDING_THREADS", 1, minimum=0)
# The Known-bugs panel encodes the typed text in the web request (a few ms, but each web worker loads
# the model once, ~150 MB); false keeps web workers light and the panel ranks by words.
CLUSTERING_EMBEDDING_IN_REQUESTS = env_bool("CLUSTERING_EMBEDDING_IN_REQUESTS", True)

# --- Service levels (slas) ---------------------------------------------------
# The beat sweep's interval is read by triage/celery.py from SLA_SWEEP_SECONDS (default 60).
SLA_DELIVERY_LEASE_SECONDS = env_int("SLA_DELIVERY_LEASE_SECONDS", 300, minimum=5)
SLA_DELIVERY_MAX_ATTEMPTS = env_int("SLA_DELIVERY_MAX_ATTEMPTS", 12, minimum=1)
SLA_HTTP_TIMEOUT_SECONDS = env_int("SLA_HTTP_TIMEOUT_SECONDS", 10, minimum=1)
SLA_HEAD_OF_PRODUCT_EMAILS = env_list("SLA_HEAD_OF_PRODUCT_EMAILS", [])
# Key of the SLA webhooks of policies without their own secret. Empty: such a policy cannot have a
# webhook (refused when saved), and nothing is ever signed with an empty key.
SLA_WEBHOOK_SECRET = env_str("SLA_WEBHOOK_SECRET") or ""
if SLA_WEBHOOK_SECRET and len(SLA_WEBHOOK_SECRET) < 16 and not DEBUG:
    raise ImproperlyConfigured(
        "SLA_WEBHOOK_SECRET is shorter than 16 characters; set a long random string (or leave it empty and give "
        "each SLA policy with a webhook its own secret)."
    )

# --- REST framework ---------------------------------------------------------
REST_FRAMEWORK = {
    # Integrations use API keys (hashed, scoped read/write, created in the admin); browsers use the session.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "tickets.api.auth.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["tickets.api.auth.ScopedPermission"],
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "tickets.api.pagination.ApiCursorPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_PARSER_CLASSES": ["tickets.api.parsers.LimitedJSONParser"],
    "DEFAULT_THROTTLE_CLASSES": ["tickets.api.throttling.ApiKeyRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"api": env_str("API_THROTTLE_RATE") or "1200/minute"},
    "EXCEPTION_HANDLER": "tickets.api.exceptions.api_exception_handler",
    # OPTIONS answers 405: the OpenAPI document at /api/v1/schema/ describes every endpoint instead.
    "DEFAULT_METADATA_CLASS": None,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
# Currency of money evidence given without one ("49.99"). Set here so reading it is a plain
# attribute lookup: a setting that is missing is looked up the slow way on every access.
DEFAULT_CURRENCY = (env_str("DEFAULT_CURRENCY") or "USD").upper()
# Largest JSON body the API parses (a bulk request of 1,000 tickets fits); larger gets 413.
API_MAX_BODY_BYTES = env_int("API_MAX_BODY_BYTES", 5 * 1024 * 1024, minimum=1024)
# Outbound webhooks: first retry after this many seconds, then doubling (capped at 6 h), 8 tries.
WEBHOOK_RETRY_BASE_SECONDS = env_int("WEBHOOK_RETRY_BASE_SECONDS", 30, minimum=0)
WEBHOOK_TIMEOUT_SECONDS = env_int("WEBHOOK_TIMEOUT_SECONDS", 10, minimum=1)
SPECTACULAR_SETTINGS = {
    "TITLE": "Triage API",
    "DESCRIPTION": (
        "Support-to-product bug triage: tickets, bug clusters, SLAs and fix impact.\n\n"
        "**Auth**: `Authorization: Api-Key trg_<prefix>_<secret>` (keys are created in the admin, shown once, "
        "scoped read or write), or the browser session. **Upsert**: tickets are keyed by (source, external_id); "
        "resending never duplicates. **Idempotency-Key** header on other writes replays the first response. "
        "**Errors**: `{error, detail, fields}` where `fields` maps a dotted path (`evidence.amount`) to messages. "
        "**Lists**: cursor pagination (`next`/`previous` links), `ordering=`, filters as documented."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The document and docs pages are public: integration engineers read them before they have a key.
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # System fonts: the docs work offline (templates/drf_spectacular/redoc.html loads nothing from outside).
    "REDOC_UI_SETTINGS": {
        "theme": {
            "typography": {
                "fontFamily": 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif',
                "headings": {"fontFamily": 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif'},
            }
        }
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "tickets.api.schema.add_error_responses",
    ],
    "ENUM_NAME_OVERRIDES": {
        "TicketStatusEnum": "tickets.models.choices.TicketStatus",
        "ClusterStatusEnum": "tickets.models.choices.ClusterStatus",
        "ClusterKindEnum": "tickets.models.choices.ClusterKind",
        "EvidenceFieldKindEnum": "tickets.models.choices.FieldKind",
        # One name per choice set used by several apps (else `check --deploy` warns, drf_spectacular.W001).
        "FeedbackKindEnum": "tickets.models.choices.FeedbackKind",
        "PlanTierEnum": "tickets.models.choices.PlanTier",
        "SegmentEnum": "tickets.models.choices.Segment",
        "PriorityEnum": "tickets.models.choices.Priority",
        "VerdictEnum": "metrics.impact.Verdict.CHOICES",
    },
}

# Cache (API rate limits): Redis when configured, so every web worker shares one budget per key.
_CACHE_REDIS_URL = env_str("CACHE_URL") or env_str("REDIS_URL")
CACHES = {
    "default": (
        {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": _CACHE_REDIS_URL,
            # Fail fast when Redis is away: the rate limiter then counts per process (and says so).
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
        if _CACHE_REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

# --- Metrics ----------------------------------------------------------------
# A fixed cluster may be moved to verified only when tickets fell at least this many percent.
METRICS_VERIFY_MIN_REDUCTION = env_int("METRICS_VERIFY_MIN_REDUCTION", 50, minimum=0)
# Baseline tickets needed for a verdict; 0 means derived from the statistics (10 by default).
METRICS_MIN_BASELINE_TICKETS = env_int("METRICS_MIN_BASELINE_TICKETS", 0, minimum=0)

# --- The weekly review (triage) -----------------------------------------------
# Who gets the Voice-of-Customer report every Monday (comma-separated addresses); empty sends nothing.
REVIEW_REPORT_RECIPIENTS = env_email_list("REVIEW_REPORT_RECIPIENTS")

# --- Production hardening ---------------------------------------------------
# HTTPS=true (the site is served over TLS, directly or behind a proxy) turns on what `manage.py check
# --deploy` asks for: redirect to HTTPS, HSTS, secure cookies. Each can still be set on its own.
BEHIND_TLS_PROXY = env_bool("BEHIND_TLS_PROXY", False)
HTTPS = env_bool("HTTPS", BEHIND_TLS_PROXY)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if BEHIND_TLS_PROXY else None
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", HTTPS)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # load balancers probe over plain HTTP
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 365 * 24 * 3600 if HTTPS else 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
# Only takes effect once the domain is submitted to the browsers' preload list.
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", HTTPS)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
# Seeding the demo organisation (users with a published password; --reset deletes every ticket) is
# for laptops and demo stacks: refused elsewhere unless DEMO_DATA_ALLOWED=true or the command's flag.
DEMO_DATA_ALLOWED = env_bool("DEMO_DATA_ALLOWED", DEBUG or USING_EMBEDDED_DATABASE)

LOG_LEVEL = env_choice("LOG_LEVEL", ("debug", "info", "warning", "error"), "info").upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "filters": {"no_traceback_for_client_errors": {"()": "triage.log_filters.NoTracebackForClientErrors"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["no_traceback_for_client_errors"],
        }
    },
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        app: {"handlers": ["console"], "level": LOG_LEVEL, "propagate": False}
        for app in ("triage", "tickets", "slas", "metrics")
    },
}

os.makedirs(VAR_DIR, exist_ok=True)
