"""``create_app()``: a Starlette app using all of authgate."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from app_example.headers import SecurityHeaders
from authgate import AuthGate, Settings, envelope, principal_of
from authgate.bodies import read_json_object
from authgate.openapi import auth_openapi, openapi_route
from authgate.routes import in_envelope
from authgate.validation import parse_profile_update

STATIC = Path(__file__).parent / "static"


def api_routes(gate: AuthGate) -> list[Route]:
    """``/api``: everything in here needs a logged-in user (the middleware's ``protect``)."""
    service = gate.service

    async def profile(request: Request) -> Response:
        return envelope(200, principal_of(request).user.public(), "Profile")

    async def settings(request: Request) -> Response:
        body = await read_json_object(request, max_bytes=gate.settings.max_body_bytes)
        user = await service.update_profile(principal_of(request), parse_profile_update(body))
        return envelope(200, user.public(), "Settings saved")

    # plain routes, not a Mount: the middleware guards the whole group already, and each
    # request is matched once instead of twice (the hot path, see "Benchmarks")
    return [
        Route("/api/profile", in_envelope(profile), methods=["GET"]),
        Route("/api/settings", in_envelope(settings), methods=["PATCH"]),
    ]


def create_app(settings: Settings | None = None, gate: AuthGate | None = None) -> Starlette:
    """The example app, from ``settings`` (default: the environment)."""
    gate = gate if gate is not None else AuthGate(settings)

    async def health(request: Request) -> Response:
        status = await gate.service.health()
        healthy = all(value == "ok" for value in status.values())
        return envelope(200 if healthy else 503, status, "Healthy" if healthy else "Unhealthy")

    async def index(request: Request) -> Response:
        return FileResponse(STATIC / "index.html")

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with gate.lifespan():
            yield

    auth = gate.router()
    app = Starlette(
        routes=[
            # the API first: most requests are for it, and Starlette tries routes in order
            *api_routes(gate),
            Route("/", index, methods=["GET"]),
            Route("/health", health, methods=["GET"]),
            gate.jwks_route(),
            gate.enable_metrics().route("/metrics"),
            openapi_route(auth_openapi(auth.routes, prefix="/auth")),
            Mount("/auth", app=auth),
            Mount("/static", app=StaticFiles(directory=STATIC), name="static"),
        ],
        # the security headers outermost: every response gets them, errors included
        middleware=[Middleware(SecurityHeaders), gate.middleware(protect=["/api"])],
        exception_handlers=gate.exception_handlers,
        lifespan=lifespan,
    )
    app.state.gate = gate
    return app
