"""The library's own small app for its tests, built from the public API alone.

Library tests talk to this app (the ``client`` and ``make_client`` fixtures), so they test
what any app gets from ``from authgate import ...``; the example app (``app_example``) has
tests of its own (``example_client``, ``make_example_client``), and may change its routes,
page and headers without a library test noticing.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route

from authgate import AuthGate, envelope, principal_of

ADMIN_ROLE = "admin"
# the example's groups, less its /metrics: /api needs a login, /admin the admin role
PROTECT = {"/api": [], "/admin": [ADMIN_ROLE]}


async def profile(request: Request) -> Response:
    """``GET /api/profile``: the caller's public user (the middleware let only users in)."""
    return envelope(200, principal_of(request).user.public(), "Profile")


def create_test_app(gate: AuthGate) -> Starlette:
    """authgate on Starlette as its README wires it: the router at ``/auth``, the middleware
    guarding ``PROTECT``, the gate's exception handlers and lifespan, the JWKS route and
    ``GET /api/profile``."""
    return Starlette(
        routes=[
            Route("/api/profile", profile, methods=["GET"]),
            gate.jwks_route(),
            Mount("/auth", app=gate.router()),
        ],
        middleware=[gate.middleware(protect=PROTECT)],
        exception_handlers=gate.exception_handlers,
        lifespan=gate.lifespan,
    )
