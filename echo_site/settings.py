"""ECHO order service settings.

Every production value comes from the environment; with nothing set, the service runs on embedded
defaults (SQLite, in-memory channel layer, simulated payments) for local development.
"""

from __future__ import annotations

import os
import sys
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    return [part.strip() for part in raw.split(",") if part.strip()]


# Safe by default: development mode is asked for explicitly (`./dev.sh` sets DEBUG=1).
DEBUG = env_bool("DEBUG", default=False)

# Public: it is in this file. It may sign only in development mode.
DEVELOPMENT_SECRET_KEY = "insecure-development-key-only-used-when-DEBUG-is-on"  # noqa: S105
SECRET_KEY = os.environ.get("SECRET_KEY", "").strip()
if not DEBUG and SECRET_KEY in {"", DEVELOPMENT_SECRET_KEY}:
    # One line, no traceback noise: production must never run on a made-up or public key.
    sys.stderr.write(
        "ECHO refuses to start: DEBUG is off and SECRET_KEY is not set."
        if not SECRET_KEY
        else "ECHO refuses to start: DEBUG is off and SECRET_KEY is the public development key."
    )
    sys.stderr.write("\n")
    raise SystemExit(1)
if not SECRET_KEY:
    SECRET_KEY = DEVELOPMENT_SECRET_KEY

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list(
    "CSRF_TRUSTED_ORIGINS", ["http://127.0.0.1:8000", "http://localhost:8000"]
)

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI served from here, not from a CDN
    "channels",
    "echo_site",
    "orders",
    "payments",
    "chat",
    "disputes",
    "notify",
    "frontend",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",  # CONTENT_SECURITY_POLICY below
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "echo_site.middleware.ApiNoStoreMiddleware",
    "echo_site.middleware.ApiJsonErrorsMiddleware",
    "echo_site.middleware.ApiTrailingSlashMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "echo_site.urls"
# /api/ paths answer with and without a trailing slash (ApiTrailingSlashMiddleware); never redirect.
APPEND_SLASH = False

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = None
ASGI_APPLICATION = "echo_site.asgi.application"

# --- Database -----------------------------------------------------------------------------------
DATABASE_URL = os.environ.get("DATABASE_URL", "")
# PostgreSQL connections are bounded per process. daphne runs every sync view on a thread of its
# own, and Django keeps a connection per thread: with persistent connections (CONN_MAX_AGE > 0)
# one busy process opened a connection per thread it ever used, up to PostgreSQL's
# max_connections. So no persistent connections; instead one psycopg pool per process of at most
# DB_POOL_MAX connections, shared by the HTTP views, the live rooms' threads and anything else
# in the process. A request that finds the pool empty waits up to DB_POOL_TIMEOUT_SECONDS for a
# connection, then answers 503 with Retry-After. DB_POOL_MAX=0: no pool, a new connection per
# request (only behind an external pooler such as PgBouncer).
DB_POOL_MIN = int(os.environ.get("DB_POOL_MIN", "2"))
DB_POOL_MAX = int(os.environ.get("DB_POOL_MAX", "10"))
DB_POOL_TIMEOUT_SECONDS = float(os.environ.get("DB_POOL_TIMEOUT_SECONDS", "5"))
if os.environ.get("DB_CONN_MAX_AGE", "0").strip() not in ("", "0"):
    sys.stderr.write(
        "ECHO refuses to start: DB_CONN_MAX_AGE is no longer supported. Persistent connections "
        "grow with daphne's threads; set DB_POOL_MAX instead (README, Configuration).\n"
    )
    raise SystemExit(1)
if DATABASE_URL:
    DATABASES = {
        "default": dj_database_url.parse(DATABASE_URL, conn_max_age=0, conn_health_checks=True)
    }
    if DB_POOL_MAX > 0:
        if not 0 <= DB_POOL_MIN <= DB_POOL_MAX or DB_POOL_TIMEOUT_SECONDS <= 0:
            sys.stderr.write(
                "ECHO refuses to start: DB_POOL_MIN must be from 0 to DB_POOL_MAX and "
                "DB_POOL_TIMEOUT_SECONDS above 0.\n"
            )
            raise SystemExit(1)
        DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
            "min_size": DB_POOL_MIN,
            "max_size": DB_POOL_MAX,
            "timeout": DB_POOL_TIMEOUT_SECONDS,
            # A connection idle this long is closed (down to min_size): a quiet process gives
            # its connections back to PostgreSQL.
            "max_idle": 300,
        }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ.get("SQLITE_PATH", str(BASE_DIR / "db.sqlite3")),
            "OPTIONS": {
                # Writers take the lock when the transaction begins, so two concurrent writes queue
                # instead of failing half-way with "database is locked".
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: channel layer and cache ----------------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
# The channel layer's shards: groups and channels spread over these Redis servers by a stable
# hash (echo_site/channel_layer.py, as channels-redis shards). Every process must list the same
# URLs in the same order. Default: REDIS_URL alone.
CHANNEL_LAYER_REDIS_URLS = [
    url.strip() for url in os.environ.get("CHANNEL_LAYER_REDIS_URLS", "").split(",") if url.strip()
] or ([REDIS_URL] if REDIS_URL else [])


def redis_server(url: str) -> str:
    """The Redis server a URL names, as `host:port` or `unix:path`, without its credentials or
    database: pub/sub ignores the database number, so two URLs that differ only there are one
    shard. Raises ValueError for what is not a Redis URL."""
    parts = urlsplit(url)
    if parts.scheme == "unix":
        return f"unix:{parts.path}"
    if parts.scheme not in {"redis", "rediss"} or not parts.hostname:
        raise ValueError(f"not a redis://, rediss:// or unix:// URL (scheme {parts.scheme!r})")
    try:
        port = parts.port or 6379
    except ValueError:
        raise ValueError("a Redis URL with a port that is not a number from 0 to 65535") from None
    return f"{parts.hostname.lower()}:{port}"


def channel_layer_urls_problem(urls: list[str], redis_url: str) -> str | None:
    """Why these CHANNEL_LAYER_REDIS_URLS cannot run, or None. No URL is echoed: it may hold a
    password."""
    if urls and not redis_url:
        # Presence, the caches, the throttles and Celery live on REDIS_URL: without it they
        # would fall back to per-process memory while the channel layer spans processes.
        return (
            "CHANNEL_LAYER_REDIS_URLS is set but REDIS_URL is not. Presence, the caches, "
            "throttles and Celery use REDIS_URL; set it too (it may name one of the channel "
            "layer's servers)."
        )
    seen: dict[str, int] = {}
    for position, url in enumerate(urls, start=1):
        try:
            server = redis_server(url)
        except ValueError as error:
            return f"CHANNEL_LAYER_REDIS_URLS entry {position} is {error}."
        if server in seen:
            return (
                f"CHANNEL_LAYER_REDIS_URLS names the Redis server {server} twice (entries "
                f"{seen[server]} and {position}). Each shard is one server, listed once "
                "(pub/sub ignores the database number)."
            )
        seen[server] = position
    return None


if (_problem := channel_layer_urls_problem(CHANNEL_LAYER_REDIS_URLS, REDIS_URL)) is not None:
    sys.stderr.write(f"ECHO refuses to start: {_problem}\n")
    raise SystemExit(1)

# Without Redis (development): one layer channel per process carries every event for its sockets
# (chat/fanout.py), so the default capacity of 100 would drop a burst's events silently.
IN_MEMORY_CHANNEL_LAYER = {
    "BACKEND": "channels.layers.InMemoryChannelLayer",
    "CONFIG": {"capacity": 100_000},
}
# Separate caches so that one use can never evict another's entries (docs/reliability.md):
# - "default": whatever else caches;
# - "throttle": the auth and ticket throttle counters; "throttle-local" is the per-process
#   fallback used while Redis is unreachable (echo_site/throttling.py);
# - "tickets": single-use websocket tickets (bounded: ticket issuing is throttled per user).
LOCAL_THROTTLE_CACHE = {
    "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
    "LOCATION": "echo-throttle-local",
    "OPTIONS": {"MAX_ENTRIES": 100_000},
}
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "echo_site.channel_layer.BatchingPubSubChannelLayer",
            "CONFIG": {"hosts": CHANNEL_LAYER_REDIS_URLS},
        }
    }
    # Imported only when Redis is configured: the embedded defaults never load redis here.
    from redis.backoff import ExponentialBackoff
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.retry import Retry

    _redis_cache = {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "OPTIONS": {
            "socket_connect_timeout": 2,
            "socket_timeout": 2,
            # After a Redis restart every pooled connection is stale: a command that fails
            # to reach Redis is sent once more on a new connection (everything the cache
            # does is idempotent: get, set, delete, counters' set). Not on a timeout: a
            # wedged Redis must not cost twice the wait. Idle connections are pinged first.
            "retry": Retry(ExponentialBackoff(cap=0.2, base=0.02), 1, (RedisConnectionError,)),
            "health_check_interval": 30,
        },
    }
    CACHES = {
        "default": _redis_cache,
        "throttle": {**_redis_cache, "KEY_PREFIX": "throttle"},
        "tickets": {**_redis_cache, "KEY_PREFIX": "tickets"},
        "throttle-local": LOCAL_THROTTLE_CACHE,
    }
else:
    CHANNEL_LAYERS = {"default": IN_MEMORY_CHANNEL_LAYER}
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        "throttle": {**LOCAL_THROTTLE_CACHE, "LOCATION": "echo-throttle"},
        "tickets": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "echo-tickets",
            "OPTIONS": {"MAX_ENTRIES": 100_000},
        },
        "throttle-local": LOCAL_THROTTLE_CACHE,
    }

# --- Auth -------------------------------------------------------------------------------------
# Failed sign-ins are counted per username by this backend (echo_site/throttling.py).
AUTHENTICATION_BACKENDS = ["echo_site.throttling.ThrottledModelBackend"]

# How many proxies in front of the service append to X-Forwarded-For. 0 (the default): the
# header is ignored and the socket address is the client's address (throttling, logs).
TRUSTED_PROXY_COUNT = int(os.environ.get("TRUSTED_PROXY_COUNT", "0"))
if TRUSTED_PROXY_COUNT < 0:
    sys.stderr.write("ECHO refuses to start: TRUSTED_PROXY_COUNT must be 0 or more.\n")
    raise SystemExit(1)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # JWT first: its WWW-Authenticate header makes "not authenticated" a 401, not a 403.
        "rest_framework_simplejwt.authentication.JWTAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["echo_site.parsers.DecimalJSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "echo_site.errors.api_exception_handler",
    # Every way to present a password shares "auth" per client address; failed sign-ins also
    # count per username; websocket tickets per user (echo_site/throttling.py).
    "DEFAULT_THROTTLE_RATES": {
        "auth": os.environ.get("AUTH_THROTTLE_RATE", "10/min"),
        "auth_username": os.environ.get("AUTH_USERNAME_FAILURE_RATE", "10/hour"),
        "ws_ticket": os.environ.get("WS_TICKET_RATE", "30/min"),
    },
    # X-Forwarded-For is believed only this many hops deep; DRF's default (None) would
    # believe any client-sent value.
    "NUM_PROXIES": TRUSTED_PROXY_COUNT,
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

SIMPLE_JWT = {
    # A decimal is allowed (0.1: six seconds), for tests of token renewal over a real socket.
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=float(os.environ.get("JWT_ACCESS_MINUTES", "5"))),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=int(os.environ.get("JWT_REFRESH_DAYS", "1"))),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": True,
    "AUTH_HEADER_TYPES": ("Bearer",),
}

SPECTACULAR_SETTINGS = {
    "TITLE": "ECHO order service API",
    "DESCRIPTION": "Orders, order messages, reviews, payments and disputes. "
    "Errors are JSON {error, code, fields}. The live rooms (websockets) are described by "
    "the AsyncAPI 3.0 document at [/api/asyncapi.json](/api/asyncapi.json) and in "
    "docs/websocket-protocol.md.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api",
    # Every operation documents the Error responses it can give (echo_site/schema.py).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "echo_site.schema.document_errors",
    ],
    # Order.status and allowed_moves share one enum in the schema.
    "ENUM_NAME_OVERRIDES": {
        "OrderStatusEnum": "orders.models.OrderStatus",
        "PaymentStatusEnum": "payments.models.PaymentStatus",
        "PayoutStatusEnum": "payments.models.PayoutStatus",
        "RefundStatusEnum": "payments.models.RefundStatus",
        "DisputeStatusEnum": "disputes.models.DisputeStatus",
        "DisputeOutcomeEnum": "disputes.models.DisputeOutcome",
    },
}

# --- Domain settings --------------------------------------------------------------------------
MESSAGE_MAX_LENGTH = 5000
ORDER_MAX_PRICE = "1000000.00"

# --- Live rooms (websockets) ----------------------------------------------------------------------
BROADCAST_TIMEOUT_SECONDS = float(os.environ.get("BROADCAST_TIMEOUT_SECONDS", "2"))
BROADCAST_BACKOFF_SECONDS = float(os.environ.get("BROADCAST_BACKOFF_SECONDS", "2"))
LIVE_HEARTBEAT_SECONDS = float(os.environ.get("LIVE_HEARTBEAT_SECONDS", "20"))
# A bearer socket is sent `auth.expiring` this long before its access token expires (once per
# token), so the client can send `auth.refresh` in time (chat/renewal.py); 0: no warning.
WS_TOKEN_EXPIRY_WARNING_SECONDS = float(os.environ.get("WS_TOKEN_EXPIRY_WARNING_SECONDS", "60"))
LIVE_PRESENCE_TTL_SECONDS = float(os.environ.get("LIVE_PRESENCE_TTL_SECONDS", "60"))
LIVE_TYPING_TTL_SECONDS = float(os.environ.get("LIVE_TYPING_TTL_SECONDS", "6"))
LIVE_MAX_FRAME_BYTES = 64 * 1024
LIVE_MESSAGES_PER_WINDOW = 20
LIVE_FRAMES_PER_WINDOW = 120
LIVE_RATE_WINDOW_SECONDS = 10.0
LIVE_MAX_SOCKETS_PER_USER = int(os.environ.get("LIVE_MAX_SOCKETS_PER_USER", "50"))
# A socket's outgoing buffer (what the server holds for a client that reads slower than it is sent
# to): over either limit the socket is closed with 4008 and the client resumes with after_seq.
# Enforced by echo_site/serve.py; a 500-entry replay batch of ordinary messages fits well inside.
LIVE_SEND_BUFFER_BYTES = int(os.environ.get("LIVE_SEND_BUFFER_BYTES", str(4 * 1024 * 1024)))
LIVE_SEND_BUFFER_FRAMES = int(os.environ.get("LIVE_SEND_BUFFER_FRAMES", "2000"))
# How long the 4008 close frame may wait behind the buffer before the TCP connection is dropped.
LIVE_SEND_CLOSE_GRACE_SECONDS = float(os.environ.get("LIVE_SEND_CLOSE_GRACE_SECONDS", "5"))
# Threads (each with its own PostgreSQL connection) for the live rooms' database calls, per process.
# A message is one statement: a few threads keep PostgreSQL busy; more only fight the event loop
# for the GIL (16 halved the sustained rate in some runs, docs/benchmarks.md).
LIVE_DB_THREADS = int(os.environ.get("LIVE_DB_THREADS", "4"))
# The live rooms' threads keep the pooled connections they take (chat/db.py); the HTTP views
# need at least one more.
if DATABASE_URL and DB_POOL_MAX > 0 and DB_POOL_MAX <= LIVE_DB_THREADS:
    sys.stderr.write(
        f"ECHO refuses to start: DB_POOL_MAX ({DB_POOL_MAX}) must be larger than LIVE_DB_THREADS "
        f"({LIVE_DB_THREADS}), which the live rooms hold.\n"
    )
    raise SystemExit(1)

# --- Disputes ----------------------------------------------------------------------------------
DISPUTE_WINDOW_DAYS = int(os.environ.get("DISPUTE_WINDOW_DAYS", "14"))

# Notifications (notify/): email digests and browser push for what a user missed.
NOTIFY_AFTER_MINUTES = int(os.environ.get("NOTIFY_AFTER_MINUTES", "10"))
# How often the worker sends what is due, and how long sent rows are kept (notify/tasks.py).
NOTIFY_SEND_INTERVAL_SECONDS = int(os.environ.get("NOTIFY_SEND_INTERVAL_SECONDS", "60"))
NOTIFY_KEEP_DAYS = int(os.environ.get("NOTIFY_KEEP_DAYS", "30"))
# The site's public origin, for links in emails (order pages, one-click unsubscribe).
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "ECHO <no-reply@localhost>")
# SMTP in production; the console backend in development (DEBUG) unless EMAIL_BACKEND says else.
EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = float(os.environ.get("EMAIL_TIMEOUT", "10"))
# Web Push (VAPID): the application server's key pair, base64url. Without them push is off.
VAPID_PUBLIC_KEY = os.environ.get("VAPID_PUBLIC_KEY", "")
VAPID_PRIVATE_KEY = os.environ.get("VAPID_PRIVATE_KEY", "")
VAPID_SUBJECT = os.environ.get("VAPID_SUBJECT", "mailto:admin@localhost")
# Push goes only to the browsers' push services (host or a subdomain of one, over https): a
# subscription's endpoint is client input, and the worker POSTs to it (notify/push.py).
PUSH_SERVICE_HOSTS = env_list(
    "PUSH_SERVICE_HOSTS",
    ["fcm.googleapis.com", "push.services.mozilla.com", "notify.windows.com", "push.apple.com"],
)
PUSH_SERVICE_ALLOW_HTTP = env_bool("PUSH_SERVICE_ALLOW_HTTP", default=False)  # tests only

# --- Payments (Stripe) --------------------------------------------------------------------------
# Keys come only from the environment and are never logged or returned (the publishable key aside).
# Without STRIPE_SECRET_KEY a simulated gateway confirms payments at once (ids prefixed "sim_").
STRIPE_SECRET_KEY = os.environ.get("STRIPE_SECRET_KEY", "")
STRIPE_PUBLISHABLE_KEY = os.environ.get("STRIPE_PUBLISHABLE_KEY", "")
STRIPE_WEBHOOK_SECRET = os.environ.get("STRIPE_WEBHOOK_SECRET", "")
STRIPE_MAX_NETWORK_RETRIES = int(os.environ.get("STRIPE_MAX_NETWORK_RETRIES", "2"))
# Two-decimal currencies only: amounts go to Stripe as final_price * 100 (see docs/payments.md).
PAYMENTS_CURRENCY = os.environ.get("PAYMENTS_CURRENCY", "eur").strip().lower()
_NOT_TWO_DECIMAL = {
    # zero-decimal
    "bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv",
    "xaf", "xof", "xpf",
    # three-decimal, and those Stripe treats specially
    "bhd", "jod", "kwd", "omr", "tnd", "isk", "huf", "twd",
}  # fmt: skip
if (
    len(PAYMENTS_CURRENCY) != 3
    or not PAYMENTS_CURRENCY.isalpha()
    or PAYMENTS_CURRENCY in _NOT_TWO_DECIMAL
):
    sys.stderr.write(
        f"ECHO refuses to start: PAYMENTS_CURRENCY={PAYMENTS_CURRENCY!r} is not a two-decimal "
        "currency code.\n"
    )
    raise SystemExit(1)
try:
    PLATFORM_FEE_PERCENT = Decimal(os.environ.get("PLATFORM_FEE_PERCENT", "10"))
    _fee_ok = Decimal("0") <= PLATFORM_FEE_PERCENT < Decimal("100")
except ArithmeticError:  # decimal.InvalidOperation: not a number at all
    _fee_ok = False
if not _fee_ok:
    sys.stderr.write("ECHO refuses to start: PLATFORM_FEE_PERCENT must be from 0 to below 100.\n")
    raise SystemExit(1)
# A payout or refund whose gateway call failed is retried by `manage.py payments_retry`, which
# leaves alone rows younger than this (their first attempt may still be running).
PAYMENTS_RETRY_MIN_AGE_SECONDS = int(os.environ.get("PAYMENTS_RETRY_MIN_AGE_SECONDS", "60"))

# --- Order rules (time-based; the worker's schedule applies them) ------------------------------
# A DELIVERED order the buyer does not answer completes by itself after this many days.
AUTO_COMPLETE_DAYS = int(os.environ.get("AUTO_COMPLETE_DAYS", "3"))
# A PENDING order the creator does not accept is cancelled (and refunded) after this many days.
ACCEPT_WITHIN_DAYS = int(os.environ.get("ACCEPT_WITHIN_DAYS", "3"))
# An open dispute no admin has joined is flagged on the mediation desk after this many hours.
DISPUTE_ADMIN_SLA_HOURS = int(os.environ.get("DISPUTE_ADMIN_SLA_HOURS", "24"))
# How often the sweeps re-derive due work from the database.
SWEEP_INTERVAL_SECONDS = int(os.environ.get("SWEEP_INTERVAL_SECONDS", "60"))
# Failed payouts, refunds and reversals: retried after 2^(n-1) x BASE seconds (capped at 6 hours)
# until MAX attempts, then marked for an admin with the reason.
PAYMENTS_RETRY_BASE_SECONDS = int(os.environ.get("PAYMENTS_RETRY_BASE_SECONDS", "60"))
PAYMENTS_RETRY_MAX_ATTEMPTS = int(os.environ.get("PAYMENTS_RETRY_MAX_ATTEMPTS", "8"))

# --- Background work (Celery: echo_site/celery.py) ----------------------------------------------
# Production: the broker and the results on Redis, in a database of their own (CELERY_REDIS_DB,
# default: REDIS_URL's number + 1) so that flushing one never touches the other; or any broker
# URL in CELERY_BROKER_URL. Development (no REDIS_URL): kombu's filesystem transport, messages as
# files under CELERY_DATA_DIR. Chosen over the SQLAlchemy transport on SQLite: it needs no extra
# package and never contends for SQLite's single write lock with the web process.
CELERY_DATA_DIR = Path(os.environ.get("CELERY_DATA_DIR", str(BASE_DIR / ".celery")))


def _celery_redis_url(url: str) -> str:
    from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    if parts.scheme == "unix":
        db = int(query.get("db", "0"))
        query["db"] = os.environ.get("CELERY_REDIS_DB", "").strip() or str((db + 1) % 16)
        return urlunsplit(parts._replace(query=urlencode(query)))
    db = int((parts.path or "/0").strip("/") or "0")
    new_db = os.environ.get("CELERY_REDIS_DB", "").strip() or str((db + 1) % 16)
    return urlunsplit(parts._replace(path=f"/{new_db}"))


CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "").strip() or (
    _celery_redis_url(REDIS_URL) if REDIS_URL else "filesystem://"
)
if CELERY_BROKER_URL == "filesystem://":
    _queue_dir = str(CELERY_DATA_DIR / "queue")
    CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {
        "data_folder_in": _queue_dir,
        "data_folder_out": _queue_dir,
        "control_folder": str(CELERY_DATA_DIR / "control"),
    }
    CELERY_RESULT_BACKEND: str | None = None
else:
    # acks_late: a message is taken off the queue only when its task has finished. One that a
    # killed worker held comes back after this many seconds (must exceed the longest task).
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": int(os.environ.get("CELERY_VISIBILITY_TIMEOUT_SECONDS", "3600")),
        # How often a worker looks for such messages to bring back (one cheap Redis query).
        "unacked_restore_interval": int(os.environ.get("CELERY_RESTORE_INTERVAL_SECONDS", "10")),
        "unacked_restore_throttle": 1,
    }
    CELERY_RESULT_BACKEND = CELERY_BROKER_URL if CELERY_BROKER_URL.startswith("redis") else None
CELERY_TASK_IGNORE_RESULT = True  # tasks record their outcome in the database
CELERY_TASK_ACKS_LATE = True  # a task a dead worker held runs again (every task is idempotent)
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Sending a task from a request while the broker is down: give up fast (the sweep re-derives the
# work from the database; echo_site/background.py).
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2}
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE_FILENAME = str(CELERY_DATA_DIR / "beat-schedule")
# The schedule: each entry re-derives due work from the database and enqueues one task per row.
CELERY_BEAT_SCHEDULE = {
    "orders-sweep": {"task": "orders.sweep", "schedule": float(SWEEP_INTERVAL_SECONDS)},
    "disputes-sweep": {"task": "disputes.sweep", "schedule": float(SWEEP_INTERVAL_SECONDS)},
    "payments-retry-due": {"task": "payments.retry_due", "schedule": float(SWEEP_INTERVAL_SECONDS)},
    "chat-cleanup": {"task": "chat.cleanup", "schedule": 3600.0},
    # Uploads no message or delivery claimed within ATTACHMENT_ORPHAN_HOURS.
    "orders-purge-orphan-uploads": {"task": "orders.purge_orphan_uploads", "schedule": 3600.0},
    # What people missed: email digests and push (notify/tasks.py).
    "notify-send-due": {"task": "notify.send_due", "schedule": float(NOTIFY_SEND_INTERVAL_SECONDS)},
    "notify-prune": {"task": "notify.prune", "schedule": 86400.0},
}

# --- I18N / time --------------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static files -------------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# --- Uploaded files (orders/attachments/) ---------------------------------------------------------
# The file system under MEDIA_ROOT by default; any S3-compatible store when ATTACHMENTS_S3_BUCKET
# is set (django-storages, configured only from the environment: README "Attachments").
MEDIA_ROOT = os.environ.get("MEDIA_ROOT", str(BASE_DIR / "media"))
MAX_UPLOAD_MB = int(os.environ.get("MAX_UPLOAD_MB", "50"))
ATTACHMENT_TYPES = env_list(
    "ATTACHMENT_TYPES",
    [
        "application/pdf", "text/plain", "text/csv", "application/rtf",
        "application/msword", "application/vnd.ms-excel", "application/vnd.ms-powerpoint",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "application/vnd.oasis.opendocument.text",
        "image/png", "image/jpeg", "image/gif", "image/webp",
        "audio/mpeg", "audio/wav", "audio/ogg", "audio/flac", "audio/mp4",
        "video/mp4", "video/webm", "video/quicktime",
        "application/zip", "application/gzip", "application/x-7z-compressed", "application/x-tar",
    ],
)  # fmt: skip
ATTACHMENT_URL_SECONDS = int(os.environ.get("ATTACHMENT_URL_SECONDS", "300"))
ATTACHMENT_ORPHAN_HOURS = int(os.environ.get("ATTACHMENT_ORPHAN_HOURS", "24"))
ATTACHMENTS_S3_BUCKET = os.environ.get("ATTACHMENTS_S3_BUCKET", "").strip()
if ATTACHMENTS_S3_BUCKET:
    _attachments_storage: dict[str, object] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": ATTACHMENTS_S3_BUCKET,
            "endpoint_url": os.environ.get("ATTACHMENTS_S3_ENDPOINT_URL") or None,
            "region_name": os.environ.get("ATTACHMENTS_S3_REGION") or None,
            "access_key": os.environ.get("ATTACHMENTS_S3_ACCESS_KEY_ID") or None,
            "secret_key": os.environ.get("ATTACHMENTS_S3_SECRET_ACCESS_KEY") or None,
            "default_acl": None,
            "querystring_auth": True,
            "querystring_expire": ATTACHMENT_URL_SECONDS,
            "file_overwrite": False,
            "addressing_style": os.environ.get("ATTACHMENTS_S3_ADDRESSING_STYLE") or None,
        },
    }
else:
    _attachments_storage = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(Path(MEDIA_ROOT) / "attachments")},
    }
# Uploads stream to a temporary file chunk by chunk, never whole into memory
# (orders/attachments/uploads.py counts them against MAX_UPLOAD_MB as they arrive).
FILE_UPLOAD_HANDLERS = [
    "orders.attachments.uploads.SizeLimitUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]

# Hashed names and long cache lifetimes in every mode (echo_site/staticstorage.py): pages need the
# manifest, so `collectstatic` runs before serving (the Procfile's release step, `./dev.sh run`,
# and once per test session in tests/conftest.py).
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "attachments": _attachments_storage,
    "staticfiles": {"BACKEND": "echo_site.staticstorage.StaticStorage"},
}

# --- Security (production) ----------------------------------------------------------------------
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "0" if DEBUG else "31536000"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if env_bool("BEHIND_PROXY", default=not DEBUG):
    # The platform's proxy terminates TLS and says so in this header.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
X_FRAME_OPTIONS = "DENY"

# --- Content-Security-Policy (django-csp) -------------------------------------------------------
# Every page: scripts, styles, images, fonts, fetches and sockets from this origin only; no inline
# script or event handler anywhere (frontend/static/ holds all of it). The order page adds Stripe's
# origins when card payments are on (frontend/views.py, STRIPE_CSP); /api/docs adds data: images
# for Swagger UI's icons.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}
if ATTACHMENTS_S3_BUCKET:
    # Image previews load from the store's presigned URLs.
    _s3_endpoint = os.environ.get("ATTACHMENTS_S3_ENDPOINT_URL", "").strip().rstrip("/")
    CONTENT_SECURITY_POLICY["DIRECTIVES"]["img-src"].append(
        _s3_endpoint or "https://*.amazonaws.com"
    )

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    # No token, key or secret reaches a log line, whoever logged it (echo_site/log_redaction.py).
    "filters": {"redact": {"()": "echo_site.log_redaction.RedactSecrets"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["redact"]}
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.channels.server": {"level": "WARNING"},
        "daphne": {"level": "WARNING"},
        # stripe's DEBUG lines are whole API bodies (client secrets): INFO at most.
        "stripe": {"level": "INFO"},
    },
}
