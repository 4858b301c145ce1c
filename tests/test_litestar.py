"""Litestar: the README's app (``examples/litestar_app.py``) with ``AuthgatePlugin``, on
real PostgreSQL and Redis, started through its ASGI lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, cast

import httpx
import pytest
from asgi_lifespan import LifespanManager
from litestar import Litestar, Request, get
from openapi_spec_validator import validate
from starlette.types import ASGIApp

from authgate import AuthGate, ConfigError, Settings
from authgate.integrations.litestar import AuthgatePlugin, principal_of
from examples.litestar_app import create_app
from tests.conftest import bearer, register_and_login
from tests.envelope import assert_envelope
from tests.problem import check_refusals_are_problems, problem

BASE = "http://testserver"


def asgi(app: Litestar) -> ASGIApp:
    """Litestar's own ASGI types are narrower than Starlette's; it is an ASGI app all the same."""
    return cast(ASGIApp, app)


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[Litestar]:
    application = create_app(AuthGate(settings))
    async with LifespanManager(asgi(application)):
        yield application


@pytest.fixture
async def client(app: Litestar) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=asgi(app))
    async with httpx.AsyncClient(
        transport=transport, base_url=BASE, headers={"Origin": BASE}
    ) as client:
        yield client


async def test_the_whole_flow_through_litestar(client: httpx.AsyncClient) -> None:
    account = await register_and_login(client)  # the lifespan migrated the database
    assert (await client.get("/hello")).json() == {"hello": f"Test {account.username}"}
    assert (await client.get("/notes")).json() == {"owner": account.username}  # by cookie
    client.cookies.clear()
    assert (await client.get("/hello")).json() == {"hello": "stranger"}
    notes = await client.get("/notes", headers=bearer(account.access_token))
    assert notes.json() == {"owner": account.username}
    sessions = await client.get("/auth/sessions", headers=bearer(account.access_token))
    assert sessions.status_code == 200
    assert len(sessions.json()["data"]) == 1

    refreshed = await client.post(
        "/auth/refresh-token", json={"refreshToken": account.refresh_token}
    )
    assert refreshed.status_code == 200
    access = refreshed.json()["data"]["accessToken"]
    client.cookies.clear()
    assert (await client.post("/auth/logout", headers=bearer(access))).status_code == 200
    after = await client.get("/notes", headers=bearer(access))
    assert_envelope(after, 401)
    assert after.headers["www-authenticate"] == "Bearer"


async def test_the_mount_never_redirects_out_of_it(client: httpx.AsyncClient) -> None:
    account = await register_and_login(client)
    client.cookies.clear()
    for path in ["/auth/me", "/auth/me/"]:
        response = await client.get(path, headers=bearer(account.access_token))
        assert response.status_code == 200, (path, response.status_code, response.headers)
        assert response.json()["data"]["id"] == account.id
    login = await client.post(
        "/auth/login/", json={"username": account.username, "password": account.password}
    )
    assert login.status_code == 200
    assert (await client.get("/auth/nowhere")).status_code == 404


async def test_anonymous_is_401_never_500(client: httpx.AsyncClient) -> None:
    for method, path in [("GET", "/notes"), ("DELETE", "/notes"), ("GET", "/auth/me")]:
        response = await client.request(method, path)
        assert_envelope(response, 401)
        assert response.headers["www-authenticate"] == "Bearer"
    assert_envelope(await client.get("/notes", headers=bearer("x.y.z")), 401)


async def test_the_scope_guard_answers_403_until_the_role_is_granted(
    app: Litestar, client: httpx.AsyncClient
) -> None:
    account = await register_and_login(client)
    client.cookies.clear()
    refused = await client.delete("/notes", headers=bearer(account.access_token))
    assert "admin" in assert_envelope(refused, 403)["message"]
    assert refused.headers["www-authenticate"] == 'Bearer error="insufficient_scope"'
    gate: AuthGate = app.state.authgate
    await gate.accounts.grant_role(account.id, "admin")
    allowed = await client.delete("/notes", headers=bearer(account.access_token))
    assert allowed.status_code == 200
    assert allowed.json() == {"purgedBy": account.username}


async def test_a_cookie_request_from_another_origin_is_refused(
    client: httpx.AsyncClient,
) -> None:
    await register_and_login(client)
    refused = await client.delete("/notes", headers={"Origin": "http://evil.example"})
    assert_envelope(refused, 403)


async def test_principal_of_answers_401_for_anonymous(settings: Settings) -> None:
    @get("/whoami")
    async def whoami(request: Request[Any, Any, Any]) -> dict[str, str]:
        return {"session": principal_of(request).session_id}

    app = Litestar([whoami], plugins=[AuthgatePlugin(AuthGate(settings))])
    async with (
        LifespanManager(asgi(app)),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=asgi(app)), base_url=BASE) as client,
    ):
        assert_envelope(await client.get("/whoami"), 401)
        account = await register_and_login(client)
        client.cookies.clear()
        answer = await client.get("/whoami", headers=bearer(account.access_token))
        assert answer.status_code == 200
        assert answer.json()["session"]


def test_a_prefix_that_is_not_the_refresh_cookie_path_is_refused(settings: Settings) -> None:
    with pytest.raises(ConfigError, match="AUTHGATE_REFRESH_COOKIE_PATH"):
        AuthgatePlugin(AuthGate(settings), prefix="/api/auth")


async def test_the_gates_error_renderer_answers_for_guards_and_handlers(
    settings: Settings,
) -> None:
    app = create_app(AuthGate(settings, render_error=problem))
    async with (
        LifespanManager(asgi(app)),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=asgi(app)), base_url=BASE) as client,
    ):
        await check_refusals_are_problems(client, ("GET", "/notes"), ("DELETE", "/notes"))


async def test_the_plugin_protects_route_groups_with_scopes(settings: Settings) -> None:
    @get("/admin/report")
    async def report() -> dict[str, str]:  # no guard: the middleware guards the group
        return {"report": "ok"}

    gate = AuthGate(settings)
    app = Litestar([report], plugins=[AuthgatePlugin(gate, protect={"/admin": ["admin"]})])
    async with (
        LifespanManager(asgi(app)),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=asgi(app)), base_url=BASE) as client,
    ):
        assert_envelope(await client.get("/admin/report"), 401)
        account = await register_and_login(client)
        client.cookies.clear()
        refused = await client.get("/admin/report", headers=bearer(account.access_token))
        assert_envelope(refused, 403)
        await gate.accounts.grant_role(account.id, "admin")
        allowed = await client.get("/admin/report", headers=bearer(account.access_token))
        assert allowed.json() == {"report": "ok"}


async def test_the_openapi_document_has_the_auth_endpoints(client: httpx.AsyncClient) -> None:
    response = await client.get("/schema/openapi.json")
    assert response.status_code == 200
    document = response.json()
    validate(document)
    assert "/notes" in document["paths"]  # the app's own
    assert document["paths"]["/auth/login"]["post"]["requestBody"]["content"]["application/json"][
        "schema"
    ] == {"$ref": "#/components/schemas/AuthLoginRequest"}
    assert set(document["components"]["securitySchemes"]) >= {"bearerAuth", "accessTokenCookie"}


async def test_an_app_without_an_openapi_document_starts(settings: Settings) -> None:
    app = Litestar([], plugins=[AuthgatePlugin(AuthGate(settings))], openapi_config=None)
    async with (
        LifespanManager(asgi(app)),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=asgi(app)), base_url=BASE) as client,
    ):
        assert (await client.get("/schema/openapi.json")).status_code == 404
        assert_envelope(await client.get("/auth/me"), 401)
