"""FastAPI: the README's app (``examples/fastapi_app.py``) on real PostgreSQL and Redis,
started through its ASGI lifespan, used as a client and as ``/docs`` would."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from openapi_spec_validator import validate

from authgate import AuthGate, ConfigError, Settings
from authgate.integrations.fastapi import install
from examples.fastapi_app import create_app
from tests.conftest import PASSWORD, bearer, register, register_and_login, unique_username
from tests.envelope import assert_envelope
from tests.problem import check_refusals_are_problems, problem

BASE = "http://testserver"


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    """The example app, its gate started and stopped by the app's own lifespan."""
    application = create_app(AuthGate(settings))
    async with LifespanManager(application):
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url=BASE, headers={"Origin": BASE}
    ) as client:
        yield client


async def test_the_whole_flow_through_fastapi(client: httpx.AsyncClient) -> None:
    # the lifespan migrated the database: registration works at once
    account = await register_and_login(client)
    assert (await client.get("/hello")).json() == {"hello": f"Test {account.username}"}
    client.cookies.clear()
    assert (await client.get("/hello")).json() == {"hello": "stranger"}

    notes = await client.get("/notes", headers=bearer(account.access_token))
    assert notes.status_code == 200
    assert notes.json() == {"owner": account.username}
    me = await client.get("/auth/me", headers=bearer(account.access_token))
    assert me.json()["data"]["username"] == account.username

    refreshed = await client.post(
        "/auth/refresh-token", json={"refreshToken": account.refresh_token}
    )
    assert refreshed.status_code == 200
    new_access = refreshed.json()["data"]["accessToken"]
    client.cookies.clear()
    assert (await client.get("/notes", headers=bearer(new_access))).status_code == 200

    logout = await client.post("/auth/logout", headers=bearer(new_access))
    assert logout.status_code == 200
    after = await client.get("/notes", headers=bearer(new_access))
    assert_envelope(after, 401)
    assert after.headers["www-authenticate"] == "Bearer"


async def test_a_browser_session_works_by_cookie(client: httpx.AsyncClient) -> None:
    account = await register(client)
    response = await client.post(
        "/auth/login", json={"username": account.username, "password": PASSWORD}
    )
    assert response.status_code == 200
    assert (await client.get("/notes")).json() == {"owner": account.username}
    # a cookie request from another origin is refused before any endpoint runs
    foreign = await client.delete("/notes", headers={"Origin": "http://evil.example"})
    assert_envelope(foreign, 403)


async def test_not_logged_in_is_401_with_www_authenticate_never_500(
    client: httpx.AsyncClient,
) -> None:
    for method, path in [("GET", "/notes"), ("DELETE", "/notes"), ("GET", "/auth/me")]:
        response = await client.request(method, path)
        body = assert_envelope(response, 401)
        assert response.headers["www-authenticate"] == "Bearer"
        assert body["message"] == "Authentication required"
    bad_token = await client.get("/notes", headers=bearer("not.a.token"))
    assert_envelope(bad_token, 401)


async def test_a_missing_scope_is_403(app: FastAPI, client: httpx.AsyncClient) -> None:
    account = await register_and_login(client)
    client.cookies.clear()
    refused = await client.delete("/notes", headers=bearer(account.access_token))
    body = assert_envelope(refused, 403)
    assert "admin" in body["message"]


async def test_fastapi_errors_keep_fastapi_format(client: httpx.AsyncClient) -> None:
    missing = await client.get("/nowhere")
    assert missing.status_code == 404
    assert missing.json() == {"detail": "Not Found"}
    wrong_method = await client.put("/hello")
    assert wrong_method.status_code == 405
    assert wrong_method.json() == {"detail": "Method Not Allowed"}
    # while authgate's own endpoints keep the envelope
    assert_envelope(await client.post("/auth/login", json={}), 400)


async def test_envelope_errors_puts_fastapis_errors_in_the_envelope(settings: Settings) -> None:
    app = FastAPI()
    install(app, AuthGate(settings), envelope_errors=True)

    @app.get("/items/{item_id}")
    async def item(item_id: int) -> dict[str, int]:
        return {"id": item_id}

    async with (
        LifespanManager(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as client,
    ):
        assert (await client.get("/items/3")).json() == {"id": 3}
        invalid = assert_envelope(await client.get("/items/three"), 400)
        assert [error["field"] for error in invalid["errors"]] == ["path.item_id"]
        missing = assert_envelope(await client.get("/nowhere"), 404)
        assert missing["message"] == "Not found"


async def test_the_openapi_document_has_the_auth_endpoints_and_security(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    document = response.json()
    validate(document)
    paths = document["paths"]
    for path in [
        "/auth/register",
        "/auth/login",
        "/auth/refresh-token",
        "/auth/logout",
        "/auth/me",
    ]:
        assert path in paths
    login = paths["/auth/login"]["post"]
    assert login["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/AuthLoginRequest"
    }
    assert "AuthLogin" in document["components"]["schemas"]
    schemes = document["components"]["securitySchemes"]
    assert schemes["bearerAuth"]["type"] == "http"
    assert schemes["bearerAuth"]["scheme"] == "bearer"
    assert schemes["accessTokenCookie"] == {
        "type": "apiKey",
        "in": "cookie",
        "name": "accessToken",
        "description": schemes["accessTokenCookie"]["description"],
    }
    # the app's own protected operations declare both schemes, with their scopes
    assert paths["/notes"]["get"]["security"] == [{"bearerAuth": []}, {"accessTokenCookie": []}]
    assert paths["/notes"]["delete"]["security"] == [
        {"bearerAuth": ["admin"]},
        {"accessTokenCookie": ["admin"]},
    ]
    assert paths["/auth/me"]["get"]["security"] == [{"bearerAuth": []}, {"accessTokenCookie": []}]
    # and document their refusals: 401 when they need a login, 403 when they need a scope
    assert paths["/notes"]["get"]["responses"]["401"] == {
        "$ref": "#/components/responses/AuthUnauthorized"
    }
    assert "403" not in paths["/notes"]["get"]["responses"]
    assert set(paths["/notes"]["delete"]["responses"]) >= {"401", "403"}
    assert "401" not in paths["/hello"]["get"]["responses"]
    docs = await client.get("/docs")
    assert docs.status_code == 200
    assert "swagger-ui" in docs.text


async def test_the_docs_can_log_in_and_authorize(client: httpx.AsyncClient) -> None:
    """What Swagger UI does: "Try it out" on login with the documented example body, then
    "Authorize" with the ``accessToken`` of the answer as the Bearer token."""
    document = (await client.get("/openapi.json")).json()
    schemas = document["components"]["schemas"]
    registration = dict(schemas["AuthRegisterRequest"]["examples"][0])
    registration["username"] = username = unique_username()
    registration["email"] = f"{username}@example.com"
    assert (await client.post("/auth/register", json=registration)).status_code == 201
    example = dict(schemas["AuthLoginRequest"]["examples"][0], username=username)
    logged_in = await client.post("/auth/login", json=example)
    assert logged_in.status_code == 200
    token = logged_in.json()["data"]["accessToken"]
    client.cookies.clear()
    notes = await client.get("/notes", headers=bearer(token))
    assert notes.json() == {"owner": username}


def test_a_prefix_that_is_not_the_refresh_cookie_path_is_refused(settings: Settings) -> None:
    with pytest.raises(ConfigError, match="AUTHGATE_REFRESH_COOKIE_PATH"):
        install(FastAPI(), AuthGate(settings), prefix="/api/auth")


async def test_the_gates_error_renderer_answers_for_the_dependencies(settings: Settings) -> None:
    app = create_app(AuthGate(settings, render_error=problem))
    async with (
        LifespanManager(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as client,
    ):
        await check_refusals_are_problems(client, ("GET", "/notes"), ("DELETE", "/notes"))


async def test_install_protects_route_groups_with_scopes(settings: Settings) -> None:
    app = FastAPI()
    install(app, AuthGate(settings), protect={"/admin": ["admin"]})

    @app.get("/admin/report")
    async def report() -> dict[str, str]:  # no dependency: the middleware guards the group
        return {"report": "ok"}

    async with (
        LifespanManager(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as client,
    ):
        assert_envelope(await client.get("/admin/report"), 401)
        account = await register_and_login(client)
        client.cookies.clear()
        refused = await client.get("/admin/report", headers=bearer(account.access_token))
        assert_envelope(refused, 403)
        gate: AuthGate = app.state.authgate
        await gate.accounts.grant_role(account.id, "admin")
        allowed = await client.get("/admin/report", headers=bearer(account.access_token))
        assert allowed.json() == {"report": "ok"}


async def test_the_auth_endpoints_never_redirect(client: httpx.AsyncClient) -> None:
    account = await register(client)
    login = await client.post(
        "/auth/login/", json={"username": account.username, "password": PASSWORD}
    )
    assert login.status_code == 200
    client.cookies.clear()
    token = login.json()["data"]["accessToken"]
    for path in ["/auth/me", "/auth/me/"]:
        response = await client.get(path, headers=bearer(token))
        assert response.status_code == 200, (path, response.status_code)
