"""The pure ASGI middleware: token -> verify -> session alive? -> user -> scope.

It authenticates every HTTP and WebSocket request that carries an access token
(``Authorization: Bearer``, else the ``accessToken`` cookie) and refuses unauthenticated
requests to protected route groups (401, or 403 without a required scope).
``RequireAuth`` protects a ``Mount``/``Router``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from starlette.authentication import AuthCredentials, UnauthenticatedUser
from starlette.requests import HTTPConnection, cookie_parser
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocketClose

from authgate.config import parse_networks
from authgate.errors import (
    AuthgateError,
    ConfigError,
    CsrfRejected,
    InsufficientScope,
    NotAuthenticated,
    ServiceUnavailable,
)
from authgate.http.clientip import client_ip
from authgate.http.cookies import ACCESS_COOKIE
from authgate.http.csrf import (
    ORIGIN_CHECK,
    OriginCheck,
    needs_origin_check,
    normalize_origins,
    origin_allowed,
)
from authgate.http.guards import (
    RENDERER_KEY,
    Protect,
    RouteGroups,
    refusal,
    renderer_of,
    scope_names,
)
from authgate.http.principal import AuthenticatedUser, TokenCredentials, scopes_of
from authgate.http.responses import ErrorRenderer, render_envelope
from authgate.observability.events import CSRF_REJECTED, SecurityEvents
from authgate.observability.observer import (
    REQUEST_ANONYMOUS,
    REQUEST_AUTHENTICATED,
    REQUEST_FORBIDDEN,
    REQUEST_REJECTED,
    REQUEST_UNAVAILABLE,
    Observer,
    Observers,
)
from authgate.service import AuthService, Principal

if TYPE_CHECKING:
    from authgate.http.parts import GateParts


class Authenticator(Protocol):
    """Turns an access token into a ``Principal`` (``AuthService`` is one)."""

    async def authenticate(self, access_token: str) -> Principal:
        """Raise ``NotAuthenticated`` or ``ServiceUnavailable`` when it cannot."""
        ...


_ACCESS_COOKIE_BYTES = ACCESS_COOKIE.encode()


def find_credential(scope: Scope) -> tuple[str | None, bool]:
    """The request's access token and whether it came from the cookie: the token of
    ``Authorization: Bearer <token>``, else the ``accessToken`` cookie.

    The header wins: a request that sends both is authenticated by the header alone (the
    cookie is not looked at, even when the header's token is refused), and is therefore
    not subject to the CSRF origin check. The token and the CSRF decision come from here.
    """
    # one pass over the raw headers (the first of each counts, as with Starlette's Headers)
    cookie: bytes | None = None
    authorization: bytes | None = None
    for name, value in scope["headers"]:
        if name == b"cookie":
            if cookie is None:
                cookie = value
        elif name == b"authorization" and authorization is None:
            authorization = value
    if authorization is not None:
        scheme, _, token = authorization.decode("latin-1").partition(" ")
        token = token.strip()
        if scheme.lower() == "bearer" and token and " " not in token:
            return token, False
    # the cookie header is parsed only when it can hold the access cookie at all
    if cookie and _ACCESS_COOKIE_BYTES in cookie:
        cookie_token = cookie_parser(cookie.decode("latin-1")).get(ACCESS_COOKIE)
        if cookie_token:
            return cookie_token, True
    return None, False


def find_access_token(scope: Scope) -> str | None:
    """The token of ``Authorization: Bearer <token>``, else the ``accessToken`` cookie."""
    return find_credential(scope)[0]


def _full_path(scope: Scope) -> str:
    """The path with ``root_path`` (some servers hand it stripped), without a trailing slash."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if root and not path.startswith(root):
        path = root + path
    return path.rstrip("/") if len(path) > 1 else path


def route_path(scope: Scope) -> str:
    """The path the router matches on (``scope["path"]`` without ``root_path``)."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path


def _anonymous(scope: Scope) -> None:
    # new objects for each request: an app that changes its request's never changes another's
    scope["user"], scope["auth"] = UnauthenticatedUser(), AuthCredentials()


async def _refuse(
    error: AuthgateError,
    scope: Scope,
    receive: Receive,
    send: Send,
    render: ErrorRenderer = render_envelope,
) -> None:
    if scope["type"] == "websocket":
        await WebSocketClose(code=1013 if error.status_code == 503 else 1008)(scope, receive, send)
    else:
        await render(HTTPConnection(scope), error)(scope, receive, send)


class AuthMiddleware:
    """Authenticate each request and guard the ``protect`` route groups.

    Unsafe requests (POST, PUT, PATCH, DELETE) and WebSocket handshakes authenticated by
    the ``accessToken`` cookie must come from the app's own origin or one of
    ``trusted_origins`` (else 403); requests authenticated by ``Authorization: Bearer``
    (which wins over the cookie) are not subject to this. ``POST`` to ``refresh-token`` and
    ``logout`` under the refresh cookie's path are checked by those endpoints instead (they
    alone know whether the refresh token comes from the body or from a cookie).

    Build it with ``gate=`` (``AuthMiddleware(app, gate=gate, protect=...)``, as
    ``gate.middleware()`` and ``gate.wrap()`` do) so it carries every setting of the gate;
    an argument given explicitly wins over the gate's.

    Args:
        app: the ASGI app to wrap.
        authenticator: usually the gate's ``AuthService`` (its settings, events and
            observer are then the defaults of the arguments below).
        protect: path prefixes (``"/api"`` covers ``/api`` and ``/api/...``) whose requests
            must be authenticated, or a mapping of prefixes to the scopes they need
            (``{"/api": [], "/admin": ["admin"]}``); elsewhere a bad token goes on anonymous.
        trusted_origins: origins besides the app's own allowed to send cookie requests.
        events: where a refused cross-site request is reported.
        trusted_proxies: proxies whose ``X-Forwarded-For`` names the client in those reports.
        observer: told the outcome of every request (for metrics).
        gate: the gate (``AuthGate``, or anything with its ``service`` and
            ``render_error``) whose service, settings, hooks and error renderer to use.
        render_error: how a refusal is rendered (default: the gate's, else the envelope).
    """

    def __init__(
        self,
        app: ASGIApp,
        authenticator: Authenticator | None = None,
        protect: Protect = (),
        trusted_origins: Sequence[str] | None = None,
        events: SecurityEvents | None = None,
        trusted_proxies: Sequence[str] | None = None,
        observer: Observer | None = None,
        *,
        gate: GateParts | None = None,
        render_error: ErrorRenderer | None = None,
    ) -> None:
        if authenticator is None:
            if gate is None:
                raise ConfigError("AuthMiddleware needs gate= (or an authenticator)")
            authenticator = gate.service
        service = authenticator if isinstance(authenticator, AuthService) else None
        settings = service.settings if service is not None else None
        if trusted_origins is None:
            trusted_origins = settings.trusted_origins if settings is not None else ()
        if trusted_proxies is None:
            trusted_proxies = settings.trusted_proxies if settings is not None else ()
        self.app = app
        self.authenticator = authenticator
        self.groups = RouteGroups(protect)
        self.trusted_origins = normalize_origins(trusted_origins)
        # where the router's refresh and logout answer: the refresh cookie's path
        cookie_path = settings.refresh_cookie_path.rstrip("/") if settings is not None else None
        self.deferred_paths = (
            frozenset({f"{cookie_path}/refresh-token", f"{cookie_path}/logout"})
            if cookie_path is not None
            else frozenset()
        )
        if events is None:
            events = service.events if service is not None else SecurityEvents()
        if observer is None:
            observer = service.observer if service is not None else Observers()
        if render_error is None:
            render_error = gate.render_error if gate is not None else render_envelope
        self.events = events
        self.trusted_proxies = parse_networks(trusted_proxies)
        self.observer = observer
        self.render_error = render_error

    def is_protected(self, scope: Scope) -> bool:
        return self.groups.required(route_path(scope)) is not None

    def _deferred_check(self, scope: Scope) -> OriginCheck | None:
        """For a ``POST`` to the router's refresh or logout: the origin check to leave to it."""
        if not (
            self.deferred_paths
            and scope["type"] == "http"
            and scope["method"] == "POST"
            and _full_path(scope) in self.deferred_paths
        ):
            return None
        ip = client_ip(scope, self.trusted_proxies) or None
        return OriginCheck(self.trusted_origins, route_path(scope), ip)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind != "http" and kind != "websocket":
            await self.app(scope, receive, send)
            return
        scope[RENDERER_KEY] = render = self.render_error
        token, by_cookie = find_credential(scope)
        deferred: OriginCheck | None = None
        # only a cookie needs the origin check (see needs_origin_check): a Bearer request
        # goes straight on
        if (
            by_cookie
            and needs_origin_check(scope, by_cookie=True)
            and not origin_allowed(scope, self.trusted_origins)
        ):
            deferred = self._deferred_check(scope)
            if deferred is None:
                _anonymous(scope)
                await self.events.emit(
                    CSRF_REJECTED,
                    ip=client_ip(scope, self.trusted_proxies) or None,
                    path=route_path(scope),
                )
                self.observer.request(REQUEST_FORBIDDEN)
                await _refuse(CsrfRejected(), scope, receive, send, render)
                return
            # refresh or logout from a foreign origin: the endpoint goes by a refresh token in
            # the body or refuses the request, never by this cookie (it is not even looked up)
            token = None
        elif kind == "http" and scope["method"] == "POST":
            deferred = self._deferred_check(scope)
        failure: AuthgateError | None = None  # why a token was refused, if one was
        authenticated = False
        if token is not None:
            try:
                principal = await self.authenticator.authenticate(token)
            except ServiceUnavailable as exc:
                _anonymous(scope)
                self.observer.request(REQUEST_UNAVAILABLE)
                await _refuse(exc, scope, receive, send, render)  # fail closed, never let through
                return
            except NotAuthenticated as exc:
                failure = exc
            else:
                scope["user"] = AuthenticatedUser(principal)
                scope["auth"] = TokenCredentials(principal.claims, scopes_of(principal.user))
                authenticated = True
        if not authenticated:
            _anonymous(scope)
        groups = self.groups
        if groups and (groups.scoped or not authenticated):
            required = groups.required(route_path(scope))
            error = None
            # a logged-in request to a group that needs nothing more passes as it is
            if required is not None and (required or not authenticated):
                error = refusal(scope, required, failure)
            if error is not None:
                forbidden = isinstance(error, InsufficientScope)
                self.observer.request(REQUEST_FORBIDDEN if forbidden else REQUEST_REJECTED)
                await _refuse(error, scope, receive, send, render)
                return
        outcome = REQUEST_AUTHENTICATED if authenticated else REQUEST_ANONYMOUS
        if deferred is None:
            self.observer.request(outcome)
            await self.app(scope, receive, send)
            return
        scope[ORIGIN_CHECK] = deferred
        try:
            await self.app(scope, receive, send)
        finally:  # counted once the endpoint has decided on the origin
            self.observer.request(REQUEST_FORBIDDEN if deferred.refused else outcome)


class RequireAuth:
    """Wrap an ASGI app (a ``Router``, or a ``Mount``'s app) so every request in it must be
    authenticated by ``AuthMiddleware`` (401 otherwise) and hold every one of ``scopes``
    (403 otherwise)."""

    def __init__(self, app: ASGIApp, scopes: str | Sequence[str] = ()) -> None:
        self.app = app
        self.scopes = scope_names(scopes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            error = refusal(scope, self.scopes)
            if error is not None:
                await _refuse(error, scope, receive, send, renderer_of(scope))
                return
        await self.app(scope, receive, send)
