"""Django settings for Jicai: one file, typed environment variables, safe local defaults."""

import os
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("JICAI_DATA_DIR", BASE_DIR / "data"))


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


def local_secret_key(data_dir: Path) -> str:
    """The random key of this data folder, generated on first use into `<data folder>/secret_key` (0600).

    Written to a private temporary file and then hard-linked into place, so two processes starting at once
    both end up with the one key that won, never a half-written file."""
    import secrets

    path = data_dir / "secret_key"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        temporary = data_dir / f".secret_key.{os.getpid()}.{secrets.token_hex(4)}"
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_urlsafe(50))
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass  # another process was first: use its key
        finally:
            temporary.unlink()
    return path.read_text().strip()


DEBUG = env_bool("JICAI_DEBUG", False)
# JICAI_ENV=production marks a real deployment: there the key must come from JICAI_SECRET_KEY (a key kept
# in the data folder would travel with backups and copies). Anything else is local or demo use.
PRODUCTION = os.environ.get("JICAI_ENV", "local").strip().lower() == "production"
_key_from_env = os.environ.get("JICAI_SECRET_KEY", "").strip()
# In production without a key SECRET_KEY stays empty: Django refuses to sign anything with it, and
# `jicai serve` / the WSGI entry point stop with SECRET_KEY_MISSING_MESSAGE before serving a request.
SECRET_KEY_MISSING = PRODUCTION and not _key_from_env
SECRET_KEY_MISSING_MESSAGE = (
    "生产模式（JICAI_ENV=production）必须设置环境变量 JICAI_SECRET_KEY（至少 50 个随机字符），服务未启动"
)
SECRET_KEY = _key_from_env or ("" if PRODUCTION else local_secret_key(DATA_DIR))
ALLOWED_HOSTS = [
    h for h in os.environ.get("JICAI_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",") if h
]
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("JICAI_CSRF_TRUSTED_ORIGINS", "").split(",") if o]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "axes",
    "django_tasks",
    "django_tasks_db",
    "jicai.core",
    "jicai.policy",
    "jicai.registry",
    "jicai.batches",
    "jicai.accounts",
    "jicai.demand",
    "jicai.agreements",
    "jicai.trade",
    "jicai.tickets",
    "jicai.monitoring",
    "jicai.national",
    "jicai.hospital",
    "jicai.prescribing",
    "jicai.funds",
    "jicai.compliance",
    "jicai.ingest",
    "jicai.demo",
    "jicai.web",
    "jicai.home",
    "jicai.api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "jicai.core.middleware.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "jicai.core.middleware.SessionRefreshMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "jicai.accounts.middleware.RoleAreaMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "jicai.urls"
WSGI_APPLICATION = "jicai.wsgi.application"

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
                "jicai.web.context.navigation",
            ],
        },
    },
]

DATA_DIR.mkdir(parents=True, exist_ok=True)
DATABASE_URL = os.environ.get("DATABASE_URL") or f"sqlite:///{DATA_DIR / 'jicai.sqlite3'}"
DATABASES = {
    "default": dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("JICAI_DB_CONN_MAX_AGE", 60))
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web app read while a long import or monitoring run writes.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=30000;"
        " PRAGMA foreign_keys=ON; PRAGMA cache_size=-64000; PRAGMA temp_store=MEMORY;",
        "transaction_mode": "IMMEDIATE",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
# PostgreSQL sessions of the web processes (jicai/wsgi.py sets JICAI_WEB): pages and API calls run short
# index lookups, so no JIT (compiling costs tens of milliseconds once a plan's estimate passes
# jit_above_cost, which province-sized lists do) and random reads priced as on SSD (random_page_cost 1.1
# instead of the spinning-disk 4: a company's deliveries are counted through the (line, day) index, 51 ms
# instead of a 199 ms hash join over every delivery at medium scale). Batch commands (demo, monitoring,
# imports) keep the server's defaults. JICAI_PG_OPTIONS overrides the string.
WEB_PG_OPTIONS = os.environ.get("JICAI_PG_OPTIONS", "-c jit=off -c random_page_cost=1.1")
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and os.environ.get("JICAI_WEB"):
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = WEB_PG_OPTIONS
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.Argon2PasswordHasher"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "web:login"
LOGIN_REDIRECT_URL = "home:home"
LOGOUT_REDIRECT_URL = "web:login"

# Login throttling: lock a username+IP after 5 failures for 15 minutes.
AXES_FAILURE_LIMIT = env_int("JICAI_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = 0.25
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "web/locked_out.html"
AXES_VERBOSE = False

# Session timeout: 30 minutes of inactivity.
SESSION_COOKIE_AGE = env_int("JICAI_SESSION_SECONDS", 30 * 60)
# The idle timeout slides forward at most once a minute (jicai.core.middleware.SessionRefreshMiddleware),
# not on every request: saving the session on every read cost one UPDATE + commit per page.
SESSION_REFRESH_SECONDS = 60
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
# Secure cookies whenever the site is served over HTTPS (set JICAI_HTTPS=1 behind TLS).
HTTPS = env_bool("JICAI_HTTPS", False)
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if HTTPS else None
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)  # WhiteNoise warns about a missing root; files come from finders here
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG
MEDIA_ROOT = DATA_DIR / "media"
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 50 * 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FIELDS = 20000

TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

EMAIL_BACKEND = os.environ.get("JICAI_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")

# Content Security Policy: only our own origin; chart data travels in json_script blocks, never inline JS.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; "
    "base-uri 'self'; object-src 'none'"
)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("JICAI_LOG_LEVEL", "WARNING")},
}

# SPEC §11 prescribing prompt: "cache" (the in-process rule) or "orm" (the per-request baseline bench/prompt.py
# compares against).
JICAI_PROMPT_RULE = os.environ.get("JICAI_PROMPT_RULE", "cache")
