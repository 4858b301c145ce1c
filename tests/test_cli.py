"""The ``authgate`` console script, run as a subprocess against the real PostgreSQL and
Redis: what an operator types, what they read, and what the running app then does."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from authgate import AuthGate, Settings
from authgate.cli import build_parser
from authgate.keys import KeyRing
from authgate.migrations import head_revision
from tests.conftest import PASSWORD, DatabaseFactory, bearer, register_and_login, secret_for
from tests.processes import closed_port

# the console script uv installed next to this interpreter
AUTHGATE = str(Path(sys.executable).with_name("authgate"))
SERVICE_VARIABLES = {
    "ACCESS_TOKEN_SECRET",
    "ACCESS_TOKEN_EXPIRY",
    "REFRESH_TOKEN_SECRET",
    "REFRESH_TOKEN_EXPIRY",
    "DATABASE_URL",
    "REDIS_URL",
}


def environment(settings: Settings, **variables: str) -> dict[str, str]:
    """The environment an operator would have next to the app of ``settings``."""
    environ = {
        key: value
        for key, value in os.environ.items()
        if key not in SERVICE_VARIABLES and not key.startswith("AUTHGATE_")
    }
    environ |= {
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url or "",
        "ACCESS_TOKEN_SECRET": settings.access_token_secret,
        "REFRESH_TOKEN_SECRET": settings.refresh_token_secret,
        "AUTHGATE_REDIS_PREFIX": settings.redis_prefix,
        "AUTHGATE_BCRYPT_ROUNDS": "4",
    }
    return environ | variables


def run(env: dict[str, str], *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [AUTHGATE, *args], input=stdin, capture_output=True, text=True, env=env, timeout=60
    )


def ok(env: dict[str, str], *args: str, stdin: str = "") -> str:
    """Run a command that must succeed; its standard output."""
    result = run(env, *args, stdin=stdin)
    assert result.returncode == 0, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    return result.stdout


def fails(env: dict[str, str], code: int, *args: str, stdin: str = "") -> str:
    """Run a command that must fail with ``code`` and one line on stderr; that line."""
    result = run(env, *args, stdin=stdin)
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.fixture
def env(settings: Settings) -> dict[str, str]:
    return environment(settings)


async def me(client: httpx.AsyncClient, token: str) -> httpx.Response:
    client.cookies.clear()
    return await client.get("/auth/me", headers=bearer(token))


def test_every_command_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    commands: list[list[str]] = []

    def walk(parser: argparse.ArgumentParser, path: list[str]) -> None:
        commands.append(path)
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, child in action.choices.items():
                    walk(child, [*path, name])

    walk(build_parser(), [])
    leaves = {" ".join(path) for path in commands if len(path) == 2}
    assert leaves == {
        "db upgrade",
        "users create",
        "users list",
        "users show",
        "users deactivate",
        "users activate",
        "users delete",
        "users grant",
        "users revoke",
        "sessions list",
        "sessions revoke",
        "keys generate",
        "config check",
    }
    for path in commands:
        with pytest.raises(SystemExit) as exited:
            build_parser().parse_args([*path, "--help"])
        assert exited.value.code == 0
        assert "usage: authgate" in capsys.readouterr().out


@pytest.mark.processes  # the CLI, as a subprocess
async def test_db_upgrade_brings_a_fresh_database_to_the_current_schema(
    settings: Settings, new_database: DatabaseFactory
) -> None:
    env = environment(settings, DATABASE_URL=await new_database())
    # before the upgrade, user commands say what to do instead of failing on a missing table
    assert "authgate db upgrade" in fails(env, 1, "users", "list")
    assert f"migrated to revision {head_revision()}" in ok(env, "db", "upgrade")
    assert f"already at revision {head_revision()}" in ok(env, "db", "upgrade")
    assert ok(env, "users", "list", "--json") == '{"users": [], "next": null}\n'


@pytest.mark.processes  # the CLI, as a subprocess
async def test_a_user_made_and_managed_from_the_shell(
    env: dict[str, str], gate: AuthGate, client: httpx.AsyncClient
) -> None:
    username = f"cli_{os.urandom(4).hex()}"
    created = ok(
        env,
        *("users", "create", "--username", username, "--email", f"{username}@Example.com"),
        *("--full-name", "Shell User", "--password-stdin", "--json"),
        stdin=PASSWORD + "\n",
    )
    user = json.loads(created)
    assert user["username"] == username
    assert user["email"] == f"{username}@example.com"
    assert user["roles"] == []
    assert user["active"] is True
    assert "hash" not in created.lower()
    assert "$2b$" not in created

    shown = ok(env, "users", "show", user["email"])
    assert f"id:        {user['id']}" in shown
    listed = json.loads(ok(env, "users", "list", "--after", username[:-1], "--json"))
    assert user["id"] in [entry["id"] for entry in listed["users"]]

    # the password set on the shell logs in through the app
    account = await register_and_login(client, username=username + "_web")
    login = await client.post("/auth/login", json={"username": username, "password": PASSWORD})
    assert login.status_code == 200, login.text
    token = login.json()["data"]["accessToken"]
    assert (await me(client, token)).json()["data"]["roles"] == []  # now cached

    assert "admin, billing:read" in ok(env, "users", "grant", username, "admin", "billing:read")
    assert (await me(client, token)).json()["data"]["roles"] == ["admin", "billing:read"]
    assert "billing:read" in ok(env, "users", "revoke", user["id"], "admin")
    assert (await me(client, token)).json()["data"]["roles"] == ["billing:read"]

    ok(env, "users", "deactivate", username)
    assert (await me(client, token)).status_code == 401  # at once, not at the token's expiry
    again = await client.post("/auth/login", json={"username": username, "password": PASSWORD})
    assert again.status_code == 401
    ok(env, "users", "activate", username)
    again = await client.post("/auth/login", json={"username": username, "password": PASSWORD})
    assert again.status_code == 200

    ok(env, "users", "delete", username)
    assert (await me(client, again.json()["data"]["accessToken"])).status_code == 401
    assert username in fails(env, 1, "users", "show", username)
    assert (await me(client, account.access_token)).status_code == 200  # nobody else touched


@pytest.mark.processes  # the CLI, as a subprocess
async def test_sessions_are_listed_and_revoked_from_the_shell(
    env: dict[str, str], gate: AuthGate, client: httpx.AsyncClient
) -> None:
    account = await register_and_login(client)
    second = await client.post(
        "/auth/login", json={"username": account.username, "password": account.password}
    )
    second_token = second.json()["data"]["accessToken"]

    sessions = json.loads(ok(env, "sessions", "list", account.username, "--json"))
    assert len(sessions) == 2
    assert set(sessions[0]) == {"id", "createdAt", "lastUsedAt", "ip", "userAgent", "device"}
    assert account.access_token not in json.dumps(sessions)

    ok(env, "sessions", "revoke", account.username, sessions[0]["id"])
    assert (await me(client, account.access_token)).status_code == 401
    assert (await me(client, second_token)).status_code == 200
    assert "No such session" in fails(env, 1, "sessions", "revoke", account.id, sessions[0]["id"])

    assert "revoked 1 session" in ok(env, "sessions", "revoke", account.email, "--all")
    assert (await me(client, second_token)).status_code == 401


@pytest.mark.processes  # the CLI, as a subprocess
def test_keys_generate(env: dict[str, str]) -> None:
    secret = ok(env, "keys", "generate").strip()
    assert len(secret.encode()) >= 48
    ring = KeyRing.from_jwks(ok(env, "keys", "generate", "--alg", "ES256", "--kid", "k-1"))
    assert ring.signer.kid == "k-1"
    assert ring.signer.algorithm == "ES256"
    assert "--kid" in fails(env, 2, "keys", "generate", "--alg", "EdDSA", "--kid", "a b")


@pytest.mark.processes  # the CLI, as a subprocess
def test_config_check(env: dict[str, str]) -> None:
    production = env | {
        "AUTHGATE_ENV": "production",
        "AUTHGATE_BCRYPT_ROUNDS": "12",
        "AUTHGATE_SMTP_URL": "smtp://mailer:mail-secret@mail.example.com:587",
        "AUTHGATE_PUBLIC_URL": "https://app.example.com",
    }
    out = ok(production, "config", "check")
    assert "ok: the production configuration" in out
    assert "mail: SMTP; links to https://app.example.com" in out
    assert "mail-secret" not in out
    no_link = production | {"AUTHGATE_PUBLIC_URL": ""}
    assert "AUTHGATE_PUBLIC_URL" in fails(no_link, 1, "config", "check")
    assert secret_for("access") not in out
    assert "REDIS_URL" in fails(env | {"REDIS_URL": ""}, 1, "config", "check", "--production")


@pytest.mark.processes  # the CLI, as a subprocess
async def test_errors_are_one_line_and_a_non_zero_exit(
    env: dict[str, str], gate: AuthGate, client: httpx.AsyncClient
) -> None:
    account = await register_and_login(client)
    create = ("users", "create", "--full-name", "X", "--username")
    no_redis = env | {"REDIS_URL": f"redis://127.0.0.1:{closed_port()}/0"}
    no_database = env | {
        "DATABASE_URL": f"postgresql+asyncpg://postgres@127.0.0.1:{closed_port()}/none"
    }
    # (environment, expected exit code, expected words, arguments, stdin)
    cases: list[tuple[dict[str, str], int, str, tuple[str, ...], str]] = [
        (env, 1, "No such user: nobody_at_all", ("users", "show", "nobody_at_all"), ""),
        (env, 2, "role", ("users", "grant", account.username, "Not A Role"), ""),
        (env, 2, "--email", (*create, "x_y_z", "--email", "nope", "--password-stdin"), PASSWORD),
        (
            env,
            1,
            "already taken",
            (*create, account.username, "--email", "new@example.com", "--password-stdin"),
            PASSWORD,
        ),
        (env, 2, "--password-stdin", (*create, "x_y_z", "--email", "x@example.com"), ""),
        (env, 2, "required", ("sessions", "revoke", account.username), ""),
        (no_redis, 3, "REDIS_URL", ("users", "deactivate", account.username), ""),
        (no_database, 3, "DATABASE_URL", ("users", "show", account.username), ""),
    ]

    def check(case: tuple[dict[str, str], int, str, tuple[str, ...], str]) -> None:
        environ, code, words, args, stdin = case
        assert words in fails(environ, code, *args, stdin=stdin + "\n" if stdin else "")

    # independent commands: run side by side to keep the test short
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(check, cases))
    # nothing changed on the way: the user is still active and logged in
    assert (await me(client, account.access_token)).status_code == 200
