"""What a production app needs besides each setting's own rule: real secrets, a real
database and Redis, bcrypt's production cost, and what the recovery flows send mail with.
``Settings.checked`` calls these when ``AUTHGATE_ENV`` is ``production``."""

from __future__ import annotations

from typing import Protocol

from authgate.config.rules import MIN_PRODUCTION_BCRYPT_ROUNDS, MIN_SECRET_BYTES, env_variable
from authgate.errors import ConfigError


class ProductionSettings(Protocol):
    """What these checks read of ``authgate.config.Settings`` (a frozen dataclass)."""

    @property
    def smtp_url(self) -> str | None: ...

    @property
    def public_url(self) -> str | None: ...

    @property
    def access_jwks(self) -> str | None: ...

    @property
    def access_token_secret(self) -> str: ...

    @property
    def refresh_token_secret(self) -> str: ...

    @property
    def bcrypt_rounds(self) -> int: ...

    @property
    def embedded_database(self) -> bool: ...

    @property
    def embedded_redis(self) -> bool: ...


def secrets_equal(settings: ProductionSettings) -> str:
    """The complaint about one secret used for both kinds of token."""
    return (
        f"{env_variable(settings, 'refresh_token_secret')} must differ from "
        f"{env_variable(settings, 'access_token_secret')}"
    )


def check_production_mail(settings: ProductionSettings, own_mailer: bool | None) -> None:
    """Refuse to start a production app that cannot send the recovery flows' mail.

    Better than silently sending nothing. Without ``own_mailer`` (not known yet) only
    SMTP counts as configured mail, and then needs the public URL its links start with.
    """
    if own_mailer is not None and settings.smtp_url is None and not own_mailer:
        raise ConfigError(
            f"{env_variable(settings, 'smtp_url')} must be set in production: password reset "
            "and e-mail verification need a mailer (or pass AuthGate(mailer=...))"
        )
    if settings.public_url is None and (own_mailer is not None or settings.smtp_url is not None):
        raise ConfigError(
            f"{env_variable(settings, 'public_url')} must be set in production: the links in "
            "password reset and verification mails are built from it"
        )


def check_production(settings: ProductionSettings) -> None:
    required = ["refresh_token_secret"]
    if not settings.access_jwks:  # with a key ring the access secret signs nothing
        required.insert(0, "access_token_secret")
    for attr in required:
        secret: str = getattr(settings, attr)
        if not secret:
            raise ConfigError(f"{env_variable(settings, attr)} must be set in production")
        if len(secret.encode()) < MIN_SECRET_BYTES:
            raise ConfigError(
                f"{env_variable(settings, attr)} must be at least {MIN_SECRET_BYTES} bytes "
                "in production"
            )
    if not settings.access_jwks and settings.access_token_secret == settings.refresh_token_secret:
        raise ConfigError(secrets_equal(settings))
    if settings.embedded_database:
        raise ConfigError(
            f"{env_variable(settings, 'database_url')} must name a real database in production, "
            "not SQLite"
        )
    if settings.embedded_redis:
        raise ConfigError(
            f"{env_variable(settings, 'redis_url')} must be set in production (the in-process "
            "Redis is for trying out)"
        )
    if settings.bcrypt_rounds < MIN_PRODUCTION_BCRYPT_ROUNDS:
        raise ConfigError(
            f"{env_variable(settings, 'bcrypt_rounds')} must be at least "
            f"{MIN_PRODUCTION_BCRYPT_ROUNDS} in production"
        )
