"""Settings: one frozen dataclass, built in code or from the environment.

Each setting is declared once, as a field made by :func:`setting`: its environment
variable, how that variable's text is parsed, the rule its value must follow and what it
means. Those declarations alone drive :meth:`Settings.from_env`, the per-setting checks of
:meth:`Settings.checked` and :func:`configuration_table` (``docs/configuration.md``). What
involves several settings (the production guard, the mail a production app needs) is
written out in :meth:`Settings.checked`.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import re
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any, TypeVar

from authgate.errors import ConfigError
from authgate.keys import KeyRing

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
T = TypeVar("T")


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


# --- kinds: how a variable's text becomes a value -------------------------------------------


def _code(value: object) -> str:
    return f"`{value}`"


@dataclass(frozen=True, slots=True)
class Kind:
    """How a variable's text becomes a value, and how a value reads in the docs.

    Attributes:
        doc: what the variable holds, for the table ("whole number", "duration", ...).
        parse: ``(text, variable) -> value``; raises ``ConfigError`` naming the variable.
        show: a value as the table writes it.
    """

    doc: str
    parse: Callable[[str, str], Any]
    show: Callable[[Any], str] = _code


def _whole_number(raw: str, name: str) -> int:
    try:
        return int(raw.strip())
    except ValueError:
        raise ConfigError(f"{name} must be a whole number") from None


def _flag(raw: str, name: str) -> bool:
    word = raw.strip().lower()
    if word not in (*_TRUE, *_FALSE):
        raise ConfigError(f"{name} must be true or false")
    return word in _TRUE


def _listed(raw: str, name: str) -> tuple[str, ...]:
    # a trailing slash must not make https://app.example/ another origin than https://app.example
    return tuple(item.strip().rstrip("/").lower() for item in raw.split(",") if item.strip())


def _show_duration(seconds: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return _code(f"{seconds // size}{unit}")
    return _code(f"{seconds}s")


text = Kind("text", lambda raw, name: raw.strip())
whole_number = Kind("whole number", _whole_number)
duration = Kind("duration", lambda raw, name: parse_duration(raw, name=name), _show_duration)
flag = Kind("`true` or `false`", _flag, lambda value: _code(str(value).lower()))
comma_list = Kind(
    "comma-separated", _listed, lambda values: _code(",".join(values)) if values else "none"
)


# --- checks: the rule one setting's value follows -------------------------------------------


@dataclass(frozen=True, slots=True)
class Check:
    """A rule one setting's value must follow (an unset ``None`` follows every rule).

    Attributes:
        holds: whether a value follows the rule.
        complaint: the error's words after the variable's name.
        doc: the rule, for the table.
    """

    holds: Callable[[Any], bool]
    complaint: str
    doc: str


positive = Check(lambda value: value > 0, "must be greater than zero", "more than 0")
non_negative = Check(lambda value: value >= 0, "must not be negative", "0 or more")


def between(low: int, high: int, unit: str = "") -> Check:
    """``low <= value <= high``; ``unit`` (" seconds") ends the complaint."""
    return Check(
        lambda value: low <= value <= high,
        f"must be between {low} and {high}{unit}",
        f"{low}-{high}",
    )


def one_of(*choices: str) -> Check:
    """The value is one of ``choices``."""
    return Check(
        lambda value: value in choices,
        "must be " + " or ".join(f"'{choice}'" for choice in choices),
        " or ".join(_code(choice) for choice in choices),
    )


def matching(pattern: re.Pattern[str], complaint: str, doc: str) -> Check:
    """The whole value matches ``pattern``."""
    return Check(lambda value: pattern.fullmatch(value) is not None, complaint, doc)


def _networks(values: Sequence[str]) -> bool:
    try:
        parse_networks(values)
    except ValueError:
        return False
    return True


networks = Check(
    _networks, "must be comma-separated IP addresses or networks", "IP addresses or networks"
)
origins = Check(
    lambda values: all(_ORIGIN.fullmatch(value) for value in values),
    "must be comma-separated origins like https://app.example.com",
    "origins like `https://app.example.com`",
)


# --- the declaration of one setting ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Spec:
    """Everything said about one setting besides its type and default.

    Attributes:
        env: the environment variable (a public name: never renamed).
        parse: how the variable's text becomes the value.
        doc: what the setting means, for the table.
        check: the rule the value follows, wherever it comes from (environment or code).
        shown: the default as the table writes it, where the plain value would mislead.
        file_env: a variable naming a file whose content is the value, read when ``env`` is
            unset.
    """

    env: str
    parse: Kind
    doc: str
    check: Check | None = None
    shown: str | None = None
    file_env: str | None = None


_SPEC = "authgate.setting"


def setting(
    default: T,
    *,
    env: str,
    doc: str,
    parse: Kind = text,
    check: Check | None = None,
    shown: str | None = None,
    file_env: str | None = None,
    secret: bool = False,
) -> T:
    """A ``Settings`` field declared with all there is to know about it (see :class:`Spec`).

    ``secret=True`` keeps the value out of ``repr``.
    """
    spec = Spec(env, parse, doc, check, shown, file_env)
    return field(default=default, repr=not secret, metadata={_SPEC: spec})


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
            self._check_production()
            self._check_production_mail(own_mailer)
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
            raise ConfigError(_SECRETS_EQUAL)
        return settings

    def _check_production_mail(self, own_mailer: bool | None) -> None:
        """Refuse to start a production app that cannot send the recovery flows' mail.

        Better than silently sending nothing. Without ``own_mailer`` (not known yet) only
        SMTP counts as configured mail, and then needs the public URL its links start with.
        """
        if own_mailer is not None and self.smtp_url is None and not own_mailer:
            raise ConfigError(
                f"{variable('smtp_url')} must be set in production: password reset and e-mail "
                "verification need a mailer (or pass AuthGate(mailer=...))"
            )
        if self.public_url is None and (own_mailer is not None or self.smtp_url is not None):
            raise ConfigError(
                f"{variable('public_url')} must be set in production: the links in password "
                "reset and verification mails are built from it"
            )

    def _check_production(self) -> None:
        required = ["refresh_token_secret"]
        if not self.access_jwks:  # with a key ring the access secret signs nothing
            required.insert(0, "access_token_secret")
        for attr in required:
            secret: str = getattr(self, attr)
            if not secret:
                raise ConfigError(f"{variable(attr)} must be set in production")
            if len(secret.encode()) < MIN_SECRET_BYTES:
                raise ConfigError(
                    f"{variable(attr)} must be at least {MIN_SECRET_BYTES} bytes in production"
                )
        if not self.access_jwks and self.access_token_secret == self.refresh_token_secret:
            raise ConfigError(_SECRETS_EQUAL)
        if self.embedded_database:
            raise ConfigError(
                f"{variable('database_url')} must name a real database in production, not SQLite"
            )
        if self.embedded_redis:
            raise ConfigError(
                f"{variable('redis_url')} must be set in production (the in-process Redis is "
                "for trying out)"
            )
        if self.bcrypt_rounds < MIN_PRODUCTION_BCRYPT_ROUNDS:
            raise ConfigError(
                f"{variable('bcrypt_rounds')} must be at least "
                f"{MIN_PRODUCTION_BCRYPT_ROUNDS} in production"
            )


_SPECS: dict[str, Spec] = {f.name: f.metadata[_SPEC] for f in fields(Settings)}
_SECRETS_EQUAL = (
    f"{_SPECS['refresh_token_secret'].env} must differ from {_SPECS['access_token_secret'].env}"
)


def variable(name: str) -> str:
    """The environment variable of the setting ``name`` (``"max_body_bytes"``).

    Raises:
        KeyError: ``name`` is no setting.
    """
    return _SPECS[name].env


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


# --- the documentation ----------------------------------------------------------------------


def configuration_table() -> str:
    """Every setting as a Markdown table: variable, default, what it accepts, meaning.

    ``docs/configuration.md`` holds it; ``uv run python docs/settings_table.py`` writes it
    there again after a setting changes.
    """
    rows = ["| Variable | Default | Accepts | Meaning |", "| --- | --- | --- | --- |"]
    for each in fields(Settings):
        spec: Spec = each.metadata[_SPEC]
        names = " / ".join(_code(name) for name in (spec.env, spec.file_env) if name)
        default = spec.shown if spec.shown is not None else spec.parse.show(each.default)
        accepts = spec.parse.doc if spec.check is None else f"{spec.parse.doc}, {spec.check.doc}"
        cells = (names, default, accepts, spec.doc)
        rows.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return "\n".join(rows) + "\n"
