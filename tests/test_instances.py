"""Several app instances over real HTTP (uvicorn subprocesses) sharing PostgreSQL and Redis,
and one instance living through a Redis outage and an unreachable database."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from http.cookiejar import CookieJar, DefaultCookiePolicy
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import make_url

from authgate import gate as gate_module
from tests.conftest import (
    PASSWORD,
    ClientFactory,
    GateFactory,
    _admin_execute,
    bearer,
    redis_prefix_for_run,
    secret_for,
    unique_username,
)
from tests.envelope import assert_envelope
from tests.processes import (
    RedisServer,
    closed_port,
    free_port,
    stop_process,
    wait_until,
    wait_until_serving,
)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SERVICE_VARIABLES = {
    "ACCESS_TOKEN_SECRET",
    "ACCESS_TOKEN_EXPIRY",
    "REFRESH_TOKEN_SECRET",
    "REFRESH_TOKEN_EXPIRY",
    "DATABASE_URL",
    "REDIS_URL",
}
START_TIMEOUT = 90.0


# -- processes ------------------------------------------------------------------------------


@dataclass
class Instance:
    """One ``uvicorn app_example.main:app`` process."""

    name: str
    process: subprocess.Popen[bytes]
    url: str
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_until_serving(self, *, healthy: bool = True) -> None:
        """Wait for ``/health`` to answer (200 when ``healthy``, else any envelope)."""
        wait_until_serving(self.url, self.process, self.log, timeout=START_TIMEOUT, healthy=healthy)


STARTED: list[Instance] = []  # every instance of this module, for the logs of a failure


def start_instance(name: str, log_dir: Path, **env: str) -> Instance:
    """Start the example app with the environment ``env`` (on top of a clean one)."""
    port = free_port()
    environ = {
        key: value
        for key, value in os.environ.items()
        if key not in SERVICE_VARIABLES and not key.startswith("AUTHGATE_")
    }
    environ |= {
        "ACCESS_TOKEN_SECRET": secret_for("access"),
        "REFRESH_TOKEN_SECRET": secret_for("refresh"),
        "AUTHGATE_BCRYPT_ROUNDS": "4",
        "AUTHGATE_REDIS_PREFIX": redis_prefix_for_run(),
        "PYTHONUNBUFFERED": "1",
        **env,
    }
    log = log_dir / f"{name}.log"
    command = [sys.executable, "-m", "uvicorn", "app_example.main:app"]
    command += ["--host", "127.0.0.1", "--port", str(port)]
    with log.open("wb") as output:
        process = subprocess.Popen(
            command, cwd=PROJECT_ROOT, env=environ, stdout=output, stderr=subprocess.STDOUT
        )
    instance = Instance(name, process, f"http://127.0.0.1:{port}", log)
    STARTED.append(instance)
    return instance


@pytest.fixture(autouse=True)
def instance_logs_on_failure(request: pytest.FixtureRequest) -> Iterator[None]:
    """After a failed test, print the output of every instance this module started."""
    failed_before = request.session.testsfailed
    yield
    if request.session.testsfailed > failed_before:
        capture = request.config.pluginmanager.getplugin("capturemanager")
        with capture.global_and_fixture_disabled():
            for instance in STARTED:
                print(f"\n===== output of {instance.name} ({instance.url}) =====")
                print(instance.output())


@dataclass
class Pair:
    a: Instance
    b: Instance


@pytest.fixture(scope="module")
def instances(
    database_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Pair]:
    """Instances A and B of the example app on the same PostgreSQL, Redis and secrets."""
    log_dir = tmp_path_factory.mktemp("instances")
    started: list[Instance] = []
    try:
        for name in ("A", "B"):
            started.append(
                start_instance(name, log_dir, DATABASE_URL=database_url, REDIS_URL=redis_url)
            )
        for instance in started:
            instance.wait_until_serving()
        yield Pair(*started)
    finally:
        for instance in started:
            stop_process(instance.process)


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    """An HTTP client that keeps no cookies: every request carries exactly what it names."""
    jar = CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))
    with httpx.Client(timeout=15, cookies=jar) as client:
        yield client


# -- HTTP helpers ---------------------------------------------------------------------------


@dataclass
class Session:
    user_id: str
    username: str
    access_token: str
    refresh_token: str


def register(http: httpx.Client, instance: Instance) -> str:
    username = unique_username("multi")
    response = http.post(
        f"{instance.url}/auth/register",
        json={
            "username": username,
            "email": f"{username}@example.com",
            "fullName": f"Test {username}",
            "password": PASSWORD,
        },
    )
    assert_envelope(response, 201)
    return username


def login(http: httpx.Client, instance: Instance, username: str) -> Session:
    response = http.post(
        f"{instance.url}/auth/login", json={"username": username, "password": PASSWORD}
    )
    data = assert_envelope(response, 200)["data"]
    return Session(data["user"]["id"], username, data["accessToken"], data["refreshToken"])


def me(http: httpx.Client, instance: Instance, access_token: str) -> httpx.Response:
    return http.get(f"{instance.url}/auth/me", headers=bearer(access_token))


def profile(http: httpx.Client, instance: Instance, access_token: str) -> httpx.Response:
    return http.get(f"{instance.url}/api/profile", headers=bearer(access_token))


def refresh(http: httpx.Client, instance: Instance, refresh_token: str) -> httpx.Response:
    return http.post(f"{instance.url}/auth/refresh-token", json={"refreshToken": refresh_token})


# -- two instances --------------------------------------------------------------------------


def test_a_login_on_one_instance_works_on_the_other(instances: Pair, http: httpx.Client) -> None:
    session = login(http, instances.a, register(http, instances.a))

    by_bearer = profile(http, instances.b, session.access_token)
    assert assert_envelope(by_bearer, 200)["data"]["id"] == session.user_id
    by_cookie = http.get(
        f"{instances.b.url}/auth/me", headers={"Cookie": f"accessToken={session.access_token}"}
    )
    assert assert_envelope(by_cookie, 200)["data"]["username"] == session.username
    assert assert_envelope(http.get(f"{instances.b.url}/api/profile"), 401)


def test_a_logout_on_one_instance_is_seen_by_the_other_at_once(
    instances: Pair, http: httpx.Client
) -> None:
    session = login(http, instances.a, register(http, instances.a))
    assert_envelope(profile(http, instances.b, session.access_token), 200)

    logout = http.post(f"{instances.a.url}/auth/logout", headers=bearer(session.access_token))
    assert_envelope(logout, 200)

    assert_envelope(profile(http, instances.b, session.access_token), 401)
    assert_envelope(refresh(http, instances.b, session.refresh_token), 401)


def test_logout_all_on_one_instance_ends_sessions_made_on_the_other(
    instances: Pair, http: httpx.Client
) -> None:
    username = register(http, instances.a)
    on_a = [login(http, instances.a, username) for _ in range(2)]
    on_b = login(http, instances.b, username)

    response = http.post(f"{instances.b.url}/auth/logout-all", headers=bearer(on_b.access_token))
    assert assert_envelope(response, 200)["data"] == {"revoked": 3}

    for session in on_a:
        assert_envelope(profile(http, instances.a, session.access_token), 401)
        assert_envelope(refresh(http, instances.a, session.refresh_token), 401)


def test_a_repeated_refresh_on_another_instance_converges_on_one_token(
    instances: Pair, http: httpx.Client
) -> None:
    session = login(http, instances.a, register(http, instances.a))

    first = assert_envelope(refresh(http, instances.a, session.refresh_token), 200)["data"]
    repeat = assert_envelope(refresh(http, instances.b, session.refresh_token), 200)["data"]

    assert repeat["refreshToken"] == first["refreshToken"] != session.refresh_token
    for instance in (instances.a, instances.b):
        for data in (first, repeat):
            assert_envelope(profile(http, instance, data["accessToken"]), 200)
    # the converged token is the current one: it rotates on either instance
    assert_envelope(refresh(http, instances.b, first["refreshToken"]), 200)


def test_a_profile_change_on_one_instance_shows_on_the_other_at_once(
    instances: Pair, http: httpx.Client
) -> None:
    session = login(http, instances.a, register(http, instances.a))
    before = assert_envelope(me(http, instances.b, session.access_token), 200)["data"]
    assert before["fullName"] == f"Test {session.username}"  # now cached for every instance

    changed = http.patch(
        f"{instances.a.url}/api/settings",
        json={"fullName": "Renamed On A"},
        headers=bearer(session.access_token),
    )
    assert assert_envelope(changed, 200)["data"]["fullName"] == "Renamed On A"

    after = assert_envelope(me(http, instances.b, session.access_token), 200)["data"]
    assert after["fullName"] == "Renamed On A"


# -- outages --------------------------------------------------------------------------------


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path)
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture
def on_own_redis(own_redis: RedisServer, database_url: str, tmp_path: Path) -> Iterator[Instance]:
    """One instance on the shared database and on ``own_redis``."""
    instance = start_instance(
        "on-own-redis", tmp_path, DATABASE_URL=database_url, REDIS_URL=own_redis.url
    )
    try:
        instance.wait_until_serving()
        yield instance
    finally:
        stop_process(instance.process)


def test_a_redis_outage_is_503_and_the_instance_recovers_by_itself(
    own_redis: RedisServer, on_own_redis: Instance, http: httpx.Client
) -> None:
    instance = on_own_redis
    username = register(http, instance)
    session = login(http, instance, username)
    assert_envelope(profile(http, instance, session.access_token), 200)

    own_redis.stop()

    # fail closed: no request gets through, none crashes
    assert_envelope(profile(http, instance, session.access_token), 503)
    assert_envelope(me(http, instance, session.access_token), 503)
    assert_envelope(refresh(http, instance, session.refresh_token), 503)
    health = assert_envelope(http.get(f"{instance.url}/health"), 503, error_data=True)
    assert health["data"] == {"redis": "unavailable", "database": "ok"}
    logged_in = http.post(
        f"{instance.url}/auth/login", json={"username": username, "password": PASSWORD}
    )
    assert_envelope(logged_in, 503)

    own_redis.start()  # same port, empty: every session is gone

    wait_until(
        lambda: http.get(f"{instance.url}/health").status_code == 200,
        "the instance to recover",
        interval=0.1,
    )
    assert_envelope(profile(http, instance, session.access_token), 401)
    again = login(http, instance, username)
    assert assert_envelope(profile(http, instance, again.access_token), 200)["data"]["id"] == (
        session.user_id
    )


@pytest.mark.processes  # an instance of its own
def test_an_unreachable_database_is_503(redis_url: str, tmp_path: Path, http: httpx.Client) -> None:
    closed = closed_port()
    instance = start_instance(
        "no-database",
        tmp_path,
        DATABASE_URL=f"postgresql+asyncpg://postgres@127.0.0.1:{closed}/authgate",
        REDIS_URL=redis_url,
    )
    try:
        instance.wait_until_serving(healthy=False)

        health = assert_envelope(http.get(f"{instance.url}/health"), 503, error_data=True)
        assert health["data"] == {"redis": "ok", "database": "unavailable"}
        username = unique_username("nodb")
        registered = http.post(
            f"{instance.url}/auth/register",
            json={
                "username": username,
                "email": f"{username}@example.com",
                "fullName": "No Database",
                "password": PASSWORD,
            },
        )
        assert_envelope(registered, 503)
        logged_in = http.post(
            f"{instance.url}/auth/login", json={"username": username, "password": PASSWORD}
        )
        assert_envelope(logged_in, 503)
    finally:
        stop_process(instance.process)


async def test_tables_appear_once_a_missing_database_is_reachable(
    make_gate: GateFactory,
    make_example_client: ClientFactory,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(gate_module, "TABLE_RETRY_SECONDS", 0.05)
    name = f"authgate_late_{uuid.uuid4().hex[:10]}"
    late_url = make_url(database_url).set(database=name).render_as_string(hide_password=False)
    client = make_example_client(await make_gate(database_url=late_url))  # starts, does not crash
    body = {
        "username": unique_username("late"),
        "email": f"{unique_username('late')}@example.com",
        "fullName": "Late Database",
        "password": PASSWORD,
    }
    assert_envelope(await client.post("/auth/register", json=body), 503)

    await _admin_execute(f'CREATE DATABASE "{name}"')
    try:
        deadline = time.monotonic() + 10
        while (response := await client.post("/auth/register", json=body)).status_code == 503:
            assert time.monotonic() < deadline, "the tables were never created"
            await asyncio.sleep(0.05)
        assert_envelope(response, 201)
        assert assert_envelope(await client.get("/health"), 200)["data"] == {
            "redis": "ok",
            "database": "ok",
        }
    finally:
        await _admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
