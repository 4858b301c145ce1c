"""Real services for the tests: a fresh PostgreSQL database and a Redis key space per run.

``AUTHGATE_TEST_DATABASE_URL`` names a PostgreSQL server reachable as a superuser (the
tests create and drop their own database on it); ``AUTHGATE_TEST_REDIS_URL`` a Redis whose
db ``AUTHGATE_TEST_REDIS_DB`` the tests may write to (under a per-run key prefix).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any, Protocol

import asyncpg
import httpx
import pytest
import redis
from sqlalchemy.engine import make_url

from app_example.app import create_app
from authgate import AuthGate, Settings
from authgate.migrations import upgrade
from authgate.recovery.mailer import Mailer
from tests.mailbox import Mailbox

ADMIN_DATABASE_URL = os.environ.get(
    "AUTHGATE_TEST_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
REDIS_SERVER_URL = os.environ.get("AUTHGATE_TEST_REDIS_URL", "redis://127.0.0.1:6379")
REDIS_DB = int(os.environ.get("AUTHGATE_TEST_REDIS_DB", "9"))
RUN_ID = uuid.uuid4().hex[:10]
MAILBOX_DRAIN_SECONDS = 10.0
PASSWORD = "correct horse battery"


def _asyncpg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def _admin_execute(statement: str) -> None:
    connection = await asyncpg.connect(_asyncpg_dsn(ADMIN_DATABASE_URL))
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """A PostgreSQL database of this run's own, migrated to the current schema, dropped at
    the end."""
    name = f"authgate_test_{RUN_ID}"
    asyncio.run(_admin_execute(f'CREATE DATABASE "{name}"'))
    url = make_url(ADMIN_DATABASE_URL).set(database=name).render_as_string(hide_password=False)
    asyncio.run(upgrade(url))
    yield url
    asyncio.run(_admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


DatabaseFactory = Callable[[], Awaitable[str]]


@pytest.fixture
async def new_database() -> AsyncIterator[DatabaseFactory]:
    """Makes empty PostgreSQL databases (no tables) of the test's own; drops them after it."""
    names: list[str] = []

    async def factory() -> str:
        name = f"authgate_test_{RUN_ID}_{uuid.uuid4().hex[:8]}"
        await _admin_execute(f'CREATE DATABASE "{name}"')
        names.append(name)
        return make_url(ADMIN_DATABASE_URL).set(database=name).render_as_string(False)

    yield factory
    for name in names:
        await _admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """This run's Redis db URL; the run's keys (under its prefix) are deleted at the end."""
    url = f"{REDIS_SERVER_URL.rstrip('/')}/{REDIS_DB}"
    yield url
    client = redis.Redis.from_url(url)
    try:
        for key in client.scan_iter(match=f"{redis_prefix_for_run()}*", count=1000):
            client.delete(key)
    finally:
        client.close()


def redis_prefix_for_run() -> str:
    return f"authgate-test-{RUN_ID}"


def secret_for(kind: str) -> str:
    return f"{kind}-{RUN_ID}-" + "s" * 40


@pytest.fixture
def settings(database_url: str, redis_url: str) -> Settings:
    """Settings on the real services, with bcrypt at the test cost of 4."""
    return Settings(
        access_token_secret=secret_for("access"),
        refresh_token_secret=secret_for("refresh"),
        database_url=database_url,
        redis_url=redis_url,
        bcrypt_rounds=4,
        # a prefix per test: throttle counters (per client IP) never add up across tests
        redis_prefix=f"{redis_prefix_for_run()}-{uuid.uuid4().hex[:8]}",
    ).checked()


class GateFactory:
    """Builds started gates with settings overrides, and keeps them for the teardown."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.gates: list[AuthGate] = []

    async def __call__(self, *, mailer: Mailer | None = None, **overrides: Any) -> AuthGate:
        gate = AuthGate(replace(self.settings, **overrides).checked(), mailer=mailer)
        await gate.startup()
        self.gates.append(gate)
        return gate


@pytest.fixture
async def make_gate(settings: Settings) -> AsyncIterator[GateFactory]:
    """Build started gates with settings overrides; all are shut down after the test."""
    factory = GateFactory(settings)
    yield factory
    for gate in factory.gates:
        await gate.shutdown()


@pytest.fixture
async def gate(make_gate: GateFactory) -> AuthGate:
    return await make_gate()


@pytest.fixture
async def mailbox(make_gate: GateFactory) -> AsyncIterator[Mailbox]:
    """A real SMTP server (aiosmtpd) on a free port; ``mailbox.url`` is its SMTP URL.

    It stops only after every gate of the test has sent what it queued: a server stopped
    in the middle of a delivery leaves a half-closed connection behind."""
    box = Mailbox()
    box.controller.start()
    yield box
    for gate in make_gate.gates:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(gate.outbox.drain(), MAILBOX_DRAIN_SECONDS)
    box.controller.stop()


CLIENT_IP = "203.0.113.7"


class ClientFactory(Protocol):
    """Makes a client of the example app on ``gate`` whose socket peer is ``ip``."""

    def __call__(self, gate: AuthGate, ip: str = CLIENT_IP) -> httpx.AsyncClient: ...


@pytest.fixture
async def make_client() -> AsyncIterator[ClientFactory]:
    """HTTP clients talking to the example app in process (through ASGI)."""
    clients: list[httpx.AsyncClient] = []

    def factory(gate: AuthGate, ip: str = CLIENT_IP) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=create_app(gate=gate), client=(ip, 4711))
        # like the example's page in a browser, which sends its own origin on every POST
        client = httpx.AsyncClient(
            transport=transport,
            base_url="http://testserver",
            headers={"Origin": "http://testserver"},
        )
        clients.append(client)
        return client

    yield factory
    for client in clients:
        await client.aclose()


@pytest.fixture
async def client(gate: AuthGate, make_client: ClientFactory) -> httpx.AsyncClient:
    """A client of the example app on the default gate."""
    return make_client(gate)


def unique_username(stem: str = "user") -> str:
    return f"{stem}_{secrets.token_hex(5)}"


@dataclass
class Account:
    """A registered (and usually logged-in) test user."""

    id: str
    username: str
    email: str
    password: str
    access_token: str = ""
    refresh_token: str = ""


def bearer(credential: Account | str) -> dict[str, str]:
    """The ``Authorization`` header for an account's access token, or for a token."""
    token = credential.access_token if isinstance(credential, Account) else credential
    return {"Authorization": f"Bearer {token}"}


async def register(
    client: httpx.AsyncClient, *, username: str | None = None, password: str = PASSWORD
) -> Account:
    username = username or unique_username()
    response = await client.post(
        "/auth/register",
        json={
            "username": username,
            "email": f"{username}@example.com",
            "fullName": f"Test {username}",
            "password": password,
        },
    )
    assert response.status_code == 201, response.text
    data = response.json()["data"]
    return Account(data["id"], data["username"], data["email"], password)


async def login(client: httpx.AsyncClient, account: Account) -> Account:
    response = await client.post(
        "/auth/login", json={"username": account.username, "password": account.password}
    )
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    return replace(account, access_token=data["accessToken"], refresh_token=data["refreshToken"])


async def register_and_login(client: httpx.AsyncClient, **kwargs: Any) -> Account:
    return await login(client, await register(client, **kwargs))
