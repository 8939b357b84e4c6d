"""Configuration classes, one per environment, read from environment variables."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = Path(os.environ.get("QALDYQ_INSTANCE", BASE_DIR / "instance"))


def _bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


class Config:
    """Settings shared by every environment; safe defaults for development only."""

    SECRET_KEY = os.environ.get("SECRET_KEY", "dev-only-insecure-key")
    SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL") or f"sqlite:///{INSTANCE_DIR / 'qaldyq.db'}"
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}
    REDIS_URL = os.environ.get("REDIS_URL") or None
    HUEY_SQLITE_PATH = os.environ.get("HUEY_SQLITE_PATH", str(INSTANCE_DIR / "huey.db"))

    # Languages and time
    LANGUAGES = ("ru", "kk", "en")
    BABEL_DEFAULT_LOCALE = "ru"
    BABEL_DEFAULT_TIMEZONE = "Asia/Almaty"
    BABEL_TRANSLATION_DIRECTORIES = str(BASE_DIR / "market" / "translations")

    # Sessions and cookies
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_DURATION = timedelta(days=30)
    PERMANENT_SESSION_LIFETIME = timedelta(hours=12)
    WTF_CSRF_TIME_LIMIT = None

    # Rate limits and lockout
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI") or (
        os.environ.get("REDIS_URL") or "memory://"
    )
    RATELIMIT_HEADERS_ENABLED = True
    LOGIN_LIMIT_PER_IP = os.environ.get("LOGIN_LIMIT_PER_IP", "20 per minute")
    LOGIN_LIMIT_PER_ACCOUNT = os.environ.get("LOGIN_LIMIT_PER_ACCOUNT", "10 per minute")
    LOCKOUT_THRESHOLD = int(os.environ.get("LOCKOUT_THRESHOLD", "5"))
    LOCKOUT_MINUTES = int(os.environ.get("LOCKOUT_MINUTES", "15"))

    # E-mail
    MAIL_BACKEND = os.environ.get("MAIL_BACKEND", "console")  # console | smtp
    MAIL_SERVER = os.environ.get("MAIL_SERVER", "localhost")
    MAIL_PORT = int(os.environ.get("MAIL_PORT", "25"))
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME")
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD")
    MAIL_USE_TLS = _bool("MAIL_USE_TLS")
    MAIL_SENDER = os.environ.get("MAIL_SENDER", "Qaldyq <no-reply@qaldyq.kz>")
    PUBLIC_URL = os.environ.get("PUBLIC_URL", "http://127.0.0.1:5000")
    TOKEN_MAX_AGE_SECONDS = int(os.environ.get("TOKEN_MAX_AGE_SECONDS", str(24 * 3600)))

    PAGE_SIZE = 25
    # Public search pages as anonymous visitors see them are served from a per-worker cache
    # for this many seconds (0: never); logged-in users always get a fresh page.
    PAGE_CACHE_SECONDS = int(os.environ.get("PAGE_CACHE_SECONDS", "30"))
    PAGE_CACHE_SIZE = int(os.environ.get("PAGE_CACHE_SIZE", "256"))
    # Storage limits (Environmental Code of the Republic of Kazakhstan, 2021), in months, by
    # the purpose of storage: past them the stock must be offered for transfer.
    STORAGE_LIMIT_MONTHS = {
        "generation": int(os.environ.get("STORAGE_LIMIT_GENERATION_MONTHS", "6")),
        "recovery": int(os.environ.get("STORAGE_LIMIT_RECOVERY_MONTHS", "36")),
        "disposal": int(os.environ.get("STORAGE_LIMIT_DISPOSAL_MONTHS", "12")),
    }
    # Map tiles: empty = no tile layer (pages still work, with region reference points).
    MAP_TILE_URL = os.environ.get("MAP_TILE_URL", "")
    MAP_TILE_ATTRIBUTION = os.environ.get("MAP_TILE_ATTRIBUTION", "")
    # Marketplace
    MANDATORY_OFFER_DAYS = int(os.environ.get("MANDATORY_OFFER_DAYS", "14"))
    ANTI_SNIPE_MAX_MINUTES = int(os.environ.get("ANTI_SNIPE_MAX_MINUTES", "30"))
    # Typo guard: a bid (or proxy limit) above this many times the current or start price is
    # refused as implausible (0: no bound).
    BID_MAX_MULTIPLE = int(os.environ.get("BID_MAX_MULTIPLE", "100"))
    # Watchers and bidders hear "the auction ends soon" this many minutes before its end.
    AUCTION_ENDING_SOON_MINUTES = int(os.environ.get("AUCTION_ENDING_SOON_MINUTES", "60"))
    # Deadlines in working days (weekends skipped): the winner's signature, the official's
    # review of a submitted agreement, the decision on a complaint.
    DEAL_SIGN_WORKING_DAYS = int(os.environ.get("DEAL_SIGN_WORKING_DAYS", "5"))
    REVIEW_WORKING_DAYS = int(os.environ.get("REVIEW_WORKING_DAYS", "10"))
    COMPLAINT_WORKING_DAYS = int(os.environ.get("COMPLAINT_WORKING_DAYS", "10"))
    UPLOAD_DIR = os.environ.get("UPLOAD_DIR", str(INSTANCE_DIR / "uploads"))
    # Where uploaded files live (market.core.storage): "local" (UPLOAD_DIR) or "module:factory".
    STORAGE_BACKEND = os.environ.get("STORAGE_BACKEND", "local")
    LOT_DOCUMENT_MAX_BYTES = int(os.environ.get("LOT_DOCUMENT_MAX_MB", "10")) * 1024 * 1024
    LOT_PHOTO_MAX_BYTES = int(os.environ.get("LOT_PHOTO_MAX_MB", "5")) * 1024 * 1024
    LOT_MAX_FILES = int(os.environ.get("LOT_MAX_FILES", "20"))
    MAX_CONTENT_LENGTH = int(os.environ.get("MAX_UPLOAD_MB", "50")) * 1024 * 1024
    # Number of reverse proxies in front of the app whose X-Forwarded-* headers are trusted
    # (client IPs for rate limits and the audit trail). 0 in development.
    PROXY_HOPS = int(os.environ.get("PROXY_HOPS", "0"))
    # Ed25519 key that signs the public ledger's tree heads: base64 of the raw 32-byte seed, or
    # the path of a file holding it. Unset: generated once into the instance folder (not in
    # production, which refuses to sign without it).
    LEDGER_SIGNING_KEY = os.environ.get("LEDGER_SIGNING_KEY") or None
    LEDGER_KEY_AUTOGENERATE = True


class DevelopmentConfig(Config):
    DEBUG = False


class TestingConfig(Config):
    TESTING = True
    SECRET_KEY = "testing-secret"
    WTF_CSRF_ENABLED = False
    RATELIMIT_STORAGE_URI = "memory://"
    HUEY_IMMEDIATE = True
    MAIL_BACKEND = "memory"
    SERVER_NAME = None
    PAGE_CACHE_SECONDS = 0


class ProductionConfig(Config):
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True
    MAIL_BACKEND = os.environ.get("MAIL_BACKEND", "smtp")
    LEDGER_KEY_AUTOGENERATE = False

    @classmethod
    def check(cls) -> None:
        """Refuse to start without a real secret key and database."""
        key = os.environ.get("SECRET_KEY", "")
        if len(key) < 32 or key == Config.SECRET_KEY:
            raise RuntimeError("Production needs SECRET_KEY (at least 32 random characters).")
        if not os.environ.get("DATABASE_URL"):
            raise RuntimeError("Production needs DATABASE_URL (PostgreSQL).")


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def config_from_env() -> type[Config]:
    return CONFIGS[os.environ.get("QALDYQ_ENV", "development")]
