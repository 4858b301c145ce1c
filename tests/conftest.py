"""Real services for the tests: a fresh PostgreSQL database and a Redis key space per run.

``AUTHGATE_TEST_DATABASE_URL`` names a PostgreSQL server reachable as a superuser (the
tests create and drop their own database on it); ``AUTHGATE_TEST_REDIS_URL`` a Redis whose
db ``AUTHGATE_TEST_REDIS_DB`` the tests may write to (under a per-run key prefix).

Every test gets one tier marker, from the fixtures it uses (see ``TIER_FIXTURES``):
``unit`` (no service at all), ``services`` (PostgreSQL, Redis or SMTP in process),
``processes`` (it starts servers or processes) or ``browser`` (chromium); tests of the
example app are marked ``example`` too. ``pytest -m unit`` runs the first tier alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from typing import Any, Protocol

import asyncpg
import httpx
import pytest
import redis
from sqlalchemy.engine import make_url
from starlette.types import ASGIApp

from app_example.app import create_app as create_example_app
from authgate import AuthGate, Settings
from authgate.migrations import upgrade
from authgate.recovery.mailer import Mailer
from tests.apps import create_test_app
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
    """Makes a client of an app on ``gate`` whose socket peer is ``ip``."""

    def __call__(self, gate: AuthGate, ip: str = CLIENT_IP) -> httpx.AsyncClient: ...


@asynccontextmanager
async def client_factory(app_for: Callable[[AuthGate], ASGIApp]) -> AsyncIterator[ClientFactory]:
    """HTTP clients talking in process (through ASGI) to ``app_for(gate)``; closed on exit."""
    clients: list[httpx.AsyncClient] = []

    def factory(gate: AuthGate, ip: str = CLIENT_IP) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=app_for(gate), client=(ip, 4711))
        # like the example's page in a browser, which sends its own origin on every POST
        client = httpx.AsyncClient(
            transport=transport,
            base_url="http://testserver",
            headers={"Origin": "http://testserver"},
        )
        clients.append(client)
        return client

    try:
        yield factory
    finally:
        for client in clients:
            await client.aclose()


@pytest.fixture
async def make_client() -> AsyncIterator[ClientFactory]:
    """HTTP clients of the library's own test app (``tests.apps``)."""
    async with client_factory(create_test_app) as factory:
        yield factory


@pytest.fixture
async def client(gate: AuthGate, make_client: ClientFactory) -> httpx.AsyncClient:
    """A client of the library's own test app on the default gate."""
    return make_client(gate)


@pytest.fixture
async def make_example_client() -> AsyncIterator[ClientFactory]:
    """HTTP clients of the example app (``app_example``); its tests are marked ``example``."""
    async with client_factory(lambda gate: create_example_app(gate=gate)) as factory:
        yield factory


@pytest.fixture
async def example_client(gate: AuthGate, make_example_client: ClientFactory) -> httpx.AsyncClient:
    """A client of the example app on the default gate."""
    return make_example_client(gate)


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


# -- tiers ----------------------------------------------------------------------------------

TIERS = ("unit", "services", "processes", "browser")  # lowest first
# The fixtures that bring each tier in. ``item.fixturenames`` holds the fixtures of a
# test's fixtures too: a test on ``gate`` or ``client`` is a services test by way of
# ``database_url``. A test that starts a process in its body carries the marker itself.
TIER_FIXTURES = {
    # PostgreSQL, Redis or an SMTP server, in this process
    "services": frozenset(
        {"database_url", "redis_url", "new_database", "mailbox", "mailbox_server"}
    ),
    # servers the test starts: uvicorn, a private redis-server, a Redis Cluster, PostgreSQL
    "processes": frozenset(
        {
            "server",
            "instance",
            "instances",
            "own_redis",
            "private_redis",
            "cluster_url",
            "postgres",
            "served_example",
        }
    ),
    # chromium through Playwright
    "browser": frozenset({"browser", "chromium"}),
}
EXAMPLE_FIXTURES = frozenset({"example_client", "make_example_client"})


@pytest.hookimpl(tryfirst=True)  # before ``-m`` selects by the markers added here
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test with exactly one tier, the highest its fixtures or its own tier
    marker name, and the example app's tests with ``example``.

    Raises:
        pytest.UsageError: a test's own tier marker is not that tier (too low, or two).
    """
    wrong: list[str] = []
    for item in items:
        used = set(item.fixturenames) if isinstance(item, pytest.Function) else set()
        marked = [tier for tier in TIERS if item.get_closest_marker(tier) is not None]
        by_fixtures = [tier for tier, names in TIER_FIXTURES.items() if used & names]
        tier = max(["unit", *marked, *by_fixtures], key=TIERS.index)
        if any(other != tier for other in marked):
            wrong.append(f"{item.nodeid}: marked {', '.join(marked)}, but it is {tier}")
        elif not marked:
            item.add_marker(tier)
        if used & EXAMPLE_FIXTURES:
            item.add_marker("example")
    if wrong:
        raise pytest.UsageError("one tier per test, the highest:\n" + "\n".join(wrong))
