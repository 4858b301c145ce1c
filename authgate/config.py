"""Settings: one frozen dataclass, built in code or from the environment."""

from __future__ import annotations

import ipaddress
import logging
import os
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from authgate.errors import ConfigError
from authgate.keys import KeyRing

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(values: Sequence[str]) -> tuple[Network, ...]:
    """``10.0.0.0/8``, ``127.0.0.1``, ``::1`` ... as networks.

    Raises:
        ValueError: a value is not an address or network.
    """
    return tuple(ipaddress.ip_network(value.strip(), strict=False) for value in values)


logger = logging.getLogger("authgate")

EMBEDDED_DATABASE_URL = "sqlite+aiosqlite:///./authgate.db"
MIN_SECRET_BYTES = 32
MIN_PRODUCTION_BCRYPT_ROUNDS = 10

_ORIGIN = re.compile(r"https?://[A-Za-z0-9.\-\[\]:]+")
_PUBLIC_URL = re.compile(r"https?://[A-Za-z0-9.\-\[\]:]+(/[A-Za-z0-9._~\-/]*)?")
_SMTP_URL = re.compile(r"smtps?://\S+")
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")
_DURATION = re.compile(r"^\s*(\d+)\s*([smhd]?)\s*$")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(value: str | int, *, name: str = "duration") -> int:
    """Parse ``30s``, ``15m``, ``2h``, ``7d`` or a bare number of seconds into seconds.

    Raises:
        ConfigError: naming ``name`` when the value is not a duration.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        seconds = value
    else:
        match = _DURATION.match(str(value))
        if match is None:
            raise ConfigError(f"{name} must be a duration like 30s, 15m, 2h, 7d or seconds")
        seconds = int(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if seconds < 0:
        raise ConfigError(f"{name} must not be negative")
    return seconds


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything authgate can be configured with.

    Durations are in seconds. ``redis_url=None`` means the embedded in-process Redis
    (fakeredis); ``database_url`` defaults to the embedded SQLite file.
    """

    access_token_secret: str = field(default="", repr=False)
    refresh_token_secret: str = field(default="", repr=False)
    access_token_expiry: int = 15 * 60
    refresh_token_expiry: int = 7 * 86400
    database_url: str = EMBEDDED_DATABASE_URL
    redis_url: str | None = None
    env: str = "development"
    issuer: str = "authgate"
    audience: str = "authgate"
    refresh_grace_seconds: int = 10
    bcrypt_rounds: int = 12
    login_max_failures: int = 5
    login_window: int = 15 * 60
    login_max_failures_per_ip: int = 20
    trusted_proxies: tuple[str, ...] = ()
    trusted_origins: tuple[str, ...] = ()
    user_cache_seconds: int = 30
    token_leeway_seconds: int = 5
    max_sessions_per_user: int = 50
    max_body_bytes: int = 64 * 1024
    redis_prefix: str = "authgate"
    redis_max_connections: int = 50
    refresh_cookie_path: str = "/auth"
    access_jwks: str | None = field(default=None, repr=False)
    access_signing_kid: str | None = None
    public_url: str | None = None
    smtp_url: str | None = field(default=None, repr=False)
    mail_from: str = "authgate <no-reply@localhost>"
    reset_token_ttl: int = 3600
    verify_token_ttl: int = 86400
    require_verified_email: bool = False
    recovery_max_per_address: int = 3
    recovery_max_per_ip: int = 20

    @property
    def production(self) -> bool:
        return self.env == "production"

    @property
    def embedded_database(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def embedded_redis(self) -> bool:
        return self.redis_url is None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Build settings from environment variables (listed in ``docs/configuration.md``).

        Keyword ``overrides`` win over the environment. The result is checked with
        :meth:`checked`, so production misconfiguration stops start-up here.
        """
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for name, (attr, kind) in _ENV_VARIABLES.items():
            raw = env.get(name)
            if raw is None or not raw.strip():
                continue
            values[attr] = _convert(name, raw, kind)
        jwks_file = env.get("AUTHGATE_ACCESS_JWKS_FILE", "").strip()
        if jwks_file and "access_jwks" not in values:
            try:
                with open(jwks_file, encoding="utf-8") as handle:
                    values["access_jwks"] = handle.read()
            except OSError as exc:
                raise ConfigError(f"AUTHGATE_ACCESS_JWKS_FILE cannot be read: {exc}") from None
        values.update(overrides)
        return cls(**values).checked()

    def checked(self) -> Settings:
        """Validate the settings; in development fill in missing secrets.

        Raises:
            ConfigError: with one message naming the offending variable.
        """
        if self.env not in ("development", "production"):
            raise ConfigError("AUTHGATE_ENV must be 'development' or 'production'")
        for name, attr in _POSITIVE:
            if getattr(self, attr) <= 0:
                raise ConfigError(f"{name} must be greater than zero")
        for name, attr in _NON_NEGATIVE:
            if getattr(self, attr) < 0:
                raise ConfigError(f"{name} must not be negative")
        if not 0 <= self.token_leeway_seconds <= 30:
            raise ConfigError("AUTHGATE_TOKEN_LEEWAY must be between 0 and 30 seconds")
        if not 4 <= self.bcrypt_rounds <= 31:
            raise ConfigError("AUTHGATE_BCRYPT_ROUNDS must be between 4 and 31")
        try:
            parse_networks(self.trusted_proxies)
        except ValueError:
            raise ConfigError(
                "AUTHGATE_TRUSTED_PROXIES must be comma-separated IP addresses or networks"
            ) from None
        for origin in self.trusted_origins:
            if not _ORIGIN.fullmatch(origin):
                raise ConfigError(
                    "AUTHGATE_TRUSTED_ORIGINS must be comma-separated origins like "
                    "https://app.example.com"
                )
        self._check_mail()
        if self.access_jwks:
            KeyRing.from_jwks(self.access_jwks, self.access_signing_kid)  # raises ConfigError
        if self.production:
            self._check_production()
            return self
        settings = self
        for name, attr in (
            ("ACCESS_TOKEN_SECRET", "access_token_secret"),
            ("REFRESH_TOKEN_SECRET", "refresh_token_secret"),
        ):
            if not getattr(settings, attr):
                logger.warning(
                    "%s is not set: generated a random one for this process; tokens will not "
                    "survive a restart or work across instances",
                    name,
                )
                generated: dict[str, Any] = {attr: secrets.token_urlsafe(48)}
                settings = replace(settings, **generated)
        if settings.access_token_secret == settings.refresh_token_secret:
            raise ConfigError("REFRESH_TOKEN_SECRET must differ from ACCESS_TOKEN_SECRET")
        return settings

    def require_mail(self, *, own_mailer: bool) -> None:
        """In production, the recovery flows need a mailer and the public URL: refuse to
        start without them rather than silently send nothing.

        Raises:
            ConfigError: naming the missing variable.
        """
        if not self.production:
            return
        if self.smtp_url is None and not own_mailer:
            raise ConfigError(
                "AUTHGATE_SMTP_URL must be set in production: password reset and e-mail "
                "verification need a mailer (or pass AuthGate(mailer=...))"
            )
        if self.public_url is None:
            raise ConfigError(
                "AUTHGATE_PUBLIC_URL must be set in production: the links in password reset "
                "and verification mails are built from it"
            )

    def _check_mail(self) -> None:
        if self.public_url is not None and not _PUBLIC_URL.fullmatch(self.public_url):
            raise ConfigError(
                "AUTHGATE_PUBLIC_URL must be the app's external base URL, like "
                "https://app.example.com (no query or fragment)"
            )
        if self.smtp_url is not None and not _SMTP_URL.fullmatch(self.smtp_url):
            raise ConfigError("AUTHGATE_SMTP_URL must look like smtp://user:pass@host:port")
        if self.production and self.smtp_url is not None and self.public_url is None:
            raise ConfigError(
                "AUTHGATE_PUBLIC_URL must be set in production once mail is configured "
                "(every link in a mail is built from it)"
            )

    def _check_production(self) -> None:
        required = [("REFRESH_TOKEN_SECRET", "refresh_token_secret")]
        if not self.access_jwks:  # with a key ring the access secret signs nothing
            required.insert(0, ("ACCESS_TOKEN_SECRET", "access_token_secret"))
        for name, attr in required:
            secret: str = getattr(self, attr)
            if not secret:
                raise ConfigError(f"{name} must be set in production")
            if len(secret.encode()) < MIN_SECRET_BYTES:
                raise ConfigError(f"{name} must be at least {MIN_SECRET_BYTES} bytes in production")
        if not self.access_jwks and self.access_token_secret == self.refresh_token_secret:
            raise ConfigError("REFRESH_TOKEN_SECRET must differ from ACCESS_TOKEN_SECRET")
        if self.embedded_database:
            raise ConfigError("DATABASE_URL must name a real database in production, not SQLite")
        if self.embedded_redis:
            raise ConfigError(
                "REDIS_URL must be set in production (the in-process Redis is for trying out)"
            )
        if self.bcrypt_rounds < MIN_PRODUCTION_BCRYPT_ROUNDS:
            raise ConfigError(
                "AUTHGATE_BCRYPT_ROUNDS must be at least "
                f"{MIN_PRODUCTION_BCRYPT_ROUNDS} in production"
            )


def _convert(name: str, raw: str, kind: type) -> Any:
    if kind is int:
        try:
            return int(raw.strip())
        except ValueError:
            raise ConfigError(f"{name} must be a whole number") from None
    if kind is bool:
        if raw.strip().lower() not in (*_TRUE, *_FALSE):
            raise ConfigError(f"{name} must be true or false")
        return raw.strip().lower() in _TRUE
    if kind is _Duration:
        return parse_duration(raw, name=name)
    if kind is tuple:
        return tuple(item.strip().rstrip("/").lower() for item in raw.split(",") if item.strip())
    return raw.strip()


class _Duration:
    """Marker: the variable holds a duration."""


_ENV_VARIABLES: dict[str, tuple[str, type]] = {
    "ACCESS_TOKEN_SECRET": ("access_token_secret", str),
    "ACCESS_TOKEN_EXPIRY": ("access_token_expiry", _Duration),
    "REFRESH_TOKEN_SECRET": ("refresh_token_secret", str),
    "REFRESH_TOKEN_EXPIRY": ("refresh_token_expiry", _Duration),
    "DATABASE_URL": ("database_url", str),
    "REDIS_URL": ("redis_url", str),
    "AUTHGATE_ENV": ("env", str),
    "AUTHGATE_ISSUER": ("issuer", str),
    "AUTHGATE_AUDIENCE": ("audience", str),
    "AUTHGATE_REFRESH_GRACE_SECONDS": ("refresh_grace_seconds", int),
    "AUTHGATE_BCRYPT_ROUNDS": ("bcrypt_rounds", int),
    "AUTHGATE_LOGIN_MAX_FAILURES": ("login_max_failures", int),
    "AUTHGATE_LOGIN_WINDOW": ("login_window", _Duration),
    "AUTHGATE_LOGIN_MAX_FAILURES_PER_IP": ("login_max_failures_per_ip", int),
    "AUTHGATE_TRUSTED_PROXIES": ("trusted_proxies", tuple),
    "AUTHGATE_TRUSTED_ORIGINS": ("trusted_origins", tuple),
    "AUTHGATE_USER_CACHE_SECONDS": ("user_cache_seconds", int),
    "AUTHGATE_TOKEN_LEEWAY": ("token_leeway_seconds", int),
    "AUTHGATE_MAX_SESSIONS": ("max_sessions_per_user", int),
    "AUTHGATE_REDIS_PREFIX": ("redis_prefix", str),
    "AUTHGATE_REDIS_MAX_CONNECTIONS": ("redis_max_connections", int),
    "AUTHGATE_REFRESH_COOKIE_PATH": ("refresh_cookie_path", str),
    "AUTHGATE_ACCESS_JWKS": ("access_jwks", str),
    "AUTHGATE_ACCESS_SIGNING_KID": ("access_signing_kid", str),
    "AUTHGATE_PUBLIC_URL": ("public_url", str),
    "AUTHGATE_SMTP_URL": ("smtp_url", str),
    "AUTHGATE_MAIL_FROM": ("mail_from", str),
    "AUTHGATE_RESET_TOKEN_TTL": ("reset_token_ttl", _Duration),
    "AUTHGATE_VERIFY_TOKEN_TTL": ("verify_token_ttl", _Duration),
    "AUTHGATE_REQUIRE_VERIFIED_EMAIL": ("require_verified_email", bool),
    "AUTHGATE_RECOVERY_MAX_PER_ADDRESS": ("recovery_max_per_address", int),
    "AUTHGATE_RECOVERY_MAX_PER_IP": ("recovery_max_per_ip", int),
}

_POSITIVE = (
    ("ACCESS_TOKEN_EXPIRY", "access_token_expiry"),
    ("REFRESH_TOKEN_EXPIRY", "refresh_token_expiry"),
    ("AUTHGATE_LOGIN_MAX_FAILURES", "login_max_failures"),
    ("AUTHGATE_LOGIN_WINDOW", "login_window"),
    ("AUTHGATE_LOGIN_MAX_FAILURES_PER_IP", "login_max_failures_per_ip"),
    ("AUTHGATE_MAX_SESSIONS", "max_sessions_per_user"),
    ("AUTHGATE_REDIS_MAX_CONNECTIONS", "redis_max_connections"),
    ("AUTHGATE_RESET_TOKEN_TTL", "reset_token_ttl"),
    ("AUTHGATE_VERIFY_TOKEN_TTL", "verify_token_ttl"),
    ("AUTHGATE_RECOVERY_MAX_PER_ADDRESS", "recovery_max_per_address"),
    ("AUTHGATE_RECOVERY_MAX_PER_IP", "recovery_max_per_ip"),
)

_NON_NEGATIVE = (
    ("AUTHGATE_REFRESH_GRACE_SECONDS", "refresh_grace_seconds"),
    ("AUTHGATE_USER_CACHE_SECONDS", "user_cache_seconds"),
)
