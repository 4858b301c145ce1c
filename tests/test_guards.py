"""Route groups with required scopes, ``authgate.requires`` and the replaceable error
renderer (contract §8 and §9), on real PostgreSQL and Redis."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from sqlalchemy import event
from starlette.applications import Starlette
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.websockets import WebSocket

import authgate
from authgate import AuthGate, AuthgateError, InsufficientScope, Settings
from authgate.http.responses import error_headers
from authgate.redis.wire import PackedScript
from tests.asgi import websocket_handshake
from tests.conftest import GateFactory, bearer, register_and_login
from tests.envelope import assert_envelope
from tests.test_cli import environment, ok

PROTECT = {"/api": [], "/admin": ["admin"], "/admin/billing": ["billing:read"]}


async def whoami(request: Request) -> JSONResponse:
    return JSONResponse({"user": request.user.display_name, "path": request.url.path})


@authgate.requires("admin")
async def admin_only(request: Request) -> JSONResponse:
    return JSONResponse({"admin": request.user.display_name})


@authgate.requires("admin")
def admin_only_sync(request: Request) -> JSONResponse:
    return JSONResponse({"admin": request.user.display_name})


@authgate.requires()
async def any_login(request: Request) -> JSONResponse:
    return JSONResponse({"user": request.user.display_name})


@authgate.requires("admin")
async def admin_socket(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.close()


async def plain_socket(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.close()


def guarded_app(gate: AuthGate) -> Starlette:
    return Starlette(
        routes=[
            Route("/api/x", whoami),
            Route("/admin/x", whoami),
            Route("/admin/billing/x", whoami),
            Route("/admin-ish", whoami),
            Route("/open/admin", admin_only),
            Route("/open/admin-sync", admin_only_sync),
            Route("/open/login", any_login),
            Mount("/auth", app=gate.router()),
            Mount("/team", app=gate.require(Starlette(routes=[Route("/x", whoami)]), ["team"])),
            WebSocketRoute("/ws", admin_socket),
            WebSocketRoute("/admin/ws", plain_socket),
        ],
        middleware=[gate.middleware(protect=PROTECT)],
        exception_handlers=gate.exception_handlers,
    )


@asynccontextmanager
async def guarded_client(gate: AuthGate) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=guarded_app(gate))
    async with httpx.AsyncClient(
        transport=transport, base_url="http://testserver", headers={"Origin": "http://testserver"}
    ) as client:
        yield client


def cookie_header(client: httpx.AsyncClient) -> dict[str, str]:
    """The client's cookies as a header, and the client made to forget them."""
    header = "; ".join(f"{name}={value}" for name, value in client.cookies.items())
    client.cookies.clear()
    return {"Cookie": header}


GUARDED = ["/admin/x", "/open/admin", "/open/admin-sync", "/team/x"]


async def test_anonymous_gets_401_never_403(gate: AuthGate) -> None:
    async with guarded_client(gate) as client:
        for path in [*GUARDED, "/api/x", "/open/login", "/admin/billing/x"]:
            response = await client.get(path)
            assert_envelope(response, 401)
            assert response.headers["www-authenticate"] == "Bearer"
            bad = await client.get(path, headers={"Authorization": "Bearer not.a.token"})
            assert_envelope(bad, 401)
        assert (await client.get("/admin-ish")).status_code == 200  # not in "/admin"


async def test_without_the_scope_403_with_insufficient_scope_for_bearer(gate: AuthGate) -> None:
    async with guarded_client(gate) as client:
        account = await register_and_login(client)
        cookies = cookie_header(client)
        for path in GUARDED:
            response = await client.get(path, headers=bearer(account))
            body = assert_envelope(response, 403)
            assert body["data"] is None
            assert "admin" in body["message"] or "team" in body["message"]
            assert response.headers["www-authenticate"] == 'Bearer error="insufficient_scope"'
            # a browser (the cookie) gets the 403 without a Bearer challenge
            by_cookie = await client.get(path, headers=cookies)
            assert_envelope(by_cookie, 403)
            assert "www-authenticate" not in by_cookie.headers
        for path in ("/api/x", "/open/login"):
            assert (await client.get(path, headers=bearer(account))).status_code == 200


async def test_granted_scopes_open_their_groups_at_the_next_request(
    make_gate: GateFactory,
) -> None:
    first, second = await make_gate(), await make_gate()
    async with guarded_client(first) as client_a, guarded_client(second) as client_b:
        account = await register_and_login(client_a)
        client_a.cookies.clear()
        for client in (client_a, client_b):
            assert (await client.get("/admin/x", headers=bearer(account))).status_code == 403

        await first.accounts.grant_role(account.id, "admin")
        for client in (client_a, client_b):
            for path in ("/admin/x", "/open/admin", "/open/admin-sync"):
                assert (await client.get(path, headers=bearer(account))).status_code == 200
            # a nested group adds its own scope to the outer one's
            nested = await client.get("/admin/billing/x", headers=bearer(account))
            assert nested.status_code == 403
            assert nested.json()["message"] == "Requires the scope billing:read"

        await first.accounts.grant_role(account.id, "billing:read")
        assert (await client_b.get("/admin/billing/x", headers=bearer(account))).status_code == 200

        await second.accounts.revoke_role(account.id, "admin")
        for client in (client_a, client_b):
            assert (await client.get("/admin/x", headers=bearer(account))).status_code == 403
            assert (await client.get("/open/admin", headers=bearer(account))).status_code == 403


async def socket_messages(
    app: Starlette, token: str | None, path: str = "/ws"
) -> list[dict[str, Any]]:
    headers = [] if token is None else [(b"authorization", f"Bearer {token}".encode())]
    return await websocket_handshake(app, path, headers)


async def test_scopes_on_a_websocket(gate: AuthGate) -> None:
    app = guarded_app(gate)
    async with guarded_client(gate) as client:
        account = await register_and_login(client)
    closed = {"type": "websocket.close", "code": 1008, "reason": ""}
    for path in ("/ws", "/admin/ws"):  # the decorator, and the middleware's route group
        assert await socket_messages(app, None, path) == [closed]
        assert await socket_messages(app, account.access_token, path) == [closed]
    await gate.accounts.grant_role(account.id, "admin")
    for path in ("/ws", "/admin/ws"):
        sent = await socket_messages(app, account.access_token, path)
        assert sent[0]["type"] == "websocket.accept"


def test_requires_needs_a_request_or_websocket_argument() -> None:
    def endpoint(thing: object) -> None: ...

    with pytest.raises(TypeError, match="request"):
        authgate.requires("admin")(endpoint)


def problem(connection: HTTPConnection, error: AuthgateError) -> Response:
    """A host app's own error format (RFC 9457 problem details)."""
    headers = error_headers(error)
    body = {"type": "about:blank", "status": error.status_code, "detail": error.message}
    return JSONResponse(
        body, error.status_code, headers=headers, media_type="application/problem+json"
    )


async def test_a_replaced_renderer_answers_every_refusal(make_gate: GateFactory) -> None:
    gate = await make_gate()
    custom = AuthGate(gate.settings, render_error=problem)
    await custom.startup()
    try:
        async with guarded_client(custom) as client:
            account = await register_and_login(client)
            cookies = cookie_header(client)
            answers = {
                "middleware 401": await client.get("/api/x"),
                "middleware 403": await client.get("/admin/x", headers=bearer(account)),
                "requires 401": await client.get("/open/admin"),
                "requires 403": await client.get("/open/admin-sync", headers=bearer(account)),
                "require 403": await client.get("/team/x", headers=bearer(account)),
                "router 401": await client.get("/auth/me"),
                "router 400": await client.post("/auth/login", json={"username": 1}),
                "refresh 401": await client.post("/auth/refresh-token", json={}),
                "csrf 403": await client.post(
                    "/auth/logout", headers={**cookies, "Origin": "https://evil.example"}
                ),
            }
    finally:
        await custom.shutdown()
    for name, response in answers.items():
        assert response.headers["content-type"] == "application/problem+json", name
        assert response.json()["status"] == response.status_code, name
        assert "statusCode" not in response.json(), name
    assert answers["middleware 401"].headers["www-authenticate"] == "Bearer"
    assert answers["middleware 403"].headers["www-authenticate"] == (
        'Bearer error="insufficient_scope"'
    )
    assert answers["csrf 403"].status_code == 403


def test_insufficient_scope_names_what_is_missing() -> None:
    error = InsufficientScope(["admin", "billing:read"], bearer=True)
    assert error.status_code == 403
    assert error.message == "Requires the scope admin, billing:read"
    assert error_headers(error) == {"WWW-Authenticate": 'Bearer error="insufficient_scope"'}
    assert error_headers(InsufficientScope(["admin"])) == {}


@pytest.mark.processes  # the CLI, as a subprocess
async def test_roles_granted_on_the_shell_open_a_group_at_the_next_request(
    gate: AuthGate, settings: Settings
) -> None:
    env = environment(settings)
    async with guarded_client(gate) as client:
        account = await register_and_login(client)
        client.cookies.clear()
        assert (await client.get("/admin/x", headers=bearer(account))).status_code == 403

        ok(env, "users", "grant", account.username, "admin")
        assert (await client.get("/admin/x", headers=bearer(account))).status_code == 200
        assert (await client.get("/open/admin", headers=bearer(account))).status_code == 200

        ok(env, "users", "revoke", account.email, "admin")
        assert (await client.get("/admin/x", headers=bearer(account))).status_code == 403
        assert (await client.get("/open/admin", headers=bearer(account))).status_code == 403


async def test_scopes_cost_no_extra_round_trip(
    gate: AuthGate, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Roles come with the cached user: a scoped request costs what a login-only one does."""
    async with guarded_client(gate) as client:
        account = await register_and_login(client)
        client.cookies.clear()
        await gate.accounts.grant_role(account.id, "admin")
        assert gate.redis is not None
        assert gate.engine is not None
        sent: list[str] = []
        execute_command = gate.redis.execute_command
        packed_call = PackedScript.__call__

        async def counting(*args: Any, **options: Any) -> Any:
            sent.append(str(args[0]))
            return await execute_command(*args, **options)

        async def counting_packed(script: PackedScript, *args: Any) -> Any:
            sent.append("EVALSHA")  # the session check, packed by hand (wire.py)
            return await packed_call(script, *args)

        def on_execute(*args: Any) -> None:
            sent.append("SQL")

        monkeypatch.setattr(gate.redis, "execute_command", counting)
        monkeypatch.setattr(PackedScript, "__call__", counting_packed)
        event.listen(gate.engine.sync_engine, "before_cursor_execute", on_execute)
        try:
            assert (await client.get("/api/x", headers=bearer(account))).status_code == 200
            costs: dict[str, list[str]] = {}
            for path in ("/api/x", "/admin/x", "/open/admin", "/team/x"):
                sent.clear()
                for _ in range(3):
                    await client.get(path, headers=bearer(account))
                costs[path] = list(sent)
        finally:
            event.remove(gate.engine.sync_engine, "before_cursor_execute", on_execute)
    assert costs["/api/x"] == ["EVALSHA"] * 3  # the session check, one a request
    assert "SQL" not in costs["/api/x"]
    assert costs["/admin/x"] == costs["/open/admin"] == costs["/team/x"] == costs["/api/x"]
