"""What every framework integration takes from a gate, described once and framework-neutral.

``Mount(gate, prefix="/auth", protect=...)`` checks the prefix against the refresh cookie's
path and holds what a host app plugs in: the auth router to mount at the prefix (or
``wrap(app)`` for a whole ASGI app), the middleware with every setting of the gate, the
lifespan, the error handling and the OpenAPI paths and components to merge into the
host's document. The functions read what ``AuthMiddleware`` left in an ASGI scope (the
principal, the user) and take a rendered Starlette response apart for a host framework's
own response class. FastAPI, Litestar and Django keep only what is theirs: dependencies
and ``Security`` scopes, the plugin and its guard, the Django middleware and decorator.

This module imports no framework besides Starlette, which authgate is built on.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, cast

from starlette.middleware import Middleware
from starlette.requests import HTTPConnection, Request
from starlette.responses import Response
from starlette.routing import Router
from starlette.types import ASGIApp, Scope

from authgate.errors import AuthgateError
from authgate.gate import AuthGate
from authgate.http import endpoints
from authgate.http.guards import Protect, renderer_of
from authgate.http.openapi import auth_components, auth_paths
from authgate.http.responses import ErrorRenderer
from authgate.http.wrap import AuthWrapped, check_refresh_cookie_path
from authgate.service import Principal
from authgate.users.protocol import User

__all__ = [
    "Mount",
    "ResponseParts",
    "middleware_saw",
    "optional_principal",
    "principal_of",
    "render_error",
    "user_of",
]

ErrorHandler = Callable[[Request, Exception], Any]
"""A Starlette exception handler (``async (request, exc) -> Response``)."""

# a host framework's response class computes these two from the body and its media type
_SET_BY_THE_HOST = frozenset({"content-length", "content-type"})


def _connection(scope: Scope) -> Request:
    """``scope`` as the request that ``authgate.http.endpoints`` reads the principal from.

    Those readers look at the scope only; a Starlette ``Request`` refuses a websocket's
    scope (which a Litestar guard or handler may hold), its ``HTTPConnection`` does not.
    """
    if scope.get("type") == "http":
        return Request(scope)
    return cast(Request, HTTPConnection(scope))


def middleware_saw(scope: Scope) -> bool:
    """``AuthMiddleware`` ran for this request: it sets ``scope["user"]``, anonymous too."""
    return "user" in scope


def principal_of(scope: Scope) -> Principal:
    """The ``Principal`` (user, session, claims) the middleware authenticated.

    Raises:
        NotAuthenticated: nobody is logged in (rendered as a 401, never a 500).
    """
    return endpoints.principal_of(_connection(scope))


def optional_principal(scope: Scope) -> Principal | None:
    """The ``Principal`` the middleware authenticated, or ``None`` when anonymous."""
    return endpoints.optional_principal(_connection(scope))


def user_of(scope: Scope) -> User | None:
    """The logged-in ``User``, or ``None`` when anonymous."""
    principal = optional_principal(scope)
    return principal.user if principal is not None else None


def render_error(
    scope: Scope, error: AuthgateError, render: ErrorRenderer | None = None
) -> Response:
    """``error`` as ``render`` answers it; by default with the renderer the middleware left
    in the scope (the gate's), else the envelope."""
    return (render or renderer_of(scope))(Request(scope), error)


@dataclass(frozen=True)
class ResponseParts:
    """A Starlette response taken apart, to build the host framework's response from.

    Attributes:
        status_code: the HTTP status.
        body: the rendered body.
        media_type: the response class's media type (``application/json``), for a host
            that adds the charset itself (Litestar).
        content_type: the whole ``Content-Type`` header, charset included, for a host that
            takes it as is (Django).
        headers: every other header (``WWW-Authenticate``, ``Retry-After``, ...) in order,
            without ``Content-Length`` and ``Content-Type``, which the host sets itself.
    """

    status_code: int
    body: bytes
    media_type: str | None
    content_type: str | None
    headers: tuple[tuple[str, str], ...]

    @classmethod
    def of(cls, response: Response) -> ResponseParts:
        """The parts of ``response`` (a rendered, not a streaming, response)."""
        return cls(
            status_code=response.status_code,
            body=bytes(response.body),
            media_type=response.media_type,
            content_type=response.headers.get("content-type"),
            headers=tuple(
                (name, value)
                for name, value in response.headers.items()
                if name not in _SET_BY_THE_HOST
            ),
        )


class Mount:
    """authgate mounted in a host app at ``prefix``: every piece the host plugs in.

    Args:
        gate: the ``AuthGate``; the middleware carries all of its settings.
        prefix: where the auth endpoints answer (``/auth/login``, ...); the refresh cookie's
            path (``AUTHGATE_REFRESH_COOKIE_PATH``, ``/auth`` by default) must end with it.
        protect: path prefixes (or prefixes to scopes) the middleware guards.

    Raises:
        ConfigError: the refresh cookie's path does not end with ``prefix``.

    Attributes:
        gate: the ``AuthGate``.
        prefix: ``prefix`` with one leading slash and none trailing (``/auth``).
        protect: the route groups the middleware guards.
        router: the auth endpoints, for the host to mount at ``prefix``.
    """

    def __init__(self, gate: AuthGate, *, prefix: str = "/auth", protect: Protect = ()) -> None:
        self.gate = gate
        self.prefix = "/" + prefix.strip("/")
        # refused when the host is wired, not at the first refresh that finds no cookie
        check_refresh_cookie_path(gate.settings, self.prefix)
        self.protect = protect
        self.router: Router = gate.router()

    def wrap(self, app: ASGIApp) -> AuthWrapped:
        """``app`` with the auth endpoints at ``prefix``, the middleware in front and the
        lifespan, for a host with no mounts or middleware of its own (Django)."""
        return self.gate.wrap(app, prefix=self.prefix, protect=self.protect)

    @property
    def middleware(self) -> Middleware:
        """``AuthMiddleware`` with every setting of the gate, guarding ``protect``: its
        ``cls``, ``args`` and ``kwargs`` go into the host's own middleware declaration."""
        return self.gate.middleware(self.protect)

    @property
    def lifespan(self) -> Callable[[Any], AbstractAsyncContextManager[None]]:
        """The gate's start-up and shut-down, as a lifespan context (``lifespan(app)``)."""
        lifespan: Callable[[Any], AbstractAsyncContextManager[None]] = self.gate.lifespan
        return lifespan

    @property
    def exception_handlers(self) -> dict[Any, ErrorHandler]:
        """Starlette handlers that put every error, 404 and 405 too, in the envelope."""
        return self.gate.exception_handlers

    @property
    def error_handler(self) -> ErrorHandler:
        """The Starlette handler for ``AuthgateError``: the gate's renderer."""
        handler: ErrorHandler = self.exception_handlers[AuthgateError]
        return handler

    def render_error(self, scope: Scope, error: AuthgateError) -> Response:
        """``error`` as the gate's renderer answers it, for the request of ``scope``."""
        return render_error(scope, error, self.gate.render_error)

    def openapi_paths(self) -> dict[str, Any]:
        """The OpenAPI ``paths`` of the auth endpoints the router serves, at ``prefix``."""
        return auth_paths(self.router.routes, self.prefix)

    def openapi_components(self) -> dict[str, dict[str, Any]]:
        """The ``components`` those paths refer to: schemas, responses, security schemes."""
        return auth_components()

    def merge_openapi(self, document: dict[str, Any]) -> dict[str, Any]:
        """Add the auth endpoints and their components to the host's OpenAPI ``document``
        (in place, and returned); a component the host already has keeps the host's."""
        document.setdefault("paths", {}).update(self.openapi_paths())
        components = document.setdefault("components", {})
        for kind, entries in self.openapi_components().items():
            for name, entry in entries.items():
                components.setdefault(kind, {}).setdefault(name, entry)
        return document
