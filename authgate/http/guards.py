"""Who may pass: route groups that need a login and scopes, and ``requires`` for endpoints.

Both answer the same way: 401 (``NotAuthenticated``) when nobody is logged in, 403
(``InsufficientScope``) when the user lacks a scope, rendered by the gate's error renderer.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any, TypeAlias, TypeVar

from starlette.datastructures import Headers
from starlette.requests import HTTPConnection, cookie_parser
from starlette.types import Scope
from starlette.websockets import WebSocket

from authgate.errors import AuthgateError, InsufficientScope, NotAuthenticated
from authgate.http.cookies import ACCESS_COOKIE
from authgate.http.responses import ErrorRenderer, render_envelope

Protect: TypeAlias = Sequence[str] | Mapping[str, Sequence[str]]
"""Path prefixes that need a login, or a mapping of prefixes to the scopes they need."""

RENDERER_KEY = "authgate.render_error"
"""Where ``AuthMiddleware`` leaves the gate's error renderer in the ASGI scope."""

WEBSOCKET_POLICY_VIOLATION = 1008
SEEN_PATHS = 1024  # paths whose group answer is kept

_Endpoint = TypeVar("_Endpoint", bound=Callable[..., Any])


def scope_names(scopes: str | Sequence[str]) -> frozenset[str]:
    """``"admin"`` or ``["admin", ...]`` as a set of scope names."""
    return frozenset([scopes] if isinstance(scopes, str) else scopes)


class RouteGroups:
    """The ``protect`` table, made once: each prefix and the scopes its routes need.

    A prefix ``"/api"`` covers ``/api`` and ``/api/...``, not ``/apiary``. A path in several
    groups needs the scopes of all of them: a nested group adds requirements, never lifts
    them.
    """

    def __init__(self, protect: Protect | str = ()) -> None:
        if isinstance(protect, str):
            protect = [protect]
        pairs = protect.items() if isinstance(protect, Mapping) else ((p, ()) for p in protect)
        self.groups = tuple((prefix.rstrip("/"), scope_names(scopes)) for prefix, scopes in pairs)
        # does some group need more than a login? If not, a logged-in request needs no lookup
        self.scoped = any(scopes for _, scopes in self.groups)
        # the answer for each path seen lately: the same few paths come again and again
        self._seen: dict[str, frozenset[str] | None] = {}

    def __bool__(self) -> bool:
        return bool(self.groups)

    def required(self, path: str) -> frozenset[str] | None:
        """The scopes ``path`` needs (empty: a login only), or None if it is public."""
        seen = self._seen
        if path in seen:
            return seen[path]
        if len(seen) >= SEEN_PATHS:  # any path can be asked for: the memory stays bounded
            seen.clear()
        seen[path] = needed = self._required(path)
        return needed

    def _required(self, path: str) -> frozenset[str] | None:
        needed: frozenset[str] | None = None
        for prefix, scopes in self.groups:
            if path == prefix or path.startswith(prefix + "/"):
                needed = scopes if needed is None else needed | scopes
        return needed


def sent_as_bearer(scope: Scope) -> bool:
    """The request's token came in ``Authorization: Bearer`` (not in the cookie)."""
    headers = Headers(scope=scope)
    if cookie_parser(headers.get("cookie", "")).get(ACCESS_COOKIE):
        return False
    return headers.get("authorization", "")[:7].lower() == "bearer "


def refusal(
    scope: Scope, required: Collection[str], unauthenticated: AuthgateError | None = None
) -> AuthgateError | None:
    """Why the request may not pass (``unauthenticated`` or ``NotAuthenticated`` without a
    login, ``InsufficientScope`` without a scope in ``required``), or None if it may."""
    user = scope.get("user")
    if user is None or not user.is_authenticated:
        return unauthenticated if unauthenticated is not None else NotAuthenticated()
    if required:
        auth = scope.get("auth")
        granted = auth.scopes if auth is not None else ()
        missing = sorted(name for name in required if name not in granted)
        if missing:
            return InsufficientScope(missing, bearer=sent_as_bearer(scope))
    return None


def renderer_of(scope: Scope) -> ErrorRenderer:
    """The error renderer ``AuthMiddleware`` put in the scope, else the envelope."""
    render: ErrorRenderer = scope.get(RENDERER_KEY, render_envelope)
    return render


def _connection_index(endpoint: Callable[..., Any]) -> tuple[int, str]:
    for index, parameter in enumerate(inspect.signature(endpoint).parameters.values()):
        if parameter.name in ("request", "websocket"):
            return index, parameter.name
    raise TypeError(f'No "request" or "websocket" argument on {endpoint!r}')


def requires(*scopes: str) -> Callable[[_Endpoint], _Endpoint]:
    """Guard one Starlette endpoint (sync or async, ``request`` or ``websocket``).

    Anonymous: 401 with ``WWW-Authenticate: Bearer``; logged in without every one of
    ``scopes``: 403 (``insufficient_scope`` for Bearer requests); both rendered by the
    gate's error renderer. A WebSocket is closed with 1008 instead. ``requires()`` with no
    scope needs a login only. Unlike Starlette's ``requires``, "not logged in" is never 403.
    """
    required = frozenset(scopes)

    def decorate(endpoint: _Endpoint) -> _Endpoint:
        index, kind = _connection_index(endpoint)

        def connection(args: tuple[Any, ...], kwargs: dict[str, Any]) -> HTTPConnection:
            found = kwargs.get(kind, args[index] if index < len(args) else None)
            if not isinstance(found, HTTPConnection):
                raise TypeError(f"{endpoint!r}: {kind} is not a Request or WebSocket")
            return found

        if kind == "websocket":

            @functools.wraps(endpoint)
            async def guard_websocket(*args: Any, **kwargs: Any) -> Any:
                websocket = connection(args, kwargs)
                if refusal(websocket.scope, required) is not None:
                    assert isinstance(websocket, WebSocket)
                    await websocket.close(WEBSOCKET_POLICY_VIOLATION)
                    return None
                return await endpoint(*args, **kwargs)

            return guard_websocket  # type: ignore[return-value]

        if inspect.iscoroutinefunction(endpoint):

            @functools.wraps(endpoint)
            async def guard_async(*args: Any, **kwargs: Any) -> Any:
                request = connection(args, kwargs)
                error = refusal(request.scope, required)
                if error is not None:
                    return renderer_of(request.scope)(request, error)
                return await endpoint(*args, **kwargs)

            return guard_async  # type: ignore[return-value]

        @functools.wraps(endpoint)
        def guard_sync(*args: Any, **kwargs: Any) -> Any:
            request = connection(args, kwargs)
            error = refusal(request.scope, required)
            if error is not None:
                return renderer_of(request.scope)(request, error)
            return endpoint(*args, **kwargs)

        return guard_sync  # type: ignore[return-value]

    return decorate
