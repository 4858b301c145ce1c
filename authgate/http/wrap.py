"""``gate.wrap(app)``: authgate wired into any ASGI app in one call — the auth router at a
prefix, ``AuthMiddleware`` with every setting of the gate, and the lifespan."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.types import ASGIApp, Receive, Scope, Send

from authgate.config import Settings
from authgate.errors import ConfigError
from authgate.http.guards import Protect
from authgate.http.lifespan import serve_lifespan
from authgate.http.middleware import AuthMiddleware, route_path

if TYPE_CHECKING:
    from authgate.http.parts import MountableGate


def check_refresh_cookie_path(settings: Settings, prefix: str) -> None:
    """Refuse a mount ``prefix`` the refresh cookie would not be sent to.

    Raises:
        ConfigError: ``settings.refresh_cookie_path`` does not end with ``prefix``.
    """
    cookie_path = settings.refresh_cookie_path.rstrip("/")
    if not cookie_path.endswith("/" + prefix.strip("/")):
        raise ConfigError(
            f"the refresh cookie's path {cookie_path!r} would not reach {prefix!r}: "
            "set AUTHGATE_REFRESH_COOKIE_PATH to the prefix (with the app's root path)"
        )


def _with_full_path(scope: Scope) -> Scope:
    """The scope with ``path`` including ``root_path``, as the ASGI spec says (some servers
    hand the path with the root stripped)."""
    root: str = scope.get("root_path", "")
    path: str = scope["path"]
    if root and not path.startswith(root):
        return {**scope, "path": root + path}
    return scope


class AuthWrapped:
    """An ASGI app: ``app`` behind ``AuthMiddleware``, the auth endpoints at ``prefix``, and
    the lifespan served (``gate.startup()``/``shutdown()`` around the app's own).

    Args:
        gate: the ``AuthGate``; the middleware carries all of its settings.
        app: any ASGI app (Starlette, FastAPI, Django's ``get_asgi_application()``, ...).
        prefix: where the auth endpoints answer (``/auth/login``, ...); the refresh cookie's
            path (``AUTHGATE_REFRESH_COOKIE_PATH``, ``/auth`` by default) must end with it.
        protect: route groups that need a login, or a login and scopes.
    """

    def __init__(
        self, gate: MountableGate, app: ASGIApp, *, prefix: str = "/auth", protect: Protect = ()
    ) -> None:
        self.gate = gate
        self.app = app
        self.prefix = "/" + prefix.strip("/")
        check_refresh_cookie_path(gate.settings, self.prefix)
        auth = Starlette(
            routes=[Mount(self.prefix, app=gate.router())],
            exception_handlers=gate.exception_handlers,
        )
        auth.router.redirect_slashes = False  # "/auth" is a 404, not a redirect
        self.auth = auth
        self.middleware = AuthMiddleware(self._dispatch, gate=gate, protect=protect)

    async def _dispatch(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = route_path(scope)
        if path == self.prefix or path.startswith(self.prefix + "/"):
            await self.auth(_with_full_path(scope), receive, send)
        else:
            await self.app(scope, receive, send)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await serve_lifespan(self.gate, self.app, scope, receive, send)
        else:
            await self.middleware(scope, receive, send)
