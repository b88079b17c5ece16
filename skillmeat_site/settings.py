"""Settings of the SkillMeat site, read from the environment through django-environ.

Every knob has a default that gives a working local site: SQLite and the storage root under
``SKILLMEAT_HOME`` (``~/.skillmeat``). See the README for the full list.
"""

from pathlib import Path

import environ
import orjson
from django.core.exceptions import ImproperlyConfigured
from django.core.management.utils import get_random_secret_key

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# A checkout's own .env (written by `make setup`: DEBUG=1 and a generated SECRET_KEY) lets
# manage.py run locally without exports; variables set in the environment always win.
if (BASE_DIR / ".env").is_file():
    environ.Env.read_env(BASE_DIR / ".env")

DEBUG = env.bool("DEBUG", default=False)

SKILLMEAT_HOME = Path(env.str("SKILLMEAT_HOME", default="~/.skillmeat")).expanduser().resolve()

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set: set it in the environment (a random key is made for you only "
            "when DEBUG is on)."
        )
    SECRET_KEY = get_random_secret_key()

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "artifacts",
    "importer",  # before django_tasks_db: its db_worker adds the import lease keeper
    "deploy",
    "django_tasks",
    "django_tasks_db",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "artifacts.api.errors.ApiErrorMiddleware",
]

ROOT_URLCONF = "skillmeat_site.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "skillmeat_site" / "templates"],
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

WSGI_APPLICATION = "skillmeat_site.wsgi.application"

# The database: SQLite under SKILLMEAT_HOME unless DATABASE_URL names another one.
SQLITE_BUSY_TIMEOUT_SECONDS = env.int("SQLITE_BUSY_TIMEOUT_SECONDS", default=30)
# Each connection's page cache (SQLite's default is 2 MiB): a 30,000-artifact collection's
# hot tables and indexes fit, so lists and imports do not re-read pages from the OS.
SQLITE_CACHE_KIB = env.int("SQLITE_CACHE_KIB", default=65536)
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{SKILLMEAT_HOME / 'db.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    if DATABASES["default"]["NAME"] != ":memory:":
        Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    # WAL lets readers run beside the one writer; IMMEDIATE takes the write lock when a
    # transaction opens, so two writers queue on the busy timeout instead of failing later.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": SQLITE_BUSY_TIMEOUT_SECONDS,
        # A checkpoint every 10,000 pages (40 MiB of WAL) rather than 1,000: a page written
        # by many imports is copied back once, and a large collection's imports stay flat.
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA wal_autocheckpoint=10000;"
            f" PRAGMA cache_size=-{SQLITE_CACHE_KIB};"
        ),
    }
# A connection lives across requests (each worker process holds one): its page cache stays
# warm, where a connection per request would read every page of a large list again.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=600)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(SKILLMEAT_HOME / "static")))

# Import limits (DESIGN section 2). Archives and plugin directories above them are rejected.
SKILLMEAT_MAX_TOTAL_BYTES = env.int("SKILLMEAT_MAX_TOTAL_BYTES", default=512 * 1024 * 1024)
SKILLMEAT_MAX_FILE_BYTES = env.int("SKILLMEAT_MAX_FILE_BYTES", default=64 * 1024 * 1024)
SKILLMEAT_MAX_FILES = env.int("SKILLMEAT_MAX_FILES", default=20_000)
SKILLMEAT_MAX_DEPTH = env.int("SKILLMEAT_MAX_DEPTH", default=32)
# An import keeps the bytes it hashes in memory up to this much per plugin (files up to 1 MiB
# each); larger files, and what is past the budget, are staged in $SKILLMEAT_HOME/tmp/.
SKILLMEAT_STAGING_MEMORY_BYTES = env.int("SKILLMEAT_STAGING_MEMORY_BYTES", default=64 * 1024 * 1024)
# A marketplace import plans its next plugins in forked processes while it writes one (Linux).
SKILLMEAT_PLAN_AHEAD = env.bool("SKILLMEAT_PLAN_AHEAD", default=True)
# verify_collection --repair removes unneeded blobs and tmp/ leftovers only once they are older
# than this (an import running right now may still need them).
SKILLMEAT_REPAIR_GRACE_SECONDS = env.int("SKILLMEAT_REPAIR_GRACE_SECONDS", default=3600)

# Object storage (DESIGN section 6): "" keeps blobs in $SKILLMEAT_HOME/objects; s3://bucket/prefix
# keeps them in an S3-compatible bucket (credentials and endpoint: the AWS_* settings below).
SKILLMEAT_BLOB_STORAGE = env.str("SKILLMEAT_BLOB_STORAGE", default="")
AWS_S3_ENDPOINT_URL = env.str("AWS_S3_ENDPOINT_URL", default=None)
AWS_S3_REGION_NAME = env.str(
    "AWS_S3_REGION_NAME", default=env.str("AWS_DEFAULT_REGION", default=None)
)
AWS_ACCESS_KEY_ID = env.str("AWS_ACCESS_KEY_ID", default=None)
AWS_SECRET_ACCESS_KEY = env.str("AWS_SECRET_ACCESS_KEY", default=None)
# The type-folder views under collections/ (a local convenience; off on a team server).
SKILLMEAT_VIEWS = env.bool("SKILLMEAT_VIEWS", default=True)

# Background imports (DESIGN section 7): "immediate" runs an import in the request (the quick
# start); "database" queues it for `manage.py db_worker` processes.
SKILLMEAT_TASKS_BACKEND = env.str("SKILLMEAT_TASKS_BACKEND", default="immediate")
TASKS = {
    "default": {
        "BACKEND": (
            "django_tasks_db.DatabaseBackend"
            if SKILLMEAT_TASKS_BACKEND == "database"
            else "django_tasks.backends.immediate.ImmediateBackend"
        ),
        "QUEUES": ["default"],
    }
}
# A running import renews its lease this often; a worker marks an import whose lease ran out
# (its worker died) failed.
SKILLMEAT_IMPORT_LEASE_SECONDS = env.int("SKILLMEAT_IMPORT_LEASE_SECONDS", default=90)

# The owner named by the collections' marketplace.json (DESIGN section 12).
SKILLMEAT_MARKETPLACE_OWNER = env.str("SKILLMEAT_MARKETPLACE_OWNER", default="SkillMeat")

# Remote sources (DESIGN section 11): git repositories and archive URLs.
SKILLMEAT_FETCH_TIMEOUT = env.float("SKILLMEAT_FETCH_TIMEOUT", default=120.0)
# Fetch the remote entries of a local marketplace without --remote.
SKILLMEAT_FETCH_REMOTE = env.bool("SKILLMEAT_FETCH_REMOTE", default=False)
# The hosts the API and the admin fetch from (https only, public addresses only).
SKILLMEAT_REMOTE_HOSTS = env.list(
    "SKILLMEAT_REMOTE_HOSTS", default=["github.com", "gitlab.com", "bitbucket.org"]
)

# Production hardening: on unless DEBUG, each switchable for a site behind a TLS proxy.
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
if env.bool("SECURE_PROXY_SSL_HEADER", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

LOG_FORMAT = env.str("LOG_FORMAT", default="text")
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
if LOG_FORMAT not in ("text", "json"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be 'text' or 'json', not {LOG_FORMAT!r}")
LOGGING_CONFIG = "skillmeat_site.logconfig.configure"
LOGGING = {"format": LOG_FORMAT, "level": LOG_LEVEL}

REST_FRAMEWORK = {
    # Token first: a request without credentials gets 401 with WWW-Authenticate: Token.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "artifacts.api.pagination.Pagination",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "artifacts.api.errors.api_exception_handler",
    # orjson writes a page of a thousand rows in a tenth of the standard encoder's time; the
    # options keep DRF's forms (UTC as Z, non-string keys as strings).
    "DEFAULT_RENDERER_CLASSES": [
        "drf_orjson_renderer.renderers.ORJSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "ORJSON_RENDERER_OPTIONS": (orjson.OPT_UTC_Z, orjson.OPT_NON_STR_KEYS),
}

SPECTACULAR_SETTINGS = {
    "TITLE": "SkillMeat site API",
    "DESCRIPTION": (
        "A collection of Claude Code artifacts (skills, commands, agents, hooks, MCP servers) "
        "and the plugins that bundle them, with content-hash deduplication. Authenticate with "
        "`Authorization: Token <key>` (or a session). Errors share one shape: "
        '`{"detail", "code", "errors": [{"path", "rule", "message"}]}`.'
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "artifacts.api.schema.add_error_responses",
    ],
    "ENUM_NAME_OVERRIDES": {
        "ArtifactTypeEnum": "artifacts.models.ArtifactType",
        "DedupDecisionEnum": "importer.results.DedupDecision",
    },
}
