"""The pure ASGI middleware: token -> verify -> session alive? -> user -> scope.

It authenticates every HTTP and WebSocket request that carries an access token (the
``accessToken`` cookie, else ``Authorization: Bearer``) and refuses unauthenticated
requests to protected path prefixes. ``RequireAuth`` protects a ``Mount``/``Router``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from starlette.authentication import AuthCredentials, UnauthenticatedUser
from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocketClose

from authgate.clientip import client_ip, parse_networks
from authgate.cookies import ACCESS_COOKIE
from authgate.csrf import needs_origin_check, origin_allowed
from authgate.errors import AuthgateError, CsrfRejected, NotAuthenticated, ServiceUnavailable
from authgate.events import CSRF_REJECTED, SecurityEvents
from authgate.observer import (
    REQUEST_ANONYMOUS,
    REQUEST_AUTHENTICATED,
    REQUEST_FORBIDDEN,
    REQUEST_REJECTED,
    REQUEST_UNAVAILABLE,
    Observer,
    Observers,
)
from authgate.principal import AuthenticatedUser, TokenCredentials
from authgate.responses import error_response
from authgate.service import Principal


class Authenticator(Protocol):
    """Turns an access token into a ``Principal`` (``AuthService`` is one)."""

    async def authenticate(self, access_token: str) -> Principal:
        """Raise ``NotAuthenticated`` or ``ServiceUnavailable`` when it cannot."""
        ...


_ACCESS_COOKIE_BYTES = ACCESS_COOKIE.encode()


def find_access_token(scope: Scope) -> str | None:
    """The ``accessToken`` cookie, else the token of ``Authorization: Bearer <token>``."""
    # one pass over the raw headers (the first of each counts, as with Starlette's Headers)
    cookie: bytes | None = None
    authorization: bytes | None = None
    for name, value in scope["headers"]:
        if name == b"cookie":
            if cookie is None:
                cookie = value
        elif name == b"authorization" and authorization is None:
            authorization = value
    # the cookie header is parsed only when it can hold the access cookie at all
    if cookie and _ACCESS_COOKIE_BYTES in cookie:
        token = cookie_parser(cookie.decode("latin-1")).get(ACCESS_COOKIE)
        if token:
            return token
    if authorization is None:
        return None
    scheme, _, token = authorization.decode("latin-1").partition(" ")
    token = token.strip()
    if scheme.lower() == "bearer" and token and " " not in token:
        return token
    return None


def route_path(scope: Scope) -> str:
    """The path the router matches on (``scope["path"]`` without ``root_path``)."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path


async def _refuse(error: AuthgateError, scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "websocket":
        await WebSocketClose(code=1013 if error.status_code == 503 else 1008)(scope, receive, send)
    else:
        await error_response(error)(scope, receive, send)


class AuthMiddleware:
    """Authenticate each request and guard the ``protect`` path prefixes.

    Unsafe requests (POST, PUT, PATCH, DELETE) that carry authgate's cookies must come
    from the app's own origin or one of ``trusted_origins`` (else 403); requests
    authenticated by an ``Authorization`` header alone are not subject to this.

    Args:
        app: the ASGI app to wrap.
        authenticator: usually the gate's ``AuthService``.
        protect: path prefixes (``"/api"`` covers ``/api`` and ``/api/...``) whose requests
            must be authenticated; others go on unauthenticated when the token is bad.
        trusted_origins: origins besides the app's own allowed to send cookie requests.
        events: where a refused cross-site request is reported.
        trusted_proxies: proxies whose ``X-Forwarded-For`` names the client in those reports.
        observer: told the outcome of every request (for metrics).
    """

    def __init__(
        self,
        app: ASGIApp,
        authenticator: Authenticator,
        protect: Sequence[str] = (),
        trusted_origins: Sequence[str] = (),
        events: SecurityEvents | None = None,
        trusted_proxies: Sequence[str] = (),
        observer: Observer | None = None,
    ) -> None:
        self.app = app
        self.authenticator = authenticator
        self.protect = tuple(prefix.rstrip("/") for prefix in protect)
        self.trusted_origins = tuple(origin.rstrip("/").lower() for origin in trusted_origins)
        self.events = events if events is not None else SecurityEvents()
        self.trusted_proxies = parse_networks(trusted_proxies)
        self.observer = observer if observer is not None else Observers()

    def is_protected(self, scope: Scope) -> bool:
        path = route_path(scope)
        return any(path == prefix or path.startswith(prefix + "/") for prefix in self.protect)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        scope["user"], scope["auth"] = UnauthenticatedUser(), AuthCredentials()
        if needs_origin_check(scope) and not origin_allowed(scope, self.trusted_origins):
            await self.events.emit(
                CSRF_REJECTED,
                ip=client_ip(scope, self.trusted_proxies) or None,
                path=route_path(scope),
            )
            self.observer.request(REQUEST_FORBIDDEN)
            await _refuse(CsrfRejected(), scope, receive, send)
            return
        failure: AuthgateError = NotAuthenticated()
        token = find_access_token(scope)
        if token is not None:
            try:
                principal = await self.authenticator.authenticate(token)
            except ServiceUnavailable as exc:
                self.observer.request(REQUEST_UNAVAILABLE)
                await _refuse(exc, scope, receive, send)  # fail closed, never let through
                return
            except NotAuthenticated as exc:
                failure = exc
            else:
                scope["user"] = AuthenticatedUser(principal)
                scope["auth"] = TokenCredentials(principal.claims)
        if not scope["user"].is_authenticated and self.is_protected(scope):
            self.observer.request(REQUEST_REJECTED)
            await _refuse(failure, scope, receive, send)
            return
        authenticated = scope["user"].is_authenticated
        self.observer.request(REQUEST_AUTHENTICATED if authenticated else REQUEST_ANONYMOUS)
        await self.app(scope, receive, send)


class RequireAuth:
    """Wrap an ASGI app (a ``Router``, or a ``Mount``'s app) so every request in it must be
    authenticated by ``AuthMiddleware``; anything else gets the 401 envelope."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            user = scope.get("user")
            if user is None or not user.is_authenticated:
                await _refuse(NotAuthenticated(), scope, receive, send)
                return
        await self.app(scope, receive, send)
