"""cxloop settings: one module, everything from the environment.

Every variable is documented in docs/configuration.md. Defaults are safe for production (DEBUG off,
secure cookies when CXLOOP_HTTPS is on) and make `make run` work with no configuration at all:
SQLite under var/ and a secret key generated once and kept in var/secret_key.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import environ

from cxloop.config.env import (
    env_bool,
    env_float,
    env_int,
    env_list,
    env_secret,
    env_str,
)

VAR_DIR = Path(env_str("CXLOOP_VAR_DIR", str(Path.cwd() / "var"))).resolve()
VAR_DIR.mkdir(parents=True, exist_ok=True)


def _secret_key() -> str:
    """Use SECRET_KEY when given; otherwise keep one generated key in var/ so sessions survive restarts."""
    configured = env_secret("SECRET_KEY")
    if configured:
        return configured
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(64), encoding="utf-8")
        key_file.chmod(0o600)
    return key_file.read_text(encoding="utf-8").strip()


DEBUG = env_bool("DEBUG", False)
SECRET_KEY = _secret_key()
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

HTTPS = env_bool("CXLOOP_HTTPS", False)
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_SSL_REDIRECT = HTTPS and env_bool("CXLOOP_SSL_REDIRECT", True)
SECURE_HSTS_SECONDS = env_int("CXLOOP_HSTS_SECONDS", 31_536_000) if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS and env_bool("CXLOOP_HSTS_PRELOAD", False)
# HSTS preload is a commitment for the whole domain that is hard to undo, so it stays the operator's
# opt-in (CXLOOP_HSTS_PRELOAD) and the deployment check does not demand it.
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("CXLOOP_BEHIND_PROXY", False) else None
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = env_int("CXLOOP_SESSION_SECONDS", 12 * 3600)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "ninja",
    "django_htmx",
    "django_tasks",
    "django_tasks_db",
    "cxloop.core",
    "cxloop.accounts",
    "cxloop.privacy",
    "cxloop.events",
    "cxloop.customers",
    "cxloop.interactions",
    "cxloop.channels",
    "cxloop.channels.phone",
    "cxloop.messaging",
    "cxloop.cases",
    "cxloop.textanalytics",
    "cxloop.feedback",
    "cxloop.journeys",
    "cxloop.automation",
    "cxloop.portal",
    "cxloop.channels.sms",
    "cxloop.channels.whatsapp",
    "cxloop.channels.webchat",
    "cxloop.api",
    "cxloop.web",
    "cxloop.worker",
    "cxloop.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "cxloop.api.idempotency.IdempotencyMiddleware",
    "cxloop.api.method_not_allowed.MethodNotAllowedMiddleware",
]

ROOT_URLCONF = "cxloop.config.urls"
WSGI_APPLICATION = "cxloop.config.wsgi.application"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "web:login"
LOGIN_REDIRECT_URL = "web:home"
LOGOUT_REDIRECT_URL = "web:login"

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
                "cxloop.web.context.navigation",
            ],
        },
    },
]


def _database() -> dict[str, Any]:
    url = env_str("DATABASE_URL", "")
    if not url:
        config: dict[str, Any] = {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(VAR_DIR / "cxloop.sqlite3"),
        }
    else:
        config = environ.Env.db_url_config(url)
    if config["ENGINE"] == "django.db.backends.postgresql":
        config["ENGINE"] = "cxloop.core.postgresql"  # sends datetimes in UTC: core/postgresql/base.py says why
    if config["ENGINE"] == "django.db.backends.sqlite3":
        # WAL + IMMEDIATE transactions: readers never block the writer, writers queue instead of failing.
        config.setdefault("OPTIONS", {}).update(
            {
                "transaction_mode": "IMMEDIATE",
                "timeout": 30,
                "init_command": ("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=30000;"),
            }
        )
    config.setdefault("CONN_MAX_AGE", env_int("CXLOOP_CONN_MAX_AGE", 60))
    config.setdefault("CONN_HEALTH_CHECKS", True)
    config["ATOMIC_REQUESTS"] = False
    return config


DATABASES = {"default": _database()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(env_str("CXLOOP_STATIC_ROOT", str(VAR_DIR / "static")))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise warns on every start without it
MEDIA_ROOT = Path(env_str("CXLOOP_MEDIA_ROOT", str(VAR_DIR / "media")))
MEDIA_URL = "/media/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if env_bool("CXLOOP_STATIC_MANIFEST", True)
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("CXLOOP_LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        # The task worker logs each idle poll at INFO; task outcomes still log through "django_tasks".
        "django_tasks_db": {"level": "WARNING"},
    },
}

# --- cxloop domain settings -------------------------------------------------------------------
# Region used to read national phone numbers when neither the customer's country nor a hint says.
CXLOOP_DEFAULT_REGION = env_str("CXLOOP_DEFAULT_REGION", "GB").upper()
# When two customers share a *verified* identity, merge them automatically instead of suggesting.
CXLOOP_AUTO_MERGE_VERIFIED = env_bool("CXLOOP_AUTO_MERGE_VERIFIED", False)
# Splink pairs at or above this match probability become merge suggestions.
CXLOOP_DUPLICATE_THRESHOLD = env_float("CXLOOP_DUPLICATE_THRESHOLD", 0.9)
# Idempotency keys are remembered this long (hours).
CXLOOP_IDEMPOTENCY_HOURS = env_int("CXLOOP_IDEMPOTENCY_HOURS", 24)
# The URL staff use to reach this instance, for links in messages and CLI output.
CXLOOP_BASE_URL = env_str("CXLOOP_BASE_URL", "http://127.0.0.1:8000")

# --- Feedback (docs/feedback.md) -----------------------------------------------------------------
# Survey fatigue: at most one survey invitation per customer in this many days, whatever the survey (0: no limit).
CXLOOP_SURVEY_FATIGUE_DAYS = env_int("CXLOOP_SURVEY_FATIGUE_DAYS", 30)
# Web widget: websites sign who their visitor is with this secret (HMAC-SHA256); empty turns the widget off.
CXLOOP_SURVEY_WIDGET_SECRET = env_secret("CXLOOP_SURVEY_WIDGET_SECRET") or ""
# Websites (scheme://host[:port]) that may embed the survey widget; empty: those of CXLOOP_CHAT_ALLOWED_ORIGINS.
CXLOOP_SURVEY_WIDGET_ORIGINS = env_list("CXLOOP_SURVEY_WIDGET_ORIGINS", [])
# Widget requests per client address per minute (0: no limit).
CXLOOP_SURVEY_WIDGET_PER_MINUTE = env_int("CXLOOP_SURVEY_WIDGET_PER_MINUTE", 30)

# --- Website tracking snippet (docs/events.md, "Website tracking snippet") ------------------------
# Websites (scheme://host[:port]) whose pages may send events; empty: those of CXLOOP_CHAT_ALLOWED_ORIGINS.
CXLOOP_TRACKING_ORIGINS = env_list("CXLOOP_TRACKING_ORIGINS", [])
# Websites sign who their visitor is with this secret (HMAC-SHA256); empty: CXLOOP_SURVEY_WIDGET_SECRET's.
# Without either, page views are still taken but every identify is refused.
CXLOOP_TRACKING_SECRET = env_secret("CXLOOP_TRACKING_SECRET") or ""
# Event types a web page may send (a browser is anyone: it must not report purchases).
CXLOOP_TRACKING_EVENT_TYPES = env_list("CXLOOP_TRACKING_EVENT_TYPES", ["page.viewed"])
# Tracking requests per client address per minute (0: no limit).
CXLOOP_TRACKING_PER_MINUTE = env_int("CXLOOP_TRACKING_PER_MINUTE", 120)

# --- Text analytics (docs/text-analytics.md) -----------------------------------------------------
# Languages the language detection chooses among (ISO 639-1); fewer is more accurate on short texts and cheaper.
CXLOOP_TEXT_LANGUAGES = env_list("CXLOOP_TEXT_LANGUAGES", ["en", "de", "fr", "es", "nl", "it", "pt"])

# --- SMS and WhatsApp channels (docs/channels/sms-whatsapp.md) ----------------------------------
# Public https URL the providers reach this instance at (webhook signatures are computed over it and
# Twilio's StatusCallback is built from it). Empty: the URL of the request as Django sees it.
CXLOOP_PUBLIC_URL = env_str("CXLOOP_PUBLIC_URL", "").rstrip("/")
# Twilio (SMS): the channel is on when the account SID, auth token and a sender (number or service) are set.
CXLOOP_TWILIO_ACCOUNT_SID = env_str("CXLOOP_TWILIO_ACCOUNT_SID", "")
CXLOOP_TWILIO_AUTH_TOKEN = env_secret("CXLOOP_TWILIO_AUTH_TOKEN") or ""
CXLOOP_TWILIO_FROM = env_str("CXLOOP_TWILIO_FROM", "")
CXLOOP_TWILIO_MESSAGING_SERVICE_SID = env_str("CXLOOP_TWILIO_MESSAGING_SERVICE_SID", "")
CXLOOP_TWILIO_API_BASE = env_str("CXLOOP_TWILIO_API_BASE", "https://api.twilio.com").rstrip("/")
# WhatsApp Cloud API (Meta Graph): the channel is on when the token and phone number id are set.
CXLOOP_WHATSAPP_TOKEN = env_secret("CXLOOP_WHATSAPP_TOKEN") or ""
CXLOOP_WHATSAPP_APP_SECRET = env_secret("CXLOOP_WHATSAPP_APP_SECRET") or ""
CXLOOP_WHATSAPP_VERIFY_TOKEN = env_secret("CXLOOP_WHATSAPP_VERIFY_TOKEN") or ""
CXLOOP_WHATSAPP_PHONE_NUMBER_ID = env_str("CXLOOP_WHATSAPP_PHONE_NUMBER_ID", "")
CXLOOP_WHATSAPP_API_BASE = env_str("CXLOOP_WHATSAPP_API_BASE", "https://graph.facebook.com/v21.0").rstrip("/")

# Social networks through a bridge (docs/channels/social.md): the shared secret signs both directions.
CXLOOP_SOCIAL_WEBHOOK_SECRET = env_secret("CXLOOP_SOCIAL_WEBHOOK_SECRET") or ""
CXLOOP_SOCIAL_OUTBOUND_URL = env_str("CXLOOP_SOCIAL_OUTBOUND_URL", "")
# Webhooks cxloop calls (journey webhook steps, automation rule actions) are signed with this secret
# (X-Cxloop-Signature, as the social bridge's); empty sends them unsigned.
CXLOOP_OUTBOUND_WEBHOOK_SECRET = env_secret("CXLOOP_OUTBOUND_WEBHOOK_SECRET") or ""
# Automatic retries of an automation rule's webhook action after a transient failure (no answer, 408, 429, 5xx),
# after 1 min, 5 min, 30 min, 2 h, 6 h, then every 6 h (docs/automation.md, Retries); 0: no automatic retry.
CXLOOP_AUTOMATION_WEBHOOK_RETRIES = env_int("CXLOOP_AUTOMATION_WEBHOOK_RETRIES", 5)
# Largest inbound payload kept whole (an email with its attachments); larger ones are refused at the door.
CXLOOP_INBOUND_MAX_BYTES = env_int("CXLOOP_INBOUND_MAX_BYTES", 30 * 1024 * 1024)

# Conversations answered and then left silent by the customer this many days are closed (0: never).
CXLOOP_AUTO_CLOSE_WAITING_DAYS = env_int("CXLOOP_AUTO_CLOSE_WAITING_DAYS", 7)

# Cases: the customer attribute whose value is the customer's tier (SLA policies and routing match on it).
CXLOOP_CUSTOMER_TIER_ATTRIBUTE = env_str("CXLOOP_CUSTOMER_TIER_ATTRIBUTE", "tier")
# Promises: the owner is reminded this many minutes before a promise falls due; the customer's
# "what we promised you" link works this many days after it was issued.
CXLOOP_PROMISE_REMINDER_MINUTES = env_int("CXLOOP_PROMISE_REMINDER_MINUTES", 60)
CXLOOP_PROMISE_LINK_DAYS = env_int("CXLOOP_PROMISE_LINK_DAYS", 90)
# Repeat contacts: a customer coming back within this many days about the same matter (same category, or text at
# least this similar, 0..1; calibrated in docs/cases.md) is a repeat contact. Resolved cases close after
# CXLOOP_CASE_AUTO_CLOSE_DAYS (0: never); until then a customer's message reopens them.
CXLOOP_REPEAT_CONTACT_DAYS = env_int("CXLOOP_REPEAT_CONTACT_DAYS", 7)
CXLOOP_REPEAT_SIMILARITY = env_float("CXLOOP_REPEAT_SIMILARITY", 0.4)
CXLOOP_CASE_AUTO_CLOSE_DAYS = env_int("CXLOOP_CASE_AUTO_CLOSE_DAYS", 5)

# --- Email channel (docs/channels/email.md) ----------------------------------------------------
# Addresses the built-in SMTP server accepts mail for: "support@example.com" or "@example.com" for a
# whole domain. Empty: every recipient (fine behind a mail relay that only forwards ours).
CXLOOP_EMAIL_INBOUND_ADDRESSES = env_list("CXLOOP_EMAIL_INBOUND_ADDRESSES", [])
CXLOOP_SMTPD_HOST = env_str("CXLOOP_SMTPD_HOST", "127.0.0.1")
CXLOOP_SMTPD_PORT = env_int("CXLOOP_SMTPD_PORT", 2525)
# "queued": the SMTP server answers 250 once the raw message is kept, the worker processes it in batches;
# "inline": it parses, resolves and records each message before the 250 (docs/channels/email.md).
CXLOOP_SMTP_PROCESSING = env_str("CXLOOP_SMTP_PROCESSING", "queued")
CXLOOP_EMAIL_MAX_ATTACHMENT_BYTES = env_int("CXLOOP_EMAIL_MAX_ATTACHMENT_BYTES", 10 * 1024 * 1024)
# IMAP polling (off unless a host is set): the mailbox is read, never changed.
CXLOOP_IMAP_HOST = env_str("CXLOOP_IMAP_HOST", "")
CXLOOP_IMAP_PORT = env_int("CXLOOP_IMAP_PORT", 993)
CXLOOP_IMAP_USER = env_str("CXLOOP_IMAP_USER", "")
CXLOOP_IMAP_PASSWORD = env_secret("CXLOOP_IMAP_PASSWORD") or ""
CXLOOP_IMAP_FOLDER = env_str("CXLOOP_IMAP_FOLDER", "INBOX")
CXLOOP_IMAP_SSL = env_bool("CXLOOP_IMAP_SSL", True)
# Outbound mail: who it is from, where replies go, and how it leaves. With EMAIL_HOST set it goes
# through that SMTP server; without one it is written to var/outbox/ (nothing leaves the machine).
CXLOOP_EMAIL_FROM = env_str("CXLOOP_EMAIL_FROM", "Customer care <care@cxloop.localhost>")
CXLOOP_EMAIL_REPLY_TO = env_str("CXLOOP_EMAIL_REPLY_TO", "")
DEFAULT_FROM_EMAIL = CXLOOP_EMAIL_FROM
SERVER_EMAIL = CXLOOP_EMAIL_FROM
EMAIL_HOST = env_str("EMAIL_HOST", "")
EMAIL_PORT = env_int("EMAIL_PORT", 587 if env_bool("EMAIL_USE_TLS", False) else 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_secret("EMAIL_HOST_PASSWORD") or ""
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 30)
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend" if EMAIL_HOST else "django.core.mail.backends.filebased.EmailBackend",
)
EMAIL_FILE_PATH = str(VAR_DIR / "outbox")

# --- Outbound messaging (docs/messaging.md) --------------------------------------------------------
# Customer-local window in which marketing (and service sends that ask for it) waits; "off" disables.
CXLOOP_QUIET_HOURS = env_str("CXLOOP_QUIET_HOURS", "21:00-08:00")
# At most this many marketing messages per customer, across channels, in the period ("3/7d"; "off").
CXLOOP_MARKETING_CAP = env_str("CXLOOP_MARKETING_CAP", "3/7d")
# Attempts per message before a transient provider failure becomes "failed" (backoff 1, 5, 25 … minutes).
CXLOOP_SEND_MAX_ATTEMPTS = env_int("CXLOOP_SEND_MAX_ATTEMPTS", 5)
# How long a preference-centre link in a message keeps working.
CXLOOP_PREFERENCE_LINK_DAYS = env_int("CXLOOP_PREFERENCE_LINK_DAYS", 365)

# --- Web chat (docs/channels/webchat.md) -----------------------------------------------------------
# Websites (scheme://host[:port]) whose pages may embed the widget and call the visitor API; "*": any.
# This instance's own origin (the demo page) is always allowed.
CXLOOP_CHAT_ALLOWED_ORIGINS = env_list("CXLOOP_CHAT_ALLOWED_ORIGINS", [])
CXLOOP_CHAT_MAX_MESSAGE_CHARS = env_int("CXLOOP_CHAT_MAX_MESSAGE_CHARS", 4000)
# Rate limits (0 turns one off): new chats per client address per hour; messages and contact forms per
# chat per minute; and the same per client address per minute, across its chats.
CXLOOP_CHAT_SESSIONS_PER_HOUR = env_int("CXLOOP_CHAT_SESSIONS_PER_HOUR", 20)
CXLOOP_CHAT_MESSAGES_PER_MINUTE = env_int("CXLOOP_CHAT_MESSAGES_PER_MINUTE", 20)
CXLOOP_CHAT_IP_WRITES_PER_MINUTE = env_int("CXLOOP_CHAT_IP_WRITES_PER_MINUTE", 120)
# Server-Sent Events: off makes the widget poll. A stream holds a web thread, so it ends after this many
# seconds and the browser reconnects; the database is checked every INTERVAL seconds meanwhile.
CXLOOP_CHAT_SSE = env_bool("CXLOOP_CHAT_SSE", True)
CXLOOP_CHAT_STREAM_SECONDS = env_float("CXLOOP_CHAT_STREAM_SECONDS", 25.0)
CXLOOP_CHAT_STREAM_INTERVAL = env_float("CXLOOP_CHAT_STREAM_INTERVAL", 1.0)
CXLOOP_CHAT_STREAM_HEARTBEAT = env_float("CXLOOP_CHAT_STREAM_HEARTBEAT", 10.0)
# Open streams per web process at most (each holds one of its threads); over it, widgets poll instead.
CXLOOP_CHAT_MAX_STREAMS = env_int("CXLOOP_CHAT_MAX_STREAMS", 3)
# How long browsers may cache /chat/widget.js before revalidating it (seconds).
CXLOOP_CHAT_WIDGET_MAX_AGE = env_int("CXLOOP_CHAT_WIDGET_MAX_AGE", 3600)
