"""``gate.wrap()`` on any ASGI app (contract §8): the auth router at its prefix, the
middleware with every setting of the gate, and the lifespan — forwarded to an app that
speaks it, skipped for one that does not (a bare function, or one that raises like Django)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

import authgate
from authgate import AuthGate, AuthMiddleware, ConfigError, Settings
from authgate.observability.events import CSRF_REJECTED, SecurityEvent
from tests.conftest import PASSWORD, DatabaseFactory, unique_username

LIFESPAN_SCOPE: dict[str, Any] = {
    "type": "lifespan",
    "asgi": {"version": "3.0", "spec_version": "2.0"},
    "state": {},
}


class Lifespan:
    """Drives the ASGI lifespan of an app as a server does."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.inbox: asyncio.Queue[Message] = asyncio.Queue()
        self.answers: asyncio.Queue[Message] = asyncio.Queue()
        self.task: asyncio.Task[None] | None = None
        self.scope: dict[str, Any] = {**LIFESPAN_SCOPE, "state": {}}

    async def _run(self) -> None:
        async def send(message: Message) -> None:
            await self.answers.put(dict(message))

        await self.app(self.scope, self.inbox.get, send)

    async def tell(self, kind: str) -> Message:
        """Send ``lifespan.<kind>``; the app's answer."""
        if self.task is None:
            self.task = asyncio.create_task(self._run())
        await self.inbox.put({"type": f"lifespan.{kind}"})
        return await asyncio.wait_for(self.answers.get(), 30)

    async def ended(self) -> None:
        assert self.task is not None
        await asyncio.wait_for(self.task, 30)


@asynccontextmanager
async def running(app: ASGIApp) -> AsyncIterator[dict[str, Any]]:
    """``app`` started, and shut down at the end, by its ASGI lifespan; the lifespan state."""
    lifespan = Lifespan(app)
    started = await lifespan.tell("startup")
    assert started == {"type": "lifespan.startup.complete"}, started
    try:
        yield lifespan.scope["state"]
    finally:
        stopped = await lifespan.tell("shutdown")
        await lifespan.ended()
        assert stopped == {"type": "lifespan.shutdown.complete"}, stopped


def client_of(app: ASGIApp, *, root_path: str = "") -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, root_path=root_path),
        base_url="http://testserver",
        headers={"Origin": "http://testserver"},
    )


async def bare_app(scope: Scope, receive: Receive, send: Send) -> None:
    """A plain ASGI function that ignores the lifespan: who is calling, with which scopes."""
    if scope["type"] != "http":
        return
    user = scope["user"]
    body = {
        "user": user.username if user.is_authenticated else None,
        "scopes": scope["auth"].scopes,
        "path": scope["path"],
    }
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": json.dumps(body).encode()})


async def django_like_app(scope: Scope, receive: Receive, send: Send) -> None:
    """Like Django's ``ASGIHandler``: it raises on a lifespan scope."""
    if scope["type"] != "http":
        raise ValueError("Django can only handle ASGI/HTTP connections, not lifespan.")
    await bare_app(scope, receive, send)


async def whole_flow(client: httpx.AsyncClient, *, auth: str = "/auth") -> None:
    """register -> login -> protected -> refresh -> logout, with the cookies of a browser."""
    username = unique_username()
    registered = await client.post(
        f"{auth}/register",
        json={
            "username": username,
            "email": f"{username}@example.com",
            "fullName": "Wrapped User",
            "password": PASSWORD,
        },
    )
    assert registered.status_code == 201, registered.text
    assert (await client.get("/api/data")).status_code == 401
    # a trailing slash answers too: no redirect out of the mount
    login = await client.post(f"{auth}/login/", json={"username": username, "password": PASSWORD})
    assert login.status_code == 200, login.text
    seen = await client.get("/api/data")
    assert seen.status_code == 200, seen.text
    assert seen.json()["user"] == username
    assert seen.json()["scopes"] == ["authenticated"]
    assert (await client.get(f"{auth}/me")).json()["data"]["username"] == username
    forbidden = await client.get("/admin/data")
    assert forbidden.status_code == 403
    assert forbidden.json()["statusCode"] == 403
    refreshed = await client.post(f"{auth}/refresh-token")
    assert refreshed.status_code == 200, refreshed.text
    assert (await client.get("/api/data")).json()["user"] == username
    assert (await client.post(f"{auth}/logout")).status_code == 200
    assert (await client.get("/api/data")).status_code == 401
    missing = await client.get(f"{auth}/nothing-here")
    assert missing.status_code == 404
    assert missing.json()["statusCode"] == 404
    assert (await client.get(auth)).status_code == 404  # not a redirect to "/auth/"
    public = await client.get("/elsewhere")
    assert public.json() == {"user": None, "scopes": [], "path": "/elsewhere"}


PROTECT = {"/api": [], "/admin": ["admin"]}


@pytest.mark.parametrize("app", [bare_app, django_like_app], ids=["bare", "django-like"])
async def test_a_wrapped_asgi_app_does_the_whole_flow_on_an_empty_database(
    settings: Settings, new_database: DatabaseFactory, app: ASGIApp
) -> None:
    # a fresh database: the wrapped app's lifespan creates the tables (Django has none)
    gate = AuthGate(replace(settings, database_url=await new_database()))
    wrapped = gate.wrap(app, protect=PROTECT)
    async with running(wrapped), client_of(wrapped) as client:
        await whole_flow(client)


async def test_a_wrapped_starlette_app_keeps_its_lifespan_and_roles(settings: Settings) -> None:
    gate = AuthGate(settings)
    phases: list[str] = []

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, str]]:
        phases.append("started")
        yield {"greeting": "hello"}
        phases.append("stopped")

    @authgate.requires("admin")
    async def admin(request: Request) -> JSONResponse:
        return JSONResponse({"admin": request.user.username})

    async def data(request: Request) -> JSONResponse:
        return JSONResponse(
            {
                "user": request.user.username if request.user.is_authenticated else None,
                "scopes": request.auth.scopes,
                "path": request.url.path,
            }
        )

    inner = Starlette(
        routes=[
            Route("/api/data", data),
            Route("/admin/data", admin),
            Route("/elsewhere", data),
            Route("/open-admin", admin),
        ],
        lifespan=lifespan,
    )
    wrapped = gate.wrap(inner, protect={"/api": []})
    async with running(wrapped) as state, client_of(wrapped) as client:
        assert phases == ["started"]
        assert state == {"greeting": "hello"}  # the app's lifespan state reaches the server
        await whole_flow(client)
        login = await client.post("/auth/login", json={"username": "nobody", "password": "x" * 12})
        assert login.status_code == 401
        assert (await client.get("/open-admin")).status_code == 401
    assert phases == ["started", "stopped"]


async def test_a_failing_start_up_of_the_app_fails_the_lifespan(settings: Settings) -> None:
    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        raise RuntimeError("no config")
        yield

    wrapped = AuthGate(settings).wrap(Starlette(lifespan=lifespan))
    server = Lifespan(wrapped)
    answer = await server.tell("startup")
    assert answer["type"] == "lifespan.startup.failed"
    assert "no config" in answer["message"]
    await server.ended()


async def test_a_failing_shut_down_of_the_app_still_shuts_authgate_down(
    settings: Settings,
) -> None:
    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        raise RuntimeError("could not flush")

    gate = AuthGate(settings)
    shut_down: list[bool] = []
    shutdown = gate.shutdown

    async def recorded_shutdown() -> None:
        shut_down.append(True)
        await shutdown()

    gate.shutdown = recorded_shutdown  # type: ignore[method-assign]
    server = Lifespan(gate.wrap(Starlette(lifespan=lifespan)))
    assert await server.tell("startup") == {"type": "lifespan.startup.complete"}
    assert await gate.service.health() == {"redis": "ok", "database": "ok"}
    answer = await server.tell("shutdown")
    assert answer["type"] == "lifespan.shutdown.failed"
    assert "could not flush" in answer["message"]
    await server.ended()
    assert shut_down == [True]


async def test_the_refresh_cookie_must_reach_the_prefix(settings: Settings) -> None:
    gate = AuthGate(settings)
    with pytest.raises(ConfigError, match="refresh cookie"):
        gate.wrap(bare_app, prefix="/account")
    await gate.shutdown()


async def test_wrapped_under_a_root_path(settings: Settings) -> None:
    gate = AuthGate(replace(settings, refresh_cookie_path="/myapp/auth"))
    wrapped = gate.wrap(bare_app, protect=PROTECT)
    async with running(wrapped), client_of(wrapped, root_path="/myapp") as client:
        await whole_flow(client, auth="/myapp/auth")


# -- every documented way of building the middleware carries every setting of the gate -------

TRUSTED = "https://front.example"
PROXY = "10.0.0.1"


async def echo(request: Request) -> JSONResponse:
    return JSONResponse({"user": request.user.username if request.user.is_authenticated else None})


def starlette_with(middleware: list[Middleware], gate: AuthGate) -> Starlette:
    return Starlette(
        routes=[Route("/echo", echo, methods=["POST"])],
        middleware=middleware,
        exception_handlers=gate.exception_handlers,
    )


WAYS: dict[str, Callable[[AuthGate], ASGIApp]] = {
    "gate.middleware()": lambda gate: starlette_with([gate.middleware()], gate),
    "AuthMiddleware(gate=)": lambda gate: starlette_with(
        [Middleware(AuthMiddleware, gate=gate)], gate
    ),
    "AuthMiddleware(app, gate=)": lambda gate: AuthMiddleware(starlette_with([], gate), gate=gate),
    "AuthMiddleware(app, authenticator=)": lambda gate: AuthMiddleware(
        starlette_with([], gate), authenticator=gate.service
    ),
    "gate.wrap()": lambda gate: gate.wrap(starlette_with([], gate)),
}


@pytest.mark.parametrize("way", list(WAYS))
async def test_each_way_carries_trusted_origins_proxies_and_hooks(
    settings: Settings, way: str
) -> None:
    events: list[SecurityEvent] = []

    async def hook(event: SecurityEvent) -> None:
        events.append(event)

    gate = AuthGate(
        replace(settings, trusted_origins=(TRUSTED,), trusted_proxies=(PROXY,)), on_event=[hook]
    )
    await gate.startup()
    try:
        login_app = gate.wrap(bare_app)
        async with client_of(login_app) as logins:
            username = unique_username()
            await logins.post(
                "/auth/register",
                json={
                    "username": username,
                    "email": f"{username}@example.com",
                    "fullName": "Cookie User",
                    "password": PASSWORD,
                },
            )
            login = await logins.post(
                "/auth/login", json={"username": username, "password": PASSWORD}
            )
            assert login.status_code == 200, login.text
            cookie = f"accessToken={login.cookies['accessToken']}"
        transport = httpx.ASGITransport(app=WAYS[way](gate), client=(PROXY, 4711))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            trusted = await client.post("/echo", headers={"Cookie": cookie, "Origin": TRUSTED})
            assert trusted.status_code == 200, trusted.text
            assert trusted.json() == {"user": username}
            foreign = await client.post(
                "/echo",
                headers={
                    "Cookie": cookie,
                    "Origin": "https://evil.example",
                    "X-Forwarded-For": "198.51.100.9",
                },
            )
            assert foreign.status_code == 403
    finally:
        await gate.shutdown()
    rejected = [event for event in events if event.name == CSRF_REJECTED]
    assert [event.ip for event in rejected] == ["198.51.100.9"]  # the client behind the proxy


# -- the router never redirects out of its mount -------------------------------------------


@pytest.mark.parametrize(
    ("how", "root_path", "prefix"),
    [
        ("Starlette Mount", "", "/auth"),
        ("raw, prefix kept in path", "/auth", "/auth"),
        ("raw, prefix stripped by the host", "", ""),
    ],
)
async def test_the_router_answers_with_or_without_a_trailing_slash(
    gate: AuthGate, how: str, root_path: str, prefix: str
) -> None:
    from starlette.routing import Mount

    app: ASGIApp = gate.router()
    if how == "Starlette Mount":
        app = Starlette(routes=[Mount("/auth", app=app)], middleware=[gate.middleware()])
    async with client_of(app, root_path=root_path) as client:
        username = unique_username()
        for slash in ("", "/"):
            if slash == "":
                answer = await client.post(
                    f"{prefix}/register{slash}",
                    json={
                        "username": username,
                        "email": f"{username}@example.com",
                        "fullName": "Slash",
                        "password": PASSWORD,
                    },
                )
                assert answer.status_code == 201, (how, answer.text)
            login = await client.post(
                f"{prefix}/login{slash}", json={"username": username, "password": PASSWORD}
            )
            assert login.status_code == 200, (how, slash, login.status_code, login.text)
            client.cookies.clear()
            me = await client.get(f"{prefix}/me{slash}", headers={"Authorization": "Bearer x"})
            assert me.status_code == 401, (how, slash, me.status_code)
