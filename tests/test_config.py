"""Settings: duration parsing, the environment variables, defaults, the production guard and
the generated configuration table."""

from __future__ import annotations

import dataclasses
import logging
import re
from pathlib import Path
from typing import Any

import pytest

from authgate import AuthGate
from authgate.config import Settings, configuration_table, parse_duration, variable
from authgate.errors import ConfigError

ACCESS_SECRET = "a" * 40
REFRESH_SECRET = "r" * 40
POSTGRES_URL = "postgresql+asyncpg://authgate@db.example/authgate"
REDIS_URL = "redis://cache.example:6379/0"
CONFIGURATION_PAGE = Path(__file__).parent.parent / "docs" / "configuration.md"


def production_environ(**changes: str | None) -> dict[str, str]:
    """A complete, valid production environment; ``None`` removes a variable."""
    environ = {
        "AUTHGATE_ENV": "production",
        "ACCESS_TOKEN_SECRET": ACCESS_SECRET,
        "REFRESH_TOKEN_SECRET": REFRESH_SECRET,
        "DATABASE_URL": POSTGRES_URL,
        "REDIS_URL": REDIS_URL,
    }
    for name, value in changes.items():
        if value is None:
            environ.pop(name, None)
        else:
            environ[name] = value
    return environ


# --- parse_duration -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30s", 30),
        ("15m", 15 * 60),
        ("2h", 2 * 3600),
        ("7d", 7 * 86400),
        ("45", 45),
        ("0", 0),
        (" 15m ", 900),
    ],
)
def test_parse_duration_understands_units_and_bare_seconds(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


def test_parse_duration_accepts_an_int_as_seconds() -> None:
    assert parse_duration(90) == 90


@pytest.mark.parametrize("text", ["", "abc", "15x", "m", "1.5h", "-5", "15 minutes", "5s5", "1e3"])
def test_parse_duration_refuses_what_is_not_a_duration(text: str) -> None:
    with pytest.raises(ConfigError, match="ACCESS_TOKEN_EXPIRY"):
        parse_duration(text, name="ACCESS_TOKEN_EXPIRY")


def test_parse_duration_refuses_a_negative_int() -> None:
    with pytest.raises(ConfigError, match="LOGIN_WINDOW must not be negative"):
        parse_duration(-1, name="LOGIN_WINDOW")


@pytest.mark.parametrize(
    "name",
    ["ACCESS_TOKEN_EXPIRY", "REFRESH_TOKEN_EXPIRY", "AUTHGATE_LOGIN_WINDOW"],
)
def test_a_bad_duration_in_the_environment_names_the_variable(name: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env(environ={name: "soon"})
    assert name in str(caught.value)


@pytest.mark.parametrize(
    "name",
    [
        "AUTHGATE_REFRESH_GRACE_SECONDS",
        "AUTHGATE_BCRYPT_ROUNDS",
        "AUTHGATE_LOGIN_MAX_FAILURES",
        "AUTHGATE_USER_CACHE_SECONDS",
        "AUTHGATE_REDIS_MAX_CONNECTIONS",
        "AUTHGATE_MAX_BODY_BYTES",
    ],
)
def test_a_bad_number_in_the_environment_names_the_variable(name: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env(environ={name: "twelve"})
    assert name in str(caught.value)


# --- from_env and defaults ------------------------------------------------------------------


def test_from_env_reads_every_contract_variable() -> None:
    environ = {
        "ACCESS_TOKEN_SECRET": ACCESS_SECRET,
        "ACCESS_TOKEN_EXPIRY": "30s",
        "REFRESH_TOKEN_SECRET": REFRESH_SECRET,
        "REFRESH_TOKEN_EXPIRY": "2h",
        "DATABASE_URL": POSTGRES_URL,
        "REDIS_URL": REDIS_URL,
        "AUTHGATE_ENV": "production",
        "AUTHGATE_ISSUER": "https://issuer.example",
        "AUTHGATE_AUDIENCE": "my-api",
        "AUTHGATE_REFRESH_GRACE_SECONDS": "3",
        "AUTHGATE_BCRYPT_ROUNDS": "11",
        "AUTHGATE_LOGIN_MAX_FAILURES": "7",
        "AUTHGATE_LOGIN_WINDOW": "1h",
        "AUTHGATE_TRUSTED_ORIGINS": "https://app.example, https://admin.example/ ,",
        "AUTHGATE_USER_CACHE_SECONDS": "0",
        "AUTHGATE_REDIS_MAX_CONNECTIONS": "8",
    }
    settings = Settings.from_env(environ=environ)
    assert settings.access_token_secret == ACCESS_SECRET
    assert settings.access_token_expiry == 30
    assert settings.refresh_token_secret == REFRESH_SECRET
    assert settings.refresh_token_expiry == 7200
    assert settings.database_url == POSTGRES_URL
    assert settings.redis_url == REDIS_URL
    assert settings.env == "production"
    assert settings.production
    assert settings.issuer == "https://issuer.example"
    assert settings.audience == "my-api"
    assert settings.refresh_grace_seconds == 3
    assert settings.bcrypt_rounds == 11
    assert settings.login_max_failures == 7
    assert settings.login_window == 3600
    # Comma separated, blanks dropped, a trailing slash does not make another origin.
    assert settings.trusted_origins == ("https://app.example", "https://admin.example")
    assert settings.user_cache_seconds == 0  # 0 turns the user cache off
    assert settings.redis_max_connections == 8


def test_defaults_follow_the_contract() -> None:
    settings = Settings.from_env(
        environ={"ACCESS_TOKEN_SECRET": ACCESS_SECRET, "REFRESH_TOKEN_SECRET": REFRESH_SECRET}
    )
    assert settings.access_token_expiry == 15 * 60
    assert settings.refresh_token_expiry == 7 * 86400
    assert settings.database_url == "sqlite+aiosqlite:///./authgate.db"
    assert settings.embedded_database
    assert settings.redis_url is None
    assert settings.embedded_redis
    assert settings.env == "development"
    assert not settings.production
    assert settings.issuer == "authgate"
    assert settings.audience == "authgate"
    assert settings.refresh_grace_seconds == 10
    assert settings.bcrypt_rounds == 12
    assert settings.login_max_failures == 5
    assert settings.login_window == 15 * 60
    assert settings.trusted_origins == ()
    assert settings.user_cache_seconds == 30
    assert 0 <= settings.token_leeway_seconds <= 30
    assert settings.redis_max_connections == 50
    assert settings.max_body_bytes == 64 * 1024


def test_blank_variables_count_as_unset() -> None:
    settings = Settings.from_env(
        environ={
            "ACCESS_TOKEN_SECRET": ACCESS_SECRET,
            "REFRESH_TOKEN_SECRET": REFRESH_SECRET,
            "DATABASE_URL": "  ",
            "ACCESS_TOKEN_EXPIRY": "",
        }
    )
    assert settings.database_url == "sqlite+aiosqlite:///./authgate.db"
    assert settings.access_token_expiry == 15 * 60


def test_keyword_overrides_win_over_the_environment() -> None:
    settings = Settings.from_env(
        environ={
            "ACCESS_TOKEN_SECRET": ACCESS_SECRET,
            "REFRESH_TOKEN_SECRET": REFRESH_SECRET,
            "AUTHGATE_ISSUER": "from-env",
        },
        issuer="from-code",
    )
    assert settings.issuer == "from-code"


def test_from_env_does_not_read_os_environ_when_given_a_mapping(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AUTHGATE_ISSUER", "leaked-from-process")
    settings = Settings.from_env(
        environ={"ACCESS_TOKEN_SECRET": ACCESS_SECRET, "REFRESH_TOKEN_SECRET": REFRESH_SECRET}
    )
    assert settings.issuer == "authgate"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("AUTHGATE_ENV", "staging"),
        ("ACCESS_TOKEN_EXPIRY", "0"),
        ("REFRESH_TOKEN_EXPIRY", "0s"),
        ("AUTHGATE_LOGIN_MAX_FAILURES", "0"),
        ("AUTHGATE_LOGIN_WINDOW", "0m"),
        ("AUTHGATE_REFRESH_GRACE_SECONDS", "-1"),
        ("AUTHGATE_USER_CACHE_SECONDS", "-5"),
        ("AUTHGATE_BCRYPT_ROUNDS", "3"),
        ("AUTHGATE_BCRYPT_ROUNDS", "32"),
        ("AUTHGATE_REDIS_MAX_CONNECTIONS", "0"),
        ("AUTHGATE_MAX_BODY_BYTES", "0"),
        ("AUTHGATE_TOKEN_LEEWAY", "31"),
    ],
)
def test_out_of_range_values_are_refused_naming_the_variable(name: str, value: str) -> None:
    environ = {
        "ACCESS_TOKEN_SECRET": ACCESS_SECRET,
        "REFRESH_TOKEN_SECRET": REFRESH_SECRET,
        name: value,
    }
    with pytest.raises(ConfigError) as caught:
        Settings.from_env(environ=environ)
    assert name in str(caught.value)


def test_the_largest_body_is_read_from_the_environment() -> None:
    settings = Settings.from_env(
        environ={
            "ACCESS_TOKEN_SECRET": ACCESS_SECRET,
            "REFRESH_TOKEN_SECRET": REFRESH_SECRET,
            "AUTHGATE_MAX_BODY_BYTES": "1024",
        }
    )
    assert settings.max_body_bytes == 1024


def test_the_range_checks_apply_to_settings_built_in_code_too() -> None:
    with pytest.raises(ConfigError, match="AUTHGATE_MAX_BODY_BYTES must be greater than zero"):
        Settings(max_body_bytes=0).checked()
    with pytest.raises(ConfigError, match="AUTHGATE_TOKEN_LEEWAY must be between 0 and 30"):
        Settings(token_leeway_seconds=31).checked()


def test_settings_are_immutable() -> None:
    settings = Settings.from_env(environ=production_environ())
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.access_token_secret = "changed"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.env = "development"  # type: ignore[misc]
    assert settings.access_token_secret == ACCESS_SECRET
    assert settings.production


def test_secrets_do_not_appear_in_the_repr() -> None:
    settings = Settings.from_env(environ=production_environ())
    text = repr(settings)
    assert ACCESS_SECRET not in text
    assert REFRESH_SECRET not in text


# --- the production guard -------------------------------------------------------------------


def test_a_complete_production_environment_is_accepted() -> None:
    settings = Settings.from_env(environ=production_environ())
    assert settings.production
    assert not settings.embedded_database
    assert not settings.embedded_redis


@pytest.mark.parametrize(
    ("changes", "variable"),
    [
        ({"ACCESS_TOKEN_SECRET": None}, "ACCESS_TOKEN_SECRET"),
        ({"REFRESH_TOKEN_SECRET": None}, "REFRESH_TOKEN_SECRET"),
        ({"ACCESS_TOKEN_SECRET": "a" * 31}, "ACCESS_TOKEN_SECRET"),
        ({"REFRESH_TOKEN_SECRET": "r" * 31}, "REFRESH_TOKEN_SECRET"),
        # Bytes, not characters: 10 euro signs are 30 bytes.
        ({"ACCESS_TOKEN_SECRET": "€" * 10}, "ACCESS_TOKEN_SECRET"),
        ({"REFRESH_TOKEN_SECRET": ACCESS_SECRET}, "REFRESH_TOKEN_SECRET"),
        ({"DATABASE_URL": None}, "DATABASE_URL"),
        ({"DATABASE_URL": "sqlite+aiosqlite:///./prod.db"}, "DATABASE_URL"),
        ({"REDIS_URL": None}, "REDIS_URL"),
        ({"AUTHGATE_BCRYPT_ROUNDS": "9"}, "AUTHGATE_BCRYPT_ROUNDS"),
        ({"AUTHGATE_BCRYPT_ROUNDS": "4"}, "AUTHGATE_BCRYPT_ROUNDS"),
    ],
    ids=[
        "missing-access-secret",
        "missing-refresh-secret",
        "short-access-secret",
        "short-refresh-secret",
        "short-multibyte-secret",
        "equal-secrets",
        "embedded-sqlite-default",
        "explicit-sqlite",
        "embedded-redis",
        "bcrypt-rounds-9",
        "bcrypt-rounds-4",
    ],
)
def test_production_refuses_unsafe_settings_naming_the_variable(
    changes: dict[str, str | None], variable: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env(environ=production_environ(**changes))
    assert variable in str(caught.value)


def test_production_blames_the_secret_that_is_wrong() -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env(environ=production_environ(REFRESH_TOKEN_SECRET="short"))
    assert "REFRESH_TOKEN_SECRET" in str(caught.value)
    assert "ACCESS_TOKEN_SECRET" not in str(caught.value)


@pytest.mark.parametrize(
    "changes",
    [
        {"ACCESS_TOKEN_SECRET": "a" * 32},
        {"ACCESS_TOKEN_SECRET": "€" * 11},  # 11 characters, 33 bytes
        {"AUTHGATE_BCRYPT_ROUNDS": "10"},
    ],
    ids=["secret-of-32-bytes", "multibyte-secret-of-33-bytes", "bcrypt-rounds-10"],
)
def test_production_accepts_the_boundaries(changes: dict[str, str | None]) -> None:
    assert Settings.from_env(environ=production_environ(**changes)).production


def test_production_never_generates_secrets() -> None:
    with pytest.raises(ConfigError, match="ACCESS_TOKEN_SECRET"):
        Settings(
            env="production", database_url=POSTGRES_URL, redis_url=REDIS_URL, bcrypt_rounds=12
        ).checked()


def test_the_guard_also_applies_to_settings_built_in_code() -> None:
    settings: dict[str, Any] = {
        "env": "production",
        "access_token_secret": ACCESS_SECRET,
        "refresh_token_secret": REFRESH_SECRET,
        "redis_url": REDIS_URL,
    }
    with pytest.raises(ConfigError, match="DATABASE_URL"):
        Settings(**settings).checked()
    assert Settings(**settings, database_url=POSTGRES_URL).checked().production


# --- development ----------------------------------------------------------------------------


def test_development_generates_missing_secrets_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="authgate"):
        settings = Settings.from_env(environ={})
    assert len(settings.access_token_secret.encode()) >= 32
    assert len(settings.refresh_token_secret.encode()) >= 32
    assert settings.access_token_secret != settings.refresh_token_secret
    warnings = [r for r in caplog.records if r.name == "authgate" and r.levelno == logging.WARNING]
    messages = " ".join(record.getMessage() for record in warnings)
    assert "ACCESS_TOKEN_SECRET" in messages
    assert "REFRESH_TOKEN_SECRET" in messages
    # The generated secret itself is never logged.
    assert settings.access_token_secret not in caplog.text
    assert settings.refresh_token_secret not in caplog.text


def test_development_generates_different_secrets_each_time() -> None:
    first = Settings.from_env(environ={})
    second = Settings.from_env(environ={})
    assert first.access_token_secret != second.access_token_secret
    assert first.refresh_token_secret != second.refresh_token_secret


def test_development_keeps_a_given_secret_and_generates_only_the_missing_one(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="authgate"):
        settings = Settings.from_env(environ={"ACCESS_TOKEN_SECRET": ACCESS_SECRET})
    assert settings.access_token_secret == ACCESS_SECRET
    assert settings.refresh_token_secret not in ("", ACCESS_SECRET)
    messages = " ".join(r.getMessage() for r in caplog.records if r.name == "authgate")
    assert "REFRESH_TOKEN_SECRET" in messages
    assert "ACCESS_TOKEN_SECRET is not set" not in messages


def test_development_with_both_secrets_logs_no_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="authgate"):
        Settings.from_env(
            environ={"ACCESS_TOKEN_SECRET": ACCESS_SECRET, "REFRESH_TOKEN_SECRET": REFRESH_SECRET}
        )
    assert [r for r in caplog.records if r.name == "authgate"] == []


def test_development_refuses_equal_secrets() -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env(
            environ={"ACCESS_TOKEN_SECRET": "same-secret", "REFRESH_TOKEN_SECRET": "same-secret"}
        )
    assert "REFRESH_TOKEN_SECRET" in str(caught.value)


def test_development_allows_the_embedded_defaults_and_a_low_bcrypt_cost() -> None:
    settings = Settings.from_env(
        environ={
            "ACCESS_TOKEN_SECRET": "short",
            "REFRESH_TOKEN_SECRET": "other",
            "AUTHGATE_BCRYPT_ROUNDS": "4",
        }
    )
    assert settings.embedded_database
    assert settings.embedded_redis
    assert settings.bcrypt_rounds == 4


def test_auth_gate_applies_the_guard_to_settings_built_in_code() -> None:

    with pytest.raises(ConfigError, match="ACCESS_TOKEN_SECRET"):
        AuthGate(Settings(env="production"))


async def test_auth_gate_never_signs_with_an_empty_secret(tmp_path: Path) -> None:

    gate = AuthGate(Settings(database_url=f"sqlite+aiosqlite:///{tmp_path}/x.db"))
    try:
        assert len(gate.settings.access_token_secret) >= 32
        assert len(gate.settings.refresh_token_secret) >= 32
    finally:
        await gate.shutdown()


# --- the mail a production app needs --------------------------------------------------------


def production_settings(**changes: Any) -> Settings:
    return Settings.from_env(environ=production_environ(), **changes)


def test_a_plain_check_does_not_ask_for_mail() -> None:
    assert production_settings().checked().production


def test_an_app_without_its_own_mailer_needs_smtp_in_production() -> None:
    with pytest.raises(ConfigError, match="AUTHGATE_SMTP_URL must be set in production"):
        production_settings(public_url="https://app.example.com").checked(own_mailer=False)


def test_an_app_with_its_own_mailer_needs_only_the_public_url_in_production() -> None:
    with pytest.raises(ConfigError, match="AUTHGATE_PUBLIC_URL must be set in production"):
        production_settings().checked(own_mailer=True)
    assert production_settings(public_url="https://app.example.com").checked(own_mailer=True)


def test_development_needs_no_mail() -> None:
    assert not Settings().checked(own_mailer=False).production


# --- one declaration per setting, and the table generated from it ---------------------------


def test_every_setting_has_its_own_variable_and_a_row_in_the_table() -> None:
    table = configuration_table()
    names = [variable(each.name) for each in dataclasses.fields(Settings)]
    assert len(set(names)) == len(names)
    for name in names:
        assert re.fullmatch(r"[A-Z][A-Z_]*", name)
        assert re.search(rf"^\| `{name}`", table, re.MULTILINE), name
    rows = [line for line in table.splitlines() if line.startswith("| `")]
    assert len(rows) == len(names)


def test_the_variable_names_are_kept() -> None:
    # public names: renaming one silently drops a deployment's setting
    assert {variable(each.name) for each in dataclasses.fields(Settings)} >= {
        "ACCESS_TOKEN_SECRET",
        "ACCESS_TOKEN_EXPIRY",
        "REFRESH_TOKEN_SECRET",
        "REFRESH_TOKEN_EXPIRY",
        "DATABASE_URL",
        "REDIS_URL",
        "AUTHGATE_ENV",
        "AUTHGATE_ISSUER",
        "AUTHGATE_AUDIENCE",
        "AUTHGATE_REFRESH_GRACE_SECONDS",
        "AUTHGATE_BCRYPT_ROUNDS",
        "AUTHGATE_LOGIN_MAX_FAILURES",
        "AUTHGATE_LOGIN_WINDOW",
        "AUTHGATE_LOGIN_MAX_FAILURES_PER_IP",
        "AUTHGATE_TRUSTED_PROXIES",
        "AUTHGATE_TRUSTED_ORIGINS",
        "AUTHGATE_USER_CACHE_SECONDS",
        "AUTHGATE_TOKEN_LEEWAY",
        "AUTHGATE_MAX_SESSIONS",
        "AUTHGATE_MAX_BODY_BYTES",
        "AUTHGATE_REDIS_PREFIX",
        "AUTHGATE_REDIS_MAX_CONNECTIONS",
        "AUTHGATE_REFRESH_COOKIE_PATH",
        "AUTHGATE_ACCESS_JWKS",
        "AUTHGATE_ACCESS_SIGNING_KID",
        "AUTHGATE_PUBLIC_URL",
        "AUTHGATE_SMTP_URL",
        "AUTHGATE_MAIL_FROM",
        "AUTHGATE_RESET_TOKEN_TTL",
        "AUTHGATE_VERIFY_TOKEN_TTL",
        "AUTHGATE_REQUIRE_VERIFIED_EMAIL",
        "AUTHGATE_RECOVERY_MAX_PER_ADDRESS",
        "AUTHGATE_RECOVERY_MAX_PER_IP",
    }
    assert "| `AUTHGATE_ACCESS_JWKS` / `AUTHGATE_ACCESS_JWKS_FILE` |" in configuration_table()


def test_the_configuration_page_holds_the_generated_table() -> None:
    page = CONFIGURATION_PAGE.read_text(encoding="utf-8")
    found = re.search(r"<!-- settings:start -->\n(.*)<!-- settings:end -->", page, re.DOTALL)
    assert found is not None, "docs/configuration.md lost its settings markers"
    assert found.group(1) == configuration_table(), (
        "docs/configuration.md is out of date: run `uv run python docs/settings_table.py`"
    )
