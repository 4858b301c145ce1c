"""authgate in Litestar: one plugin.

``Litestar(route_handlers, plugins=[AuthgatePlugin(gate)])`` serves the auth endpoints at
``/auth``, runs ``AuthMiddleware`` with every setting of the gate, starts and stops the
gate with the app's lifespan, renders authgate's errors (401, 403, 503, ...) in the
envelope, adds the auth endpoints to the app's OpenAPI document, and gives handlers
``current_user`` (401 when anonymous) and ``optional_user`` as dependencies.
``guards=[requires_scopes("admin")]`` answers 401 anonymous, 403 without the scope.
"""

from __future__ import annotations

from typing import Any

from litestar import Litestar
from litestar import Request as LitestarRequest
from litestar import Response as LitestarResponse
from litestar.config.app import AppConfig
from litestar.connection import ASGIConnection
from litestar.di import Provide
from litestar.handlers import BaseRouteHandler, asgi
from litestar.middleware import DefineMiddleware
from litestar.plugins import InitPluginProtocol
from litestar.types import Guard, Receive, Scope, Send
from starlette.requests import Request as StarletteRequest
from starlette.responses import Response as StarletteResponse

from authgate.errors import AuthgateError, NotAuthenticated
from authgate.gate import AuthGate
from authgate.http.guards import Protect, refusal
from authgate.http.openapi import auth_components, auth_paths
from authgate.http.principal import AuthenticatedUser
from authgate.http.wrap import check_refresh_cookie_path
from authgate.service import Principal
from authgate.users.protocol import User

__all__ = ["AuthgatePlugin", "principal_of", "requires_scopes"]

_SKIPPED_HEADERS = {"content-length", "content-type"}


def principal_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    """The connection's ``Principal`` (user, session, claims).

    Raises:
        NotAuthenticated: nobody is logged in (the plugin answers 401, never 500).
    """
    user = connection.scope.get("user")
    if not isinstance(user, AuthenticatedUser):
        raise NotAuthenticated()
    return user.principal


def _current_user(request: LitestarRequest[Any, Any, Any]) -> User:
    return principal_of(request).user


def _optional_user(request: LitestarRequest[Any, Any, Any]) -> User | None:
    user = request.scope.get("user")
    return user.user if isinstance(user, AuthenticatedUser) else None


def requires_scopes(*scopes: str) -> Guard:
    """A guard: 401 when nobody is logged in, 403 without every one of ``scopes``."""

    required = frozenset(scopes)

    def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        refused = refusal(connection.scope, required)  # type: ignore[arg-type]
        if refused is not None:
            raise refused

    return guard


def _to_litestar(response: StarletteResponse) -> LitestarResponse[bytes]:
    headers = {k: v for k, v in response.headers.items() if k not in _SKIPPED_HEADERS}
    return LitestarResponse(
        content=bytes(response.body),
        status_code=response.status_code,
        headers=headers,
        media_type=response.media_type,
    )


class AuthgatePlugin(InitPluginProtocol):
    """Wires an ``AuthGate`` into a Litestar app.

    Args:
        gate: the ``AuthGate``.
        prefix: where the auth endpoints are mounted; the refresh cookie's path must end
            with it.
        protect: path prefixes (or prefixes to scopes) the middleware guards.
    """

    def __init__(self, gate: AuthGate, *, prefix: str = "/auth", protect: Protect = ()) -> None:
        self.gate = gate
        self.prefix = "/" + prefix.strip("/")
        self.protect = protect
        self.routes: list[Any] = []
        check_refresh_cookie_path(gate.settings, self.prefix)

    def _mount(self) -> Any:
        router = self.gate.router()
        self.routes = list(router.routes)
        prefix = self.prefix

        @asgi(prefix, is_mount=True, copy_scope=True)
        async def auth_endpoints(scope: Scope, receive: Receive, send: Send) -> None:
            # Litestar hands a mount the rest of the path, with a trailing slash; the router
            # gets the full path and the mount in root_path, as ASGI has it
            rest = scope["path"].rstrip("/")
            root = scope.get("root_path", "")
            mounted = {**scope, "root_path": root + prefix, "path": root + prefix + rest}
            await router(mounted, receive, send)  # type: ignore[arg-type]

        return auth_endpoints

    def _render(
        self, request: LitestarRequest[Any, Any, Any], exc: Exception
    ) -> LitestarResponse[bytes]:
        assert isinstance(exc, AuthgateError)
        return _to_litestar(self.gate.render_error(StarletteRequest(request.scope), exc))  # type: ignore[arg-type]

    def _document(self, app: Litestar) -> None:
        """Add the auth endpoints and both security schemes to the app's OpenAPI document
        (``/schema/openapi.json``), if it has one."""
        if app.openapi_config is None:
            return  # the app turned its OpenAPI document off
        openapi: Any = app.plugins.get("OpenAPIPlugin")
        document = openapi.provide_openapi_schema()  # built once, then served as is
        document.setdefault("paths", {}).update(auth_paths(self.routes, self.prefix))
        components = document.setdefault("components", {})
        for kind, entries in auth_components().items():
            for name, entry in entries.items():
                components.setdefault(kind, {}).setdefault(name, entry)

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        """Add the endpoints, the middleware, the lifespan, the error handler and the
        ``current_user`` / ``optional_user`` dependencies."""
        app_config.route_handlers.append(self._mount())
        app_config.on_startup.append(self._document)
        middleware = self.gate.middleware(self.protect)
        app_config.middleware.insert(
            0, DefineMiddleware(middleware.cls, *middleware.args, **middleware.kwargs)
        )
        app_config.lifespan.append(self.gate.lifespan)
        app_config.exception_handlers[AuthgateError] = self._render
        app_config.dependencies.setdefault(
            "current_user", Provide(_current_user, sync_to_thread=False)
        )
        app_config.dependencies.setdefault(
            "optional_user", Provide(_optional_user, sync_to_thread=False)
        )
        app_config.state["authgate"] = self.gate
        return app_config
