"""The Python code of the README and the docs/ pages, run as written (with the test
services in the environment ``Settings.from_env()`` reads), then used as a developer would.

Each block the tests run is marked ``<!-- runnable: NAME -->`` on the line before it
(``tests/markdown_pages.py``); every marked block runs, and the ones below are also put to
work by name.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from authgate import AuthGate, Settings
from tests.conftest import PASSWORD, DatabaseFactory, unique_username
from tests.markdown_pages import relative, runnable_blocks
from tests.processes import free_port, stop_process, wait_until_serving
from tests.test_mounting import client_of, running


def snippet(name: str) -> str:
    """The code of the block marked ``<!-- runnable: name -->`` (in README.md or docs/)."""
    return runnable_blocks()[name].code


def run_snippet(name: str) -> dict[str, Any]:
    """Execute a marked block as a module; its globals."""
    block = runnable_blocks()[name]
    namespace: dict[str, Any] = {"__name__": f"docs_{name.replace('-', '_')}"}
    where = f"{relative(block.page)}:{block.line} ({name})"
    exec(compile(block.code, where, "exec"), namespace)  # noqa: S102
    return namespace


@pytest.fixture(autouse=True)
def service_environment(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """What an app's environment would hold: the test run's PostgreSQL, Redis and secrets."""
    for name, value in {
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url or "",
        "ACCESS_TOKEN_SECRET": settings.access_token_secret,
        "REFRESH_TOKEN_SECRET": settings.refresh_token_secret,
        "AUTHGATE_REDIS_PREFIX": settings.redis_prefix,
        "AUTHGATE_BCRYPT_ROUNDS": "4",
    }.items():
        monkeypatch.setenv(name, value)


async def sign_up(client: httpx.AsyncClient, prefix: str = "/auth") -> str:
    """Register and log in (the client keeps the cookies); the user's id."""
    username = unique_username()
    registered = await client.post(
        f"{prefix}/register",
        json={
            "username": username,
            "email": f"{username}@example.com",
            "fullName": "Readme Reader",
            "password": PASSWORD,
        },
    )
    assert registered.status_code == 201, registered.text
    login = await client.post(f"{prefix}/login", json={"username": username, "password": PASSWORD})
    assert login.status_code == 200, login.text
    user_id: str = login.json()["data"]["user"]["id"]
    return user_id


@pytest.mark.parametrize("name", sorted(runnable_blocks()))
async def test_every_runnable_block_runs_as_written(name: str) -> None:
    """Each marked block executes as a module; the gates it builds shut down cleanly."""
    namespace = run_snippet(name)
    gates = [value for value in namespace.values() if isinstance(value, AuthGate)]
    for gate in gates:
        await gate.shutdown()


async def test_using_it_in_a_starlette_app() -> None:
    module = run_snippet("starlette-app")
    app, gate = module["app"], module["gate"]
    async with running(app), client_of(app) as client:
        assert (await client.get("/dashboard")).status_code == 401
        assert (await client.get("/admin/reports")).status_code == 401
        user_id = await sign_up(client)
        assert (await client.get("/dashboard")).json()["id"] == user_id
        assert (await client.get("/admin/reports")).status_code == 403
        await gate.accounts.grant_role(user_id, "admin")
        reports = await client.get("/admin/reports")
        assert reports.json() == {"scopes": ["authenticated", "admin"]}


async def test_mounting_in_any_asgi_app() -> None:
    module = run_snippet("asgi-wrap")
    application, gate = module["application"], module["gate"]
    async with running(application), client_of(application) as client:
        assert (await client.get("/hello")).text == "hello stranger"
        assert (await client.get("/api/anything")).status_code == 401
        user_id = await sign_up(client)
        user = (await client.get("/auth/me")).json()["data"]
        assert (await client.get("/api/anything")).text == f"hello {user['username']}"
        assert (await client.get("/admin/")).status_code == 403
        await gate.accounts.grant_role(user_id, "admin")
        assert (await client.get("/admin/")).status_code == 200
        refreshed = await client.post("/auth/refresh-token")
        assert refreshed.status_code == 200
        assert (await client.post("/auth/logout")).status_code == 200
        assert (await client.get("/api/anything")).status_code == 401


async def test_granting_roles_through_the_service(make_gate: Any) -> None:
    make_admin = run_snippet("make-admin")["make_admin"]
    gate: AuthGate = await make_gate()
    mounting = run_snippet("asgi-wrap")
    await mounting["gate"].shutdown()  # this test's app runs on make_gate's gate
    application = gate.wrap(mounting["app"], protect={"/admin": ["admin"]})
    async with client_of(application) as client:
        user_id = await sign_up(client)
        await gate.accounts.grant_role(user_id, "billing:read")
        username = (await client.get("/auth/me")).json()["data"]["username"]
        assert (await client.get("/admin")).status_code == 403
        await make_admin(gate, username)
        assert (await client.get("/admin")).status_code == 200
        assert (await client.get("/auth/me")).json()["data"]["roles"] == ["admin"]


async def test_your_own_error_format() -> None:
    gate: AuthGate = run_snippet("error-format")["gate"]
    mounting = run_snippet("asgi-wrap")
    await mounting["gate"].shutdown()  # the app runs on the gate with the problem renderer
    application = gate.wrap(mounting["app"], protect=["/api"])
    async with running(application), client_of(application) as client:
        refused = await client.get("/api/x")
        assert refused.status_code == 401
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.headers["www-authenticate"] == "Bearer"
        assert refused.json() == {"title": "Authentication required", "status": 401}
        bad_login = await client.post("/auth/login", json={"username": "x", "password": "y" * 12})
        assert bad_login.json() == {"title": "Invalid user credentials", "status": 401}


def serve(
    app: str, app_dir: Path, env: dict[str, str], log: Path, *options: str
) -> tuple[str, subprocess.Popen[bytes]]:
    """``uvicorn app`` on a free port, serving; its URL and process."""
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", app, "--app-dir", str(app_dir), *options]
    command += ["--host", "127.0.0.1", "--port", str(port), "--no-proxy-headers"]
    with log.open("wb") as output:
        process = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(url, process, log)
    except BaseException:
        stop_process(process)
        raise
    return url, process


@pytest.mark.processes
async def test_the_mounting_example_under_uvicorn_behind_a_root_path(
    settings: Settings, new_database: DatabaseFactory, tmp_path: Path
) -> None:
    """The README's ``gate.wrap`` block as a module, served by uvicorn with ``--root-path``
    (a proxy strips ``/myapp``) on an empty database: the lifespan migrates it."""
    (tmp_path / "readme_app.py").write_text(snippet("asgi-wrap"))
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("AUTHGATE_") and key not in ("DATABASE_URL", "REDIS_URL")
    }
    env |= {
        "DATABASE_URL": await new_database(),
        "REDIS_URL": settings.redis_url or "",
        "ACCESS_TOKEN_SECRET": settings.access_token_secret,
        "REFRESH_TOKEN_SECRET": settings.refresh_token_secret,
        "AUTHGATE_REDIS_PREFIX": settings.redis_prefix,
        "AUTHGATE_BCRYPT_ROUNDS": "4",
        "AUTHGATE_REFRESH_COOKIE_PATH": "/myapp/auth",
    }
    log = tmp_path / "uvicorn.log"
    url, process = serve("readme_app:application", tmp_path, env, log, "--root-path", "/myapp")
    try:
        async with httpx.AsyncClient(base_url=url, headers={"Origin": url}) as client:
            await sign_up(client)
            me = await client.get("/auth/me/")
            assert me.status_code == 200, me.text
            username = me.json()["data"]["username"]
            assert (await client.get("/api/x")).text == f"hello {username}"
            assert (await client.get("/admin/x")).status_code == 403
            refresh = client.cookies["refreshToken"]
            refreshed = await client.post("/auth/refresh-token", json={"refreshToken": refresh})
            assert refreshed.status_code == 200, refreshed.text
            assert "Path=/myapp/auth" in refreshed.headers["set-cookie"]
            assert (await client.post("/auth/logout")).status_code == 200
            assert (await client.get("/api/x")).status_code == 401
    finally:
        stop_process(process)
    assert "Traceback" not in log.read_text(errors="replace")


async def test_plugging_in_another_mailer(
    monkeypatch: pytest.MonkeyPatch, make_client: Any
) -> None:
    monkeypatch.setenv("AUTHGATE_PUBLIC_URL", "https://app.example.com")
    module = run_snippet("mailer")
    gate: AuthGate = module["gate"]
    await gate.startup()
    try:
        client = make_client(gate)
        username = unique_username()
        email = f"{username}@example.com"
        registered = await client.post(
            "/auth/register",
            json={"username": username, "email": email, "fullName": "R", "password": PASSWORD},
        )
        assert registered.status_code == 201
        assert (
            await client.post("/auth/forgot-password", json={"email": email})
        ).status_code == 202
        await gate.outbox.drain()
    finally:
        await gate.shutdown()
    sent = {message.kind: message for message in gate.outbox.mailer.outgoing}  # type: ignore[attr-defined]
    assert set(sent) == {"verify-email", "reset-password"}  # its own mailer counts as configured
    reset = sent["reset-password"]
    assert reset.subject == "Your Example password"
    assert reset.text.startswith(
        "Hi R, choose a new password here: https://app.example.com/#reset="
    )
    assert "(it works for 1 hour)" in reset.text


async def test_a_security_event_hook(make_client: Any) -> None:
    module = run_snippet("event-hook")
    gate: AuthGate = module["gate"]
    await gate.startup()
    try:
        client = make_client(gate)
        username = unique_username()
        failed = await client.post(
            "/auth/login", json={"username": username, "password": "not the password"}
        )
        assert failed.status_code == 401
    finally:
        await gate.shutdown()
    alerts = module["alerts"]
    assert [event.name for event in alerts] == ["login.failed"]
    assert "not the password" not in repr(alerts[0])
