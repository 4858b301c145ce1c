"""``create_app()``: a Starlette app using all of authgate."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from starlette.applications import Starlette
from starlette.datastructures import QueryParams
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Mount, Route, Router
from starlette.staticfiles import StaticFiles

from app_example.headers import SecurityHeaders
from authgate import (
    MAX_LOGIN,
    AuthGate,
    FieldError,
    Settings,
    ValidationError,
    alias_route,
    auth_openapi,
    envelope,
    in_envelope,
    openapi_route,
    principal_of,
)

STATIC = Path(__file__).parent / "static"
ADMIN_ROLE = "admin"
# Who may pass where (the middleware's ``protect``): ``/api`` needs a login, ``/admin``
# and ``/metrics`` the admin role (401 without a login, 403 without the role).
PROTECT = {"/api": [], "/admin": [ADMIN_ROLE], "/metrics": [ADMIN_ROLE]}
USERS_PAGE = 20  # the default ``limit`` of GET /admin/users
MAX_USERS_PAGE = 100
_LIMIT = re.compile(r"[0-9]{1,3}")


def api_routes(gate: AuthGate, auth: Router) -> list[Route]:
    """``/api``: everything in here needs a logged-in user (the middleware's ``protect``).

    ``PATCH /api/settings`` is the auth router's ``PATCH /me`` (``auth``: the router mounted
    at ``/auth``) under the path the page has always used.
    """

    async def profile(request: Request) -> Response:
        return envelope(200, principal_of(request).user.public(), "Profile")

    # plain routes, not a Mount: the middleware guards the whole group already, and each
    # request is matched once instead of twice (the hot path, see "Benchmarks")
    return [
        Route("/api/profile", in_envelope(profile, gate.render_error), methods=["GET"]),
        alias_route(auth, "PATCH", "/me", at="/api/settings"),
    ]


def parse_user_listing(query: QueryParams) -> tuple[int, str | None]:
    """The ``limit`` (1 to ``MAX_USERS_PAGE``, default ``USERS_PAGE``) and the ``after``
    cursor (a username; empty or absent: from the start) of ``GET /admin/users``.

    Raises:
        ValidationError: either is malformed (a 400 with the field's error).
    """
    errors = []
    limit = USERS_PAGE
    text = query.get("limit")
    if text is not None:
        if _LIMIT.fullmatch(text) and 1 <= int(text) <= MAX_USERS_PAGE:
            limit = int(text)
        else:
            errors.append(FieldError("limit", f"must be a whole number from 1 to {MAX_USERS_PAGE}"))
    after = query.get("after") or None
    # the store compares it with usernames: no control character (PostgreSQL refuses NUL)
    if after is not None and (len(after) > MAX_LOGIN or not after.isprintable()):
        errors.append(FieldError("after", "must be a username from a previous page's next"))
    if errors:
        raise ValidationError("Invalid query parameters", errors=errors)
    return limit, after


def admin_routes(gate: AuthGate) -> list[Route]:
    """``/admin``: for users with the admin role only (the middleware's ``protect``)."""
    accounts = gate.accounts

    async def users(request: Request) -> Response:
        limit, after = parse_user_listing(request.query_params)
        page = await accounts.list_users(limit=limit, after=after)
        data = {"users": [user.public() for user in page.users], "next": page.next_after}
        return envelope(200, data, "Users")

    return [Route("/admin/users", in_envelope(users, gate.render_error), methods=["GET"])]


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
            *api_routes(gate, auth),
            *admin_routes(gate),
            Route("/", index, methods=["GET"]),
            Route("/health", health, methods=["GET"]),
            gate.jwks_route(),
            # for the admin role only (PROTECT): the counters say more than a visitor should
            # know (whether a forgot-password found an account, for one)
            gate.enable_metrics().route("/metrics"),
            openapi_route(auth_openapi(auth.routes, prefix="/auth")),
            Mount("/auth", app=auth),
            Mount("/static", app=StaticFiles(directory=STATIC), name="static"),
        ],
        # the security headers outermost: every response gets them, errors included
        middleware=[Middleware(SecurityHeaders), gate.middleware(protect=PROTECT)],
        exception_handlers=gate.exception_handlers,
        lifespan=lifespan,
    )
    app.state.gate = gate
    return app
