"""authgate in Litestar: one plugin.

``Litestar(route_handlers, plugins=[AuthgatePlugin(gate)])`` serves the auth endpoints at
``/auth``, runs ``AuthMiddleware`` with every setting of the gate, starts and stops the
gate with the app's lifespan, renders authgate's errors (401, 403, 503, ...) in the
envelope, adds the auth endpoints to the app's OpenAPI document, and gives handlers
``current_user`` (401 when anonymous) and ``optional_user`` as dependencies.
``guards=[requires_scopes("admin")]`` answers 401 anonymous, 403 without the scope.
"""

from __future__ import annotations

from typing import Any, cast

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
from starlette.responses import Response as StarletteResponse
from starlette.types import Scope as StarletteScope

from authgate.errors import AuthgateError
from authgate.gate import AuthGate
from authgate.http.guards import Protect, refusal
from authgate.integrations import mount
from authgate.service import Principal
from authgate.users.protocol import User

__all__ = ["AuthgatePlugin", "principal_of", "requires_scopes"]


def _scope(connection: ASGIConnection[Any, Any, Any, Any]) -> StarletteScope:
    # Litestar types its scope as TypedDicts; at run time it is the server's ASGI scope
    return cast(StarletteScope, connection.scope)


def principal_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    """The connection's ``Principal`` (user, session, claims).

    Raises:
        NotAuthenticated: nobody is logged in (the plugin answers 401, never 500).
    """
    return mount.principal_of(_scope(connection))


def _current_user(request: LitestarRequest[Any, Any, Any]) -> User:
    return principal_of(request).user


def _optional_user(request: LitestarRequest[Any, Any, Any]) -> User | None:
    return mount.user_of(_scope(request))


def requires_scopes(*scopes: str) -> Guard:
    """A guard: 401 when nobody is logged in, 403 without every one of ``scopes``."""

    required = frozenset(scopes)

    def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        refused = refusal(_scope(connection), required)
        if refused is not None:
            raise refused

    return guard


def _to_litestar(response: StarletteResponse) -> LitestarResponse[bytes]:
    parts = mount.ResponseParts.of(response)
    return LitestarResponse(
        content=parts.body,
        status_code=parts.status_code,
        headers=dict(parts.headers),
        media_type=parts.media_type,
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
        self.mount = mount.Mount(gate, prefix=prefix, protect=protect)
        self.gate = gate
        self.prefix = self.mount.prefix  # normalized: "/auth"
        self.protect = protect

    def _endpoints(self) -> Any:
        router = self.mount.router
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
        return _to_litestar(self.mount.render_error(_scope(request), exc))

    def _document(self, app: Litestar) -> None:
        """Add the auth endpoints and both security schemes to the app's OpenAPI document
        (``/schema/openapi.json``), if it has one."""
        if app.openapi_config is None:
            return  # the app turned its OpenAPI document off
        openapi: Any = app.plugins.get("OpenAPIPlugin")
        # built once, then served as is: merged in place
        self.mount.merge_openapi(openapi.provide_openapi_schema())

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        """Add the endpoints, the middleware, the lifespan, the error handler and the
        ``current_user`` / ``optional_user`` dependencies."""
        app_config.route_handlers.append(self._endpoints())
        app_config.on_startup.append(self._document)
        middleware = self.mount.middleware
        app_config.middleware.insert(
            0, DefineMiddleware(middleware.cls, *middleware.args, **middleware.kwargs)
        )
        app_config.lifespan.append(self.mount.lifespan)
        app_config.exception_handlers[AuthgateError] = self._render
        app_config.dependencies.setdefault(
            "current_user", Provide(_current_user, sync_to_thread=False)
        )
        app_config.dependencies.setdefault(
            "optional_user", Provide(_optional_user, sync_to_thread=False)
        )
        app_config.state["authgate"] = self.gate
        return app_config
