"""The embedded defaults (SQLite and the in-process Redis) work with no set-up at all.

The only tests allowed to use fakeredis and SQLite: they prove the default works.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from fakeredis import FakeAsyncRedis

from authgate import AuthGate, BcryptPasswordHasher, Settings
from authgate.config import EMBEDDED_DATABASE_URL
from authgate.migrations import current_revision, head_revision
from authgate.users.engine import create_engine
from tests.conftest import PASSWORD, ClientFactory, register, register_and_login
from tests.processes import free_port, stop_process, wait_until_serving
from tests.test_migrations import LEGACY

# Variables that would point the example away from its embedded defaults.
SERVICE_VARIABLES = ("DATABASE_URL", "REDIS_URL", "ACCESS_TOKEN_SECRET", "REFRESH_TOKEN_SECRET")


@pytest.fixture
async def started() -> AsyncIterator[list[AuthGate]]:
    """Gates the test starts; shut down after it."""
    gates: list[AuthGate] = []
    yield gates
    for gate in gates:
        await gate.shutdown()


async def start(gates: list[AuthGate], settings: Settings) -> AuthGate:
    gate = AuthGate(settings)
    await gate.startup()
    gates.append(gate)
    return gate


async def full_flow(client: httpx.AsyncClient) -> None:
    """Register, log in, read the profile, refresh (with the grace window), log out."""
    account = await register_and_login(client)
    client.cookies.clear()  # the tokens travel in the body and the header below
    bearer = {"Authorization": f"Bearer {account.access_token}"}
    profile = await client.get("/api/profile", headers=bearer)
    assert profile.status_code == 200, profile.text
    assert profile.json()["data"]["username"] == account.username

    body = {"refreshToken": account.refresh_token}
    first = await client.post("/auth/refresh-token", json=body)
    assert first.status_code == 200, first.text
    client.cookies.clear()
    # the same token again inside the grace window: the same new refresh token
    again = await client.post("/auth/refresh-token", json=body)
    assert again.status_code == 200, again.text
    current = first.json()["data"]
    assert again.json()["data"]["refreshToken"] == current["refreshToken"]
    client.cookies.clear()

    new_bearer = {"Authorization": f"Bearer {current['accessToken']}"}
    assert (await client.get("/api/profile", headers=new_bearer)).status_code == 200
    logout = await client.post("/auth/logout", headers=new_bearer)
    assert logout.status_code == 200, logout.text
    client.cookies.clear()
    assert (await client.get("/api/profile", headers=new_bearer)).status_code == 401
    gone = await client.post("/auth/refresh-token", json={"refreshToken": current["refreshToken"]})
    assert gone.status_code == 401


async def test_embedded_defaults_run_the_whole_flow(
    tmp_path: Path, started: list[AuthGate], make_example_client: ClientFactory
) -> None:
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path}/a.db", bcrypt_rounds=4
    ).checked()
    assert settings.redis_url is None
    gate = await start(started, settings)
    assert isinstance(gate.redis, FakeAsyncRedis)

    client = make_example_client(gate)
    health = await client.get("/health")
    assert health.status_code == 200
    assert health.json()["data"] == {"redis": "ok", "database": "ok"}
    await full_flow(client)
    assert (tmp_path / "a.db").stat().st_size > 0


async def test_reuse_detection_works_on_the_embedded_redis(
    tmp_path: Path, started: list[AuthGate], make_client: ClientFactory
) -> None:
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path}/a.db", bcrypt_rounds=4
    ).checked()
    client = make_client(await start(started, settings))
    account = await register_and_login(client)
    client.cookies.clear()

    async def refresh(token: str) -> httpx.Response:
        response = await client.post("/auth/refresh-token", json={"refreshToken": token})
        client.cookies.clear()
        return response

    second = (await refresh(account.refresh_token)).json()["data"]["refreshToken"]
    third = await refresh(second)
    assert third.status_code == 200
    stolen = await refresh(account.refresh_token)  # two generations back: theft
    assert stolen.status_code == 401
    assert (await refresh(third.json()["data"]["refreshToken"])).status_code == 401


async def test_the_true_defaults_need_no_configuration(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    started: list[AuthGate],
    make_client: ClientFactory,
) -> None:
    monkeypatch.chdir(tmp_path)
    settings = Settings.from_env({}, bcrypt_rounds=4)
    assert settings.database_url == EMBEDDED_DATABASE_URL
    assert settings.redis_url is None
    assert settings.access_token_secret
    assert settings.refresh_token_secret

    client = make_client(await start(started, settings))
    await full_flow(client)
    assert (tmp_path / "authgate.db").is_file()


@pytest.fixture
def served_example(tmp_path: Path) -> Iterator[str]:
    """``python -m app_example`` in an empty directory with a clean environment; its URL."""
    port = free_port()
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in SERVICE_VARIABLES and not name.startswith("AUTHGATE_")
    }
    log = tmp_path / "server.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "app_example", "--port", str(port)],
            cwd=tmp_path,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(url, process, log)
        yield url
    finally:
        stop_process(process)


async def test_python_m_app_example_serves_over_http(served_example: str, tmp_path: Path) -> None:
    async with httpx.AsyncClient(base_url=served_example, timeout=10) as http:
        account = await register(http)
        logged_in = await http.post(
            "/auth/login", json={"username": account.username, "password": account.password}
        )
        assert logged_in.status_code == 200, logged_in.text
        token = logged_in.json()["data"]["accessToken"]
        http.cookies.clear()
        profile = await http.get("/api/profile", headers={"Authorization": f"Bearer {token}"})
        assert profile.status_code == 200, profile.text
        assert profile.json()["data"]["username"] == account.username
        assert (await http.get("/api/profile")).status_code == 401
    assert (tmp_path / "authgate.db").is_file()  # the default SQLite file, in the cwd


async def test_an_embedded_database_from_create_all_is_migrated_at_start_up(
    tmp_path: Path, started: list[AuthGate], make_client: ClientFactory
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/old.db"
    engine = create_engine(url)
    now = datetime.now(UTC)
    async with engine.begin() as connection:
        await connection.run_sync(LEGACY.create_all)  # what authgate 0.1 made
        await connection.execute(
            LEGACY.tables["users"].insert(),
            {
                "id": uuid.uuid4(),
                "username": "old_timer",
                "email": "old_timer@example.com",
                "full_name": "Old Timer",
                "password_hash": await BcryptPasswordHasher(4).hash(PASSWORD),
                "is_active": True,
                "created_at": now,
                "updated_at": now,
            },
        )
    await engine.dispose()

    gate = await start(started, Settings(database_url=url, bcrypt_rounds=4).checked())
    assert await current_revision(url) == head_revision()
    client = make_client(gate)
    login = await client.post("/auth/login", json={"username": "old_timer", "password": PASSWORD})
    assert login.status_code == 200, login.text
    assert login.json()["data"]["user"]["roles"] == []
    user_id = login.json()["data"]["user"]["id"]
    await gate.accounts.grant_role(user_id, "admin")
    assert (await client.get("/auth/me")).json()["data"]["roles"] == ["admin"]
    assert await gate.service.delete_user(user_id)
    await full_flow(client)  # and a new user from here on
