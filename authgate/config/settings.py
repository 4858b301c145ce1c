"""Settings: one frozen dataclass, built in code or from the environment.

Each setting is declared once, as a field made by :func:`setting`: its environment
variable, how that variable's text is parsed, the rule its value must follow and what it
means. Those declarations alone drive :meth:`Settings.from_env`, the per-setting checks of
:meth:`Settings.checked` and ``configuration_table`` (``docs/configuration.md``). What
involves several settings (the production guard, the mail a production app needs) is
in ``production.py``, called by :meth:`Settings.checked`.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from authgate.config.production import check_production, check_production_mail, secrets_equal
from authgate.config.rules import (
    _PUBLIC_URL,
    _SMTP_URL,
    _SPEC,
    EMBEDDED_DATABASE_URL,
    MIN_PRODUCTION_BCRYPT_ROUNDS,
    Spec,
    between,
    comma_list,
    duration,
    env_variable,
    flag,
    logger,
    matching,
    networks,
    non_negative,
    one_of,
    origins,
    positive,
    setting,
    whole_number,
)
from authgate.errors import ConfigError
from authgate.keys import KeyRing


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything authgate can be configured with.

    Durations are in seconds. ``redis_url=None`` means the embedded in-process Redis
    (fakeredis); ``database_url`` defaults to the embedded SQLite file.
    """

    access_token_secret: str = setting(
        "",
        env="ACCESS_TOKEN_SECRET",
        doc="signing key for access tokens (HS256); at least 32 bytes in production",
        shown="none (development: a random one per process)",
        secret=True,
    )
    refresh_token_secret: str = setting(
        "",
        env="REFRESH_TOKEN_SECRET",
        doc="signing key for refresh tokens, must differ from the access key; at least 32 "
        "bytes in production",
        shown="none (development: a random one per process)",
        secret=True,
    )
    access_token_expiry: int = setting(
        15 * 60,
        env="ACCESS_TOKEN_EXPIRY",
        parse=duration,
        check=positive,
        doc="access token lifetime",
    )
    refresh_token_expiry: int = setting(
        7 * 86400,
        env="REFRESH_TOKEN_EXPIRY",
        parse=duration,
        check=positive,
        doc="refresh token / session lifetime (sliding: each refresh starts it again)",
    )
    database_url: str = setting(
        EMBEDDED_DATABASE_URL,
        env="DATABASE_URL",
        doc="SQLAlchemy async URL (`postgresql+asyncpg://...` in production)",
    )
    redis_url: str | None = setting(
        None,
        env="REDIS_URL",
        doc="`redis://...`, `rediss://...`, or `redis+cluster://host:port` (also "
        "`?cluster=true`) for Redis Cluster; required in production",
        shown="in-process fakeredis",
    )
    env: str = setting(
        "development",
        env="AUTHGATE_ENV",
        check=one_of("development", "production"),
        doc="`production` turns on `Secure` cookies and refuses weak or missing secrets",
    )
    issuer: str = setting("authgate", env="AUTHGATE_ISSUER", doc="`iss` of every token")
    audience: str = setting("authgate", env="AUTHGATE_AUDIENCE", doc="`aud` of every token")
    refresh_grace_seconds: int = setting(
        10,
        env="AUTHGATE_REFRESH_GRACE_SECONDS",
        parse=whole_number,
        check=non_negative,
        doc="grace window for concurrent refreshes, in seconds; `0` disables it",
    )
    bcrypt_rounds: int = setting(
        12,
        env="AUTHGATE_BCRYPT_ROUNDS",
        parse=whole_number,
        check=between(4, 31),
        doc=f"bcrypt cost; at least {MIN_PRODUCTION_BCRYPT_ROUNDS} in production (tests use 4)",
    )
    login_max_failures: int = setting(
        5,
        env="AUTHGATE_LOGIN_MAX_FAILURES",
        parse=whole_number,
        check=positive,
        doc="failed logins per account per window before 429",
    )
    login_window: int = setting(
        15 * 60,
        env="AUTHGATE_LOGIN_WINDOW",
        parse=duration,
        check=positive,
        doc="the window of the failed-login counts (per account and per client IP)",
    )
    login_max_failures_per_ip: int = setting(
        20,
        env="AUTHGATE_LOGIN_MAX_FAILURES_PER_IP",
        parse=whole_number,
        check=positive,
        doc="failed logins per client IP per window (any accounts) before 429",
    )
    trusted_proxies: tuple[str, ...] = setting(
        (),
        env="AUTHGATE_TRUSTED_PROXIES",
        parse=comma_list,
        check=networks,
        doc="proxies whose `X-Forwarded-For` names the client",
    )
    trusted_origins: tuple[str, ...] = setting(
        (),
        env="AUTHGATE_TRUSTED_ORIGINS",
        parse=comma_list,
        check=origins,
        doc="origins trusted for cookie-authenticated unsafe requests",
    )
    user_cache_seconds: int = setting(
        30,
        env="AUTHGATE_USER_CACHE_SECONDS",
        parse=whole_number,
        check=non_negative,
        doc="TTL of the shared user cache in Redis, in seconds; `0` turns it off",
    )
    token_leeway_seconds: int = setting(
        5,
        env="AUTHGATE_TOKEN_LEEWAY",
        parse=whole_number,
        check=between(0, 30, " seconds"),
        doc="clock leeway for `exp`/`iat`, in seconds",
    )
    max_sessions_per_user: int = setting(
        50,
        env="AUTHGATE_MAX_SESSIONS",
        parse=whole_number,
        check=positive,
        doc="sessions per user; a new login beyond it evicts the least recently used",
    )
    max_body_bytes: int = setting(
        64 * 1024,
        env="AUTHGATE_MAX_BODY_BYTES",
        parse=whole_number,
        check=positive,
        doc="largest JSON request body the endpoints read, in bytes; a larger one gets 413",
    )
    redis_prefix: str = setting(
        "authgate", env="AUTHGATE_REDIS_PREFIX", doc="prefix of every Redis key"
    )
    redis_max_connections: int = setting(
        50,
        env="AUTHGATE_REDIS_MAX_CONNECTIONS",
        parse=whole_number,
        check=positive,
        doc="Redis connections per process (per node on a Cluster); a burst beyond it waits "
        "up to 2 s for one, then 503",
    )
    refresh_cookie_path: str = setting(
        "/auth",
        env="AUTHGATE_REFRESH_COOKIE_PATH",
        doc="`Path` of the refresh cookie: where the router is mounted",
    )
    access_jwks: str | None = setting(
        None,
        env="AUTHGATE_ACCESS_JWKS",
        file_env="AUTHGATE_ACCESS_JWKS_FILE",
        doc="a JWKS of EdDSA/ES256 keys (the JSON, or a file of it): access tokens are then "
        "signed asymmetrically",
        shown="none (HS256)",
        secret=True,
    )
    access_signing_kid: str | None = setting(
        None,
        env="AUTHGATE_ACCESS_SIGNING_KID",
        doc="which key of the ring signs",
        shown="first private key",
    )
    public_url: str | None = setting(
        None,
        env="AUTHGATE_PUBLIC_URL",
        check=matching(
            _PUBLIC_URL,
            "must be the app's external base URL, like https://app.example.com "
            "(no query or fragment)",
            "an `http(s)://` base URL",
        ),
        doc="the app's external base URL; every link in a mail is built from it, never from "
        "the request's `Host`. Required in production",
        shown="none (`http://127.0.0.1:8000` in development)",
    )
    smtp_url: str | None = setting(
        None,
        env="AUTHGATE_SMTP_URL",
        check=matching(
            _SMTP_URL, "must look like smtp://user:pass@host:port", "an `smtp(s)://` URL"
        ),
        doc="`smtp://user:pass@host:port` (STARTTLS when the server offers it) or "
        "`smtps://...` (implicit TLS); needs the `smtp` extra. Required in production unless "
        "the app passes its own mailer",
        shown="none (development: mails go to the log)",
        secret=True,
    )
    mail_from: str = setting(
        "authgate <no-reply@localhost>", env="AUTHGATE_MAIL_FROM", doc="the `From` of every mail"
    )
    reset_token_ttl: int = setting(
        3600,
        env="AUTHGATE_RESET_TOKEN_TTL",
        parse=duration,
        check=positive,
        doc="how long a password-reset link works",
    )
    verify_token_ttl: int = setting(
        86400,
        env="AUTHGATE_VERIFY_TOKEN_TTL",
        parse=duration,
        check=positive,
        doc="how long a verification or address-change link works",
    )
    require_verified_email: bool = setting(
        False,
        env="AUTHGATE_REQUIRE_VERIFIED_EMAIL",
        parse=flag,
        doc="`true`: a correct login of an unverified user gets 403 `Email not verified` and "
        "no session",
    )
    recovery_max_per_address: int = setting(
        3,
        env="AUTHGATE_RECOVERY_MAX_PER_ADDRESS",
        parse=whole_number,
        check=positive,
        doc="recovery mails per address (and verification/change mails per user) per hour",
    )
    recovery_max_per_ip: int = setting(
        20,
        env="AUTHGATE_RECOVERY_MAX_PER_IP",
        parse=whole_number,
        check=positive,
        doc="`forgot-password` requests per client IP per hour before 429",
    )

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
        """Build settings from environment variables (see docs/configuration.md).

        A blank variable counts as unset. Keyword ``overrides`` win over the environment.
        The result is checked with :meth:`checked`, so misconfiguration stops start-up here.

        Raises:
            ConfigError: naming the offending variable.
        """
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for name, spec in _SPECS.items():
            raw = _given(env, spec.env)
            if raw is not None:
                values[name] = spec.parse.parse(raw, spec.env)
            elif spec.file_env is not None and (path := _given(env, spec.file_env)) is not None:
                values[name] = _read(spec.file_env, path)
        values.update(overrides)
        return cls(**values).checked()

    def checked(self, *, own_mailer: bool | None = None) -> Settings:
        """Validate the settings; in development fill in missing secrets.

        Args:
            own_mailer: for an app about to start: whether it passes its own mailer. Given,
                production also needs what the recovery flows send mail with (a mailer and
                the public URL); ``None`` (:meth:`from_env`, a check before the app is
                known) leaves that out.

        Raises:
            ConfigError: with one message naming the offending variable.
        """
        for name, spec in _SPECS.items():
            value = getattr(self, name)
            if spec.check is not None and value is not None and not spec.check.holds(value):
                raise ConfigError(f"{spec.env} {spec.check.complaint}")
        if self.access_jwks:
            KeyRing.from_jwks(self.access_jwks, self.access_signing_kid)  # raises ConfigError
        if self.production:
            check_production(self)
            check_production_mail(self, own_mailer)
            return self
        settings = self
        for attr in ("access_token_secret", "refresh_token_secret"):
            if not getattr(settings, attr):
                logger.warning(
                    "%s is not set: generated a random one for this process; tokens will not "
                    "survive a restart or work across instances",
                    variable(attr),
                )
                generated: dict[str, Any] = {attr: secrets.token_urlsafe(48)}
                settings = replace(settings, **generated)
        if settings.access_token_secret == settings.refresh_token_secret:
            raise ConfigError(secrets_equal(settings))
        return settings


_SPECS: dict[str, Spec] = {f.name: f.metadata[_SPEC] for f in fields(Settings)}


def variable(name: str) -> str:
    """The environment variable of the setting ``name`` (``"max_body_bytes"``).

    Raises:
        KeyError: ``name`` is no setting.
    """
    return env_variable(Settings, name)


def _given(environ: Mapping[str, str], name: str) -> str | None:
    """The variable's value, stripped; ``None`` when unset or blank."""
    raw = environ.get(name, "").strip()
    return raw or None


def _read(name: str, path: str) -> str:
    """The content of the file the variable ``name`` names, as it is."""
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except OSError as exc:
        raise ConfigError(f"{name} cannot be read: {exc}") from None
