"""``authgate.integrations.mount``: the framework-neutral description every integration
builds on, on real PostgreSQL and Redis — a host app made of nothing but its parts, the
principal read from HTTP and WebSocket scopes, the prefix check, the error rendering and
the OpenAPI merge."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from openapi_spec_validator import validate
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount as StarletteMount
from starlette.routing import Route, WebSocketRoute
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket

from authgate import AuthGate, ConfigError, NotAuthenticated, Settings
from authgate.http.guards import RENDERER_KEY
from authgate.integrations.mount import (
    Mount,
    ResponseParts,
    middleware_saw,
    optional_principal,
    principal_of,
    render_error,
    user_of,
)
from tests.asgi import websocket_handshake
from tests.conftest import GateFactory, bearer, register_and_login
from tests.problem import PROBLEM_JSON, problem

BASE = "http://testserver"
JSON = "application/json"
BARE_SCOPE: dict[str, Any] = {"type": "http", "headers": []}


async def whoami(request: Request) -> Response:
    principal = optional_principal(request.scope)
    user = user_of(request.scope)
    return JSONResponse(
        {
            "session": principal.session_id if principal is not None else None,
            "user": user.username if user is not None else None,
        }
    )


async def private(request: Request) -> Response:
    return JSONResponse({"session": principal_of(request.scope).session_id})


async def admin(request: Request) -> Response:
    return JSONResponse({"admin": principal_of(request.scope).user.username})


async def rendered(request: Request) -> Response:
    """What the renderer the middleware left in the scope makes of a 401."""
    return render_error(request.scope, NotAuthenticated())


async def socket(websocket: WebSocket) -> None:
    await websocket.accept()
    user = user_of(websocket.scope)
    await websocket.send_json({"user": user.username if user is not None else None})
    await websocket.close()


def host_app(mounted: Mount) -> Starlette:
    """A Starlette host made only of what ``mounted`` describes."""
    return Starlette(
        routes=[
            StarletteMount(mounted.prefix, app=mounted.router),
            Route("/whoami", whoami),
            Route("/private", private),
            Route("/admin", admin),
            Route("/rendered", rendered),
            WebSocketRoute("/ws", socket),
        ],
        middleware=[mounted.middleware],
        exception_handlers=mounted.exception_handlers,
        lifespan=mounted.lifespan,
    )


def client_of(app: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url=BASE, headers={"Origin": BASE}
    )


@pytest.fixture
def gate(settings: Settings) -> AuthGate:
    """A gate that the host's lifespan (the mount's) starts and stops."""
    return AuthGate(settings)


@pytest.fixture
async def host(gate: AuthGate) -> AsyncIterator[Starlette]:
    app = host_app(Mount(gate, protect={"/admin": ["admin"]}))
    async with LifespanManager(app):
        yield app


@pytest.fixture
async def client(host: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    async with client_of(host) as client:
        yield client


async def test_the_optional_principal_with_and_without_a_valid_token(
    client: httpx.AsyncClient,
) -> None:
    account = await register_and_login(client)
    client.cookies.clear()
    anonymous = await client.get("/whoami")
    assert anonymous.json() == {"session": None, "user": None}
    forged = await client.get("/whoami", headers=bearer(account.access_token + "x"))
    assert forged.status_code == 200  # a refused token on a public route: anonymous
    assert forged.json() == {"session": None, "user": None}
    seen = (await client.get("/whoami", headers=bearer(account))).json()
    assert seen["user"] == account.username
    assert seen["session"]
    # principal_of reads the same principal, and a logout ends it
    assert (await client.get("/private", headers=bearer(account))).json() == {
        "session": seen["session"]
    }
    assert (await client.post("/auth/logout", headers=bearer(account))).status_code == 200
    gone = await client.get("/whoami", headers=bearer(account))
    assert gone.json() == {"session": None, "user": None}


async def test_principal_of_an_anonymous_scope_is_the_gates_401(
    client: httpx.AsyncClient,
) -> None:
    refused = await client.get("/private")
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"] == "Bearer"
    body = refused.json()
    assert (body["statusCode"], body["success"], body["data"]) == (401, False, None)


async def test_a_browser_session_is_read_from_the_cookie(client: httpx.AsyncClient) -> None:
    account = await register_and_login(client)  # login set the cookies on the client
    assert (await client.get("/whoami")).json()["user"] == account.username


async def test_the_mounts_middleware_guards_its_protect_groups(
    client: httpx.AsyncClient, gate: AuthGate
) -> None:
    assert (await client.get("/admin")).status_code == 401
    account = await register_and_login(client)
    client.cookies.clear()
    forbidden = await client.get("/admin", headers=bearer(account))
    assert forbidden.status_code == 403
    assert forbidden.json()["message"] == "Requires the scope admin"
    await gate.accounts.grant_role(account.id, "admin")
    allowed = await client.get("/admin", headers=bearer(account))
    assert allowed.json() == {"admin": account.username}


async def test_the_user_of_a_websocket_scope(client: httpx.AsyncClient, host: Starlette) -> None:
    account = await register_and_login(client)
    token = [(b"authorization", f"Bearer {account.access_token}".encode())]
    for headers, user in (([], None), (token, account.username)):
        sent = await websocket_handshake(host, "/ws", headers)
        assert sent[0]["type"] == "websocket.accept"
        assert json.loads(sent[1]["text"]) == {"user": user}


def test_a_scope_the_middleware_did_not_see() -> None:
    assert not middleware_saw(BARE_SCOPE)
    assert middleware_saw({**BARE_SCOPE, "user": None})
    assert optional_principal(BARE_SCOPE) is None
    assert user_of(BARE_SCOPE) is None
    with pytest.raises(NotAuthenticated):
        principal_of(BARE_SCOPE)


async def test_the_prefix_must_be_the_refresh_cookies_path(make_gate: GateFactory) -> None:
    gate = await make_gate()
    assert Mount(gate, prefix="auth/").prefix == "/auth"
    with pytest.raises(ConfigError, match="refresh cookie"):
        Mount(gate, prefix="/api")
    behind_a_root = await make_gate(refresh_cookie_path="/app/auth")
    assert Mount(behind_a_root).prefix == "/auth"  # the app's root path, then the prefix
    with pytest.raises(ConfigError, match="refresh cookie"):
        Mount(behind_a_root, prefix="/app")


async def test_errors_are_rendered_by_the_gates_renderer(settings: Settings) -> None:
    mounted = Mount(AuthGate(settings, render_error=problem))
    response = mounted.render_error(BARE_SCOPE, NotAuthenticated())
    parts = ResponseParts.of(response)
    assert (parts.status_code, parts.media_type) == (401, PROBLEM_JSON)
    assert parts.content_type == PROBLEM_JSON
    assert parts.body == bytes(response.body)
    assert parts.headers == (("www-authenticate", "Bearer"),)  # the host sets the other two
    # without a renderer in the scope: the envelope; with one, the one the middleware left
    default = ResponseParts.of(render_error(BARE_SCOPE, NotAuthenticated()))
    assert default.media_type == JSON
    left = render_error({**BARE_SCOPE, RENDERER_KEY: problem}, NotAuthenticated())
    assert left.media_type == PROBLEM_JSON
    app = host_app(mounted)
    async with LifespanManager(app), client_of(app) as client:
        through_middleware = await client.get("/rendered")
        assert through_middleware.headers["content-type"] == PROBLEM_JSON
        assert through_middleware.json() == {"title": "Authentication required", "status": 401}
        refused = await client.get("/private")  # principal_of, through the exception handler
        assert refused.headers["content-type"] == PROBLEM_JSON


def test_response_parts_keep_every_other_header_in_order() -> None:
    response = JSONResponse({"a": 1}, status_code=429, headers={"Retry-After": "7"})
    response.headers.append("x-one", "1")
    response.headers.append("x-one", "2")
    parts = ResponseParts.of(response)
    assert parts.headers == (("retry-after", "7"), ("x-one", "1"), ("x-one", "2"))
    assert (parts.status_code, parts.body, parts.media_type) == (429, b'{"a":1}', JSON)
    assert parts.content_type == JSON
    # the media type for a host that adds the charset, the whole header for one that does not
    text = ResponseParts.of(PlainTextResponse("hi"))
    assert (text.media_type, text.content_type) == ("text/plain", "text/plain; charset=utf-8")


async def test_the_openapi_parts_merge_into_a_hosts_document(make_gate: GateFactory) -> None:
    mounted = Mount(await make_gate())
    host_error = {"type": "object", "description": "the host's own"}
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": "Host", "version": "1"},
        "paths": {"/notes": {"get": {"responses": {"200": {"description": "Notes"}}}}},
    }
    merged = mounted.merge_openapi(document)
    assert merged is document
    validate(merged)
    paths = mounted.openapi_paths()
    assert "post" in paths["/auth/login"]
    assert set(merged["paths"]) == {"/notes", *paths}
    assert merged["components"] == mounted.openapi_components()
    assert "bearerAuth" in merged["components"]["securitySchemes"]
    # a component the host already has stays the host's
    clashing: dict[str, Any] = {"components": {"schemas": {"AuthError": host_error}}}
    mounted.merge_openapi(clashing)
    schemas = clashing["components"]["schemas"]
    assert schemas["AuthError"] == host_error
    assert set(schemas) == set(mounted.openapi_components()["schemas"])  # the rest merged
    elsewhere = Mount(await make_gate(refresh_cookie_path="/v1/"), prefix="/v1")
    assert {path.split("/")[1] for path in elsewhere.openapi_paths()} == {"v1"}


async def test_wrap_serves_the_endpoints_and_the_principal_in_front_of_any_asgi_app(
    settings: Settings,
) -> None:
    async def bare(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # no lifespan of its own: the wrapper skips it
            return
        user = user_of(scope)
        await JSONResponse({"user": user.username if user is not None else None})(
            scope, receive, send
        )

    wrapped = Mount(AuthGate(settings), protect=["/private"]).wrap(bare)
    async with LifespanManager(wrapped), client_of(wrapped) as client:
        assert (await client.get("/anything")).json() == {"user": None}
        assert (await client.get("/private")).status_code == 401
        account = await register_and_login(client)
        client.cookies.clear()
        assert (await client.get("/private", headers=bearer(account))).json() == {
            "user": account.username
        }
