"""Django (ASGI): the README's recipe (``examples/django_app.py``, which configures Django
for this process) wrapped by ``gate.wrap``, on real PostgreSQL and Redis."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace

import httpx
import pytest
from asgi_lifespan import LifespanManager

from authgate import AuthGate, Settings
from examples.django_app import create_app
from tests.conftest import DatabaseFactory, bearer, register, register_and_login
from tests.envelope import assert_envelope
from tests.problem import check_refusals_are_problems, problem

BASE = "http://testserver"


@pytest.fixture
async def gate(settings: Settings, new_database: DatabaseFactory) -> AuthGate:
    """A gate on an empty database: only the lifespan can create its tables."""
    return AuthGate(replace(settings, database_url=await new_database()))


@pytest.fixture
async def client(gate: AuthGate) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(gate)
    async with (
        LifespanManager(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url=BASE, headers={"Origin": BASE}
        ) as client,
    ):
        yield client


async def test_the_lifespan_creates_the_schema_and_the_whole_flow_works(
    client: httpx.AsyncClient,
) -> None:
    account = await register_and_login(client)  # 201 and 200: the tables exist
    assert (await client.get("/hello")).json() == {"hello": f"Test {account.username}"}
    client.cookies.clear()
    assert (await client.get("/hello")).json() == {"hello": "stranger"}
    notes = await client.get("/api/notes", headers=bearer(account.access_token))
    assert notes.json() == {"owner": account.username}
    refreshed = await client.post(
        "/auth/refresh-token", json={"refreshToken": account.refresh_token}
    )
    assert refreshed.status_code == 200
    access = refreshed.json()["data"]["accessToken"]
    client.cookies.clear()
    assert (await client.post("/auth/logout", headers=bearer(access))).status_code == 200
    assert_envelope(await client.get("/api/notes", headers=bearer(access)), 401)


async def test_django_csrf_lets_bearer_posts_through_and_checks_cookie_posts(
    client: httpx.AsyncClient,
) -> None:
    account = await register_and_login(client)  # the client now holds the cookies too
    by_cookie = await client.post("/api/notes")
    assert by_cookie.status_code == 403  # Django's CsrfViewMiddleware: no CSRF token
    client.cookies.clear()
    by_bearer = await client.post("/api/notes", headers=bearer(account.access_token))
    assert by_bearer.status_code == 200, by_bearer.text
    assert by_bearer.json() == {"saved": True, "by": account.username}


async def test_anonymous_is_401_never_500(client: httpx.AsyncClient) -> None:
    for path in ["/whoami", "/api/notes", "/api/purge"]:
        response = await client.get(path)
        assert_envelope(response, 401)
        assert response.headers["www-authenticate"] == "Bearer"


async def test_requires_answers_403_until_the_role_is_granted(
    gate: AuthGate, client: httpx.AsyncClient
) -> None:
    account = await register_and_login(client)
    client.cookies.clear()
    refused = await client.get("/api/purge", headers=bearer(account.access_token))
    assert "admin" in assert_envelope(refused, 403)["message"]
    assert refused.headers["www-authenticate"] == 'Bearer error="insufficient_scope"'
    await gate.accounts.grant_role(account.id, "admin")
    allowed = await client.get("/api/purge", headers=bearer(account.access_token))
    assert allowed.json() == {"purgedBy": account.username}
    whoami = await client.get("/whoami", headers=bearer(account.access_token))
    assert whoami.json()["session"]


async def test_the_auth_endpoints_never_redirect(client: httpx.AsyncClient) -> None:
    account = await register(client)
    login = await client.post(
        "/auth/login/", json={"username": account.username, "password": account.password}
    )
    assert login.status_code == 200
    client.cookies.clear()
    token = login.json()["data"]["accessToken"]
    for path in ["/auth/me", "/auth/me/"]:
        response = await client.get(path, headers=bearer(token))
        assert response.status_code == 200, (path, response.status_code)


async def test_the_gates_error_renderer_answers_for_views(settings: Settings) -> None:
    app = create_app(AuthGate(settings, render_error=problem))
    async with (
        LifespanManager(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as client,
    ):
        # principal_of raised in the view answers the anonymous request
        await check_refusals_are_problems(client, ("GET", "/whoami"), ("GET", "/api/purge"))
