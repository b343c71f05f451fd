"""Django settings for Targetline, read from environment variables, top to bottom, once.

With no variable set, everything runs without any service: SQLite and a filesystem Celery
broker under var/, email printed to the console (`manage.py quickstart` creates var/ and
its files; settings never write anything). Set DATABASE_URL, CELERY_BROKER_URL and the
EMAIL_* variables for production. Every helper below fails loudly on a value it cannot
read: a typo in a deployment should stop the server at start-up, not surface as odd
behaviour.
"""

import importlib.util
import os
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def envstr(name: str, default: str) -> str:
    return os.environ.get(name, default)


def envbool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be one of true/false/1/0/yes/no, not {raw!r}")


def envint(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, not {raw!r}") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, not {value}")
    return value


def envlist(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def _file_text(path: Path) -> str:
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        return ""


# Where the quick start keeps its database, broker folders, artifacts and secret key.
VAR_DIR = Path(envstr("TARGETLINE_VAR_DIR", str(BASE_DIR / "var")))
# The quick start's per-installation key (written once by `manage.py quickstart`), so sessions
# survive restarts without anyone having to invent a secret. Production sets SECRET_KEY.
SECRET_KEY_FILE = VAR_DIR / "secret_key"

DEBUG = envbool("DEBUG", False)
SECRET_KEY = envstr("SECRET_KEY", "") or _file_text(SECRET_KEY_FILE)
ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",  # counts failed sign-ins and refuses them past a limit (below)
    "tracker",
    "reports",
    "api",
    "web",  # the browser UI: static files and template tags (templates under templates/web/)
]

MIDDLEWARE = [
    # Times every request for GET /metrics, first so that it times all of them.
    "api.operations.RequestLatencyMiddleware",
    # The security headers, before the lane, so that MLflow's answers carry them too.
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "api.mlflow.lane.MlflowLane",  # MLflow's API calls: straight to their endpoint
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "api.middleware.GzipRequestMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "axes.middleware.AxesMiddleware",  # a refused sign-in becomes its 429 page (web/lockout.py)
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
            ],
        },
    },
]


# --- Database -------------------------------------------------------------------------------
def _database(url: str) -> dict:
    if not url:
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "targetline.sqlite3",
            # WAL lets the web server read while the worker writes.
            "OPTIONS": {
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
            },
        }
    try:
        database = dj_database_url.parse(url, conn_max_age=60)
    except Exception as exc:  # dj_database_url raises several types for a bad URL
        raise ImproperlyConfigured(f"DATABASE_URL could not be read: {exc}") from None
    if database["ENGINE"] == "django.db.backends.postgresql":
        # Server-side prepared statements for the queries that run on every request (token,
        # run, the logging statements: tracker.hot_sql), from their 5th use on a connection:
        # PostgreSQL then skips parsing and planning them. Django turns them off for
        # connection poolers; PgBouncer in transaction mode needs max_prepared_statements
        # (1.21+), or DATABASE_PREPARED_STATEMENTS=false.
        database.setdefault("OPTIONS", {})["prepare_threshold"] = (
            5 if envbool("DATABASE_PREPARED_STATEMENTS", True) else None)
    return database


DATABASE_URL = envstr("DATABASE_URL", "")
DATABASES = {"default": _database(DATABASE_URL)}
# While PostgreSQL restarts or has no connection left, requests are answered 503 with this
# Retry-After, in seconds (tracker/database.py). The MLflow client waits exactly that long
# between its 7 retries, so it rides out an outage of about 7 times this.
DATABASE_RETRY_AFTER = envint("DATABASE_RETRY_AFTER", 5, minimum=1)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# A read replica of the primary (PostgreSQL streaming replication), for the pages' GETs and
# the assembly of check-in reports (tracker/replica.py, web/replica.py): reads that do not
# follow their own writes. Ingest, the API and every write stay on the primary.
DATABASE_REPLICA_URL = envstr("DATABASE_REPLICA_URL", "")
# After a POST, that browser's pages read the primary for this long: more than the
# replica's usual lag, so the page after a change shows it.
DATABASE_REPLICA_PIN_SECONDS = envint("DATABASE_REPLICA_PIN_SECONDS", 10, minimum=0)
if DATABASE_REPLICA_URL:
    if not DATABASE_URL:
        raise ImproperlyConfigured("DATABASE_REPLICA_URL needs DATABASE_URL: a replica of "
                                   "the embedded SQLite database cannot be")
    # In tests the alias is the primary's database itself.
    DATABASES["replica"] = {**_database(DATABASE_REPLICA_URL), "TEST": {"MIRROR": "default"}}
    DATABASE_ROUTERS = ["config.database_router.ReplicaRouter"]
    MIDDLEWARE.insert(MIDDLEWARE.index("django.contrib.sessions.middleware.SessionMiddleware"),
                      "web.replica.ReplicaReadsMiddleware")

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/login/"

# --- HTTPS and cookies ------------------------------------------------------------------------
# Behind a reverse proxy that terminates TLS (docs/operations.md#https-and-host-names),
# HTTPS=true trusts the proxy's X-Forwarded-Proto, redirects plain HTTP, sends HSTS and makes
# the session and CSRF cookies Secure. Off by default: the quick start is plain HTTP on
# localhost, where a browser would never send a Secure cookie back.
HTTPS = envbool("HTTPS", False)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if HTTPS else None
SECURE_SSL_REDIRECT = HTTPS
# The health checks and metrics answer on plain HTTP too, for load balancers and Prometheus
# inside the network.
SECURE_REDIRECT_EXEMPT = [r"^api/v1/$", r"^healthz$", r"^readyz$", r"^metrics$"]
SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", 31_536_000 if HTTPS else 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = envbool("SECURE_HSTS_PRELOAD", False)
# Preloading ships a domain's HTTPS-only rule inside browsers, for the whole registrable
# domain and for months after a change of mind: a decision for whoever owns the domain, not a
# default for one server on it. Django's deployment check asks for it; it is off until set.
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = HTTPS
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True  # no script reads it: every form carries the token itself

# --- Failed sign-ins and token checks ---------------------------------------------------------
# Counted per account and per client address, and refused with 429 and Retry-After past a
# limit (docs/operations.md#failed-sign-ins-and-tokens). Sign-ins (/login/, /admin/login/):
# django-axes, in the database; the LOGIN_FAILURE_LIMIT-th failure in a row and every attempt
# after it, right password or not, are refused until LOGIN_LOCKOUT_SECONDS pass without one.
# Token checks (v1 and MLflow APIs): api/throttle.py, in the cache; a valid token is never
# refused, and is not slowed by a single extra step.
PROXY_COUNT = envint("PROXY_COUNT", 0, minimum=0)  # reverse proxies adding X-Forwarded-For
LOGIN_FAILURE_LIMIT = envint("LOGIN_FAILURE_LIMIT", 10, minimum=1)
LOGIN_LOCKOUT_SECONDS = envint("LOGIN_LOCKOUT_SECONDS", 900, minimum=1)
TOKEN_FAILURE_LIMIT = envint("TOKEN_FAILURE_LIMIT", 20, minimum=1)
TOKEN_FAILURE_WINDOW = envint("TOKEN_FAILURE_WINDOW", 60, minimum=1)  # seconds
AUTHENTICATION_BACKENDS = [
    "web.lockout.LockoutBackend",  # refuses a locked-out sign-in before its password is checked
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = LOGIN_FAILURE_LIMIT
AXES_COOLOFF_TIME = timedelta(seconds=LOGIN_LOCKOUT_SECONDS)
# Per account and per address, each on its own (by address only for single sign-on).
AXES_LOCKOUT_PARAMETERS = "web.lockout.lockout_parameters"
AXES_CLIENT_IP_CALLABLE = "api.throttle.client_address"
AXES_LOCKOUT_CALLABLE = "web.lockout.locked_out"
AXES_DISABLE_ACCESS_LOG = True  # failures are what is counted; sign-ins are not logged
# Its warnings name the account and address (as the web server's access log does), so that
# whoever reads the log can tell who is attacked from where; passwords are never logged.
AXES_SENSITIVE_PARAMETERS = []

# --- Single sign-on (OpenID Connect) -----------------------------------------------------------
# Off until OIDC_CLIENT_ID is set (docs/operations.md#single-sign-on); then the sign-in page
# offers "Sign in with OIDC_BUTTON_LABEL" beside the password form (web/sso.py). The
# provider's endpoints come from OIDC_ISSUER's discovery document, read at the first
# sign-in; an OIDC_OP_*_ENDPOINT variable overrides one of them, or all four replace it.
OIDC_RP_CLIENT_ID = envstr("OIDC_CLIENT_ID", "")
OIDC_RP_CLIENT_SECRET = envstr("OIDC_CLIENT_SECRET", "")
OIDC_ISSUER = envstr("OIDC_ISSUER", "")
OIDC_OP_AUTHORIZATION_ENDPOINT = envstr("OIDC_OP_AUTHORIZATION_ENDPOINT", "")
OIDC_OP_TOKEN_ENDPOINT = envstr("OIDC_OP_TOKEN_ENDPOINT", "")
OIDC_OP_USER_ENDPOINT = envstr("OIDC_OP_USER_ENDPOINT", "")
OIDC_OP_JWKS_ENDPOINT = envstr("OIDC_OP_JWKS_ENDPOINT", "")
# Empty: any address the provider vouches for; else only these domains (exactly, no subdomain).
OIDC_ALLOWED_EMAIL_DOMAINS = [domain.lower().lstrip("@")
                              for domain in envlist("OIDC_ALLOWED_EMAIL_DOMAINS", [])]
OIDC_BUTTON_LABEL = envstr("OIDC_BUTTON_LABEL", "single sign-on")
SSO_ENABLED = bool(OIDC_RP_CLIENT_ID)
_SSO_ENDPOINTS = {name: globals()[name] for name in (
    "OIDC_OP_AUTHORIZATION_ENDPOINT", "OIDC_OP_TOKEN_ENDPOINT", "OIDC_OP_USER_ENDPOINT",
    "OIDC_OP_JWKS_ENDPOINT")}
if SSO_ENABLED:
    if not OIDC_RP_CLIENT_SECRET:
        raise ImproperlyConfigured("OIDC_CLIENT_SECRET must be set with OIDC_CLIENT_ID")
    _missing = [name for name, value in _SSO_ENDPOINTS.items() if not value]
    if not OIDC_ISSUER and _missing:
        raise ImproperlyConfigured("single sign-on needs OIDC_ISSUER (its endpoints are "
                                   f"discovered), or else {', '.join(_missing)}")
    AUTHENTICATION_BACKENDS.append("web.sso.SsoBackend")
elif OIDC_ISSUER or OIDC_RP_CLIENT_SECRET or any(_SSO_ENDPOINTS.values()):
    raise ImproperlyConfigured("single sign-on is configured but OIDC_CLIENT_ID is not set")
OIDC_RP_SIGN_ALGO = "RS256"  # ID tokens signed by a key of the provider's JWKS, nothing else
OIDC_RP_SCOPES = "openid email profile"  # profile: preferred_username, for a new user's name
OIDC_USE_PKCE = True
OIDC_TIMEOUT = 10  # seconds per call to the provider

# --- Cache ------------------------------------------------------------------------------------
# It holds the failed token checks' counts, which every web process on every machine must
# share: by default in the database (`migrate` creates the table), so nothing more has to
# run; CACHE_URL=redis://… keeps them in Redis instead.
CACHE_URL = envstr("CACHE_URL", "")
if CACHE_URL.startswith(("redis://", "rediss://")):
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                          "LOCATION": CACHE_URL, "KEY_PREFIX": "targetline"}}
elif CACHE_URL:
    raise ImproperlyConfigured(f"CACHE_URL must be a redis:// URL, or empty, not {CACHE_URL!r}")
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache",
                          "LOCATION": "targetline_cache",  # api/migrations/0001_cache_table.py
                          "OPTIONS": {"MAX_ENTRIES": 10_000}}}

LANGUAGE_CODE = "en-us"
TIME_ZONE = envstr("TIME_ZONE", "UTC")
USE_I18N = False
USE_TZ = True

# --- Static files and artifacts ---------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
# plotly.js comes from the plotly package and is served by this server as
# /static/plotly/plotly.min.js: the pages never load a CDN.
STATICFILES_DIRS = [
    ("plotly", Path(importlib.util.find_spec("plotly").origin).parent / "package_data"),
]
WHITENOISE_USE_FINDERS = True  # serve straight from app folders without collectstatic
MEDIA_ROOT = Path(envstr("ARTIFACT_ROOT", str(VAR_DIR / "artifacts")))
MEDIA_URL = "/media/"


def artifact_storages(url: str) -> dict:
    """STORAGES for run artifacts and report PDFs, one storage for all: the folder MEDIA_ROOT
    when `url` is empty, else the bucket and prefix of `s3://bucket/prefix` in any
    S3-compatible store, reached with the AWS_* variables boto3 knows (credentials left
    unset are looked for where boto3 looks: ~/.aws, an instance role)."""
    static = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
    if not url:
        return {"default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
                "staticfiles": static}
    parts = urlsplit(url)
    if parts.scheme != "s3" or not parts.netloc or parts.query or parts.fragment:
        raise ImproperlyConfigured(f"ARTIFACT_STORAGE_URL must look like s3://bucket/prefix "
                                   f"(or be empty for the folder ARTIFACT_ROOT), not {url!r}")
    options = {
        "bucket_name": parts.netloc,
        "location": parts.path.strip("/"),
        "endpoint_url": envstr("AWS_ENDPOINT_URL", "") or None,  # e.g. http://minio:9000
        "region_name": envstr("AWS_DEFAULT_REGION", "") or None,
        "access_key": envstr("AWS_ACCESS_KEY_ID", "") or None,
        "secret_key": envstr("AWS_SECRET_ACCESS_KEY", "") or None,
    }
    return {"default": {"BACKEND": "tracker.storage.S3ArtifactStorage", "OPTIONS": options},
            "staticfiles": static}


# Empty: the folder above, which every web and worker machine must then share. s3://…: a
# bucket in any S3-compatible store (AWS S3, MinIO, Ceph, …), so that no machine shares one.
ARTIFACT_STORAGE_URL = envstr("ARTIFACT_STORAGE_URL", "")
STORAGES = artifact_storages(ARTIFACT_STORAGE_URL)
DATA_UPLOAD_MAX_MEMORY_SIZE = envint("DATA_UPLOAD_MAX_MEMORY_SIZE", 64 * 1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = 8 * 1024 * 1024

# --- REST API ---------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "api.auth.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": [
        "api.parsers.LenientJSONParser",
        "api.parsers.CheckedFormParser",
        "api.parsers.CheckedMultiPartParser",
    ],
    "DEFAULT_RENDERER_CLASSES": [
        "api.renderers.StrictJSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "EXCEPTION_HANDLER": "api.errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    # api/routes.py binds one view per operation: only this generator reads it.
    "DEFAULT_GENERATOR_CLASS": "api.schema.OperationSchemaGenerator",
    "TITLE": "Targetline API",
    "DESCRIPTION": (
        "Experiment tracking with one agreed target per project. "
        "Authenticate with `Authorization: Bearer <token>` "
        "(create one with `python manage.py createtoken USERNAME`)."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # The docs page ends with every operation; the ~70 shapes they use stay inside them.
    "SWAGGER_UI_SETTINGS": {"defaultModelsExpandDepth": -1},
}

# --- Trash ------------------------------------------------------------------------------------
# Deleted runs, experiments and projects stay restorable this many days, then are purged
# with their points and artifact files (tracker.services.trash, checked every
# TRASH_PURGE_INTERVAL seconds).
TRASH_DAYS = envint("TRASH_DAYS", 30, minimum=1)
TRASH_PURGE_INTERVAL = envint("TRASH_PURGE_INTERVAL", 3600, minimum=60)  # seconds

# --- Invitations ------------------------------------------------------------------------------
# An emailed invitation link (tracker.services.invitations) works once, for this many days.
INVITATION_DAYS = envint("INVITATION_DAYS", 7, minimum=1)
# Password-reset links (Django's) work this long, in seconds (Django's default: 3 days).
PASSWORD_RESET_TIMEOUT = envint("PASSWORD_RESET_TIMEOUT", 3 * 24 * 3600, minimum=60)

# --- Check-in reports -------------------------------------------------------------------------
# Schedules live in reports.CheckIn (cadence, local time, IANA time zone). One periodic
# dispatcher, run by beat every REPORT_DISPATCH_INTERVAL seconds, creates the reports that
# are due and hands stalled work (a killed worker, a lost message) to another worker.
REPORT_QUEUE = envstr("REPORT_QUEUE", "celery")  # the queue every reports task goes to
REPORT_DISPATCH_INTERVAL = envint("REPORT_DISPATCH_INTERVAL", 30, minimum=1)  # seconds
# How long a worker owns a report's next step before another may take it over.
REPORT_LEASE_SECONDS = envint("REPORT_LEASE_SECONDS", 300, minimum=1)
REPORT_MAX_RENDER_ATTEMPTS = envint("REPORT_MAX_RENDER_ATTEMPTS", 5, minimum=1)
# SMTP failures are retried after REPORT_SMTP_RETRY_DELAY seconds, doubling each time.
REPORT_SMTP_MAX_ATTEMPTS = envint("REPORT_SMTP_MAX_ATTEMPTS", 6, minimum=1)
REPORT_SMTP_RETRY_DELAY = envint("REPORT_SMTP_RETRY_DELAY", 60, minimum=1)
REPORT_CHART_TIMEOUT = envint("REPORT_CHART_TIMEOUT", 60, minimum=1)  # seconds per chart export

# --- Webhooks ---------------------------------------------------------------------------------
# The address people reach this server at, for the links in notifications (and anything else
# read outside the browser): scheme, host and port, no trailing slash needed.
PUBLIC_BASE_URL = envstr("PUBLIC_BASE_URL", "http://localhost:8000").rstrip("/")
# Webhook addresses in private, loopback, link-local, multicast or reserved ranges are
# refused (a request forgery against the server's own network) unless this is true.
WEBHOOK_ALLOW_PRIVATE = envbool("WEBHOOK_ALLOW_PRIVATE", False)
# A failed post is retried after WEBHOOK_RETRY_DELAY seconds, doubling each time (at most an
# hour), until WEBHOOK_MAX_ATTEMPTS attempts; each waits WEBHOOK_TIMEOUT seconds at most.
WEBHOOK_MAX_ATTEMPTS = envint("WEBHOOK_MAX_ATTEMPTS", 6, minimum=1)
WEBHOOK_RETRY_DELAY = envint("WEBHOOK_RETRY_DELAY", 30, minimum=1)
WEBHOOK_TIMEOUT = envint("WEBHOOK_TIMEOUT", 10, minimum=1)

# --- Celery -----------------------------------------------------------------------------------
CELERY_BROKER_URL = envstr("CELERY_BROKER_URL", "filesystem://")
# kombu's filesystem transport, the zero-service default, keeps its messages in these
# folders (kombu does not create them: `manage.py quickstart` does).
CELERY_DATA_DIR = VAR_DIR / "celery"
CELERY_FILESYSTEM_FOLDERS = {name: CELERY_DATA_DIR / name
                             for name in ("queue", "processed", "control", "results")}
if CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_FILESYSTEM_FOLDERS["queue"]),
        "data_folder_out": str(CELERY_FILESYSTEM_FOLDERS["queue"]),
        "processed_folder": str(CELERY_FILESYSTEM_FOLDERS["processed"]),
        "control_folder": str(CELERY_FILESYSTEM_FOLDERS["control"]),
        "store_processed": False,
        "polling_interval": 0.1,
    }
    _default_result_backend = f"file://{CELERY_FILESYSTEM_FOLDERS['results']}"
elif CELERY_BROKER_URL.startswith("redis"):
    _default_result_backend = CELERY_BROKER_URL
else:
    _default_result_backend = ""
CELERY_RESULT_BACKEND = envstr("CELERY_RESULT_BACKEND", "") or _default_result_backend
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = "UTC"
CELERY_TASK_ALWAYS_EAGER = envbool("CELERY_TASK_ALWAYS_EAGER", False)
# The check-in dispatcher and the purge of the trash. Each expires after one interval, so
# a beat that ran while no worker did leaves no pile of them.
CELERY_BEAT_SCHEDULE = {
    "reports-dispatch-checkins": {
        "task": "reports.tasks.dispatch_checkins",
        "schedule": float(REPORT_DISPATCH_INTERVAL),
        "options": {"queue": REPORT_QUEUE, "expires": REPORT_DISPATCH_INTERVAL},
    },
    # Runs, experiments and projects in the trash longer than TRASH_DAYS are purged.
    "tracker-purge-trash": {
        "task": "reports.tasks.purge_trash",
        "schedule": float(TRASH_PURGE_INTERVAL),
        "options": {"queue": REPORT_QUEUE, "expires": TRASH_PURGE_INTERVAL},
    },
}

# --- Email ------------------------------------------------------------------------------------
EMAIL_HOST = envstr("EMAIL_HOST", "")
# Without EMAIL_HOST, emails are printed (headers, text, one line per attachment rather than
# its base64: reports/console_mail.py) instead of sent.
EMAIL_BACKEND = envstr(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "reports.console_mail.EmailBackend",
)
EMAIL_PORT = envint("EMAIL_PORT", 25)
EMAIL_HOST_USER = envstr("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = envstr("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = envbool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = envbool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = envint("EMAIL_TIMEOUT", 30)
DEFAULT_FROM_EMAIL = envstr("DEFAULT_FROM_EMAIL", "Targetline <targetline@localhost>")

# --- Operations -------------------------------------------------------------------------------
# GET /metrics (api/operations.py) answers only `Authorization: Bearer <METRICS_TOKEN>` when
# it is set; open (like /healthz and /readyz) when empty, for a Prometheus on a private network.
METRICS_TOKEN = envstr("METRICS_TOKEN", "")

# --- Logging ----------------------------------------------------------------------------------
# LOG_FORMAT=json: one JSON object per line (time, level, logger, message, and the request or
# task fields known; config/logs.py), for the web server, gunicorn and the worker alike.
LOG_FORMAT = envstr("LOG_FORMAT", "text").strip().lower()
if LOG_FORMAT not in ("text", "json"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be text or json, not {LOG_FORMAT!r}")
LOGGING_CONFIG = "config.logs.configure"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "config.logs.JsonLines"}},
    "handlers": {"console": {"class": "logging.StreamHandler",
                             **({"formatter": "json"} if LOG_FORMAT == "json" else {})}},
    "root": {"handlers": ["console"], "level": envstr("LOG_LEVEL", "INFO")},
    "loggers": {
        # PDF rendering and chart export log every page and every export at INFO.
        "weasyprint": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
        "kaleido": {"level": "WARNING"},
        "choreographer": {"level": "WARNING"},
        "axes": {"level": "WARNING"},  # its failures and lockouts, not its start-up banner
    },
}
