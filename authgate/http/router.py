"""The auth router, built from the endpoint table: one route per path, each handler bound
to its endpoint class and wrapped once in the error renderer."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from types import MethodType

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, Router
from starlette.types import Receive, Scope, Send

from authgate.http.endpoints import AuthEndpoints, Endpoints, Handler, in_envelope
from authgate.http.recovery_endpoints import RecoveryEndpoints
from authgate.http.responses import ErrorRenderer, render_envelope
from authgate.http.table import ENDPOINTS, Endpoint
from authgate.recovery.flows import RecoveryFlows
from authgate.service import AuthService


class MountedRouter(Router):
    """A ``Router`` that never redirects: ``/login/`` is ``/login``, whether the host
    framework strips the mount prefix (``root_path``) or not, so no answer points out of
    the mount."""

    def __init__(self, routes: list[Route]) -> None:
        super().__init__(routes=routes, redirect_slashes=False)

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if len(path) > 1 and path.endswith("/"):
            scope = {**scope, "path": path.rstrip("/") or "/"}
        await super().app(scope, receive, send)


def _bound(endpoint: Endpoint, owners: Sequence[Endpoints]) -> Handler | None:
    """The endpoint's handler bound to the one of ``owners`` whose class has it, if any."""
    name = endpoint.handler.__name__
    for owner in owners:
        if getattr(type(owner), name, None) is endpoint.handler:
            return MethodType(endpoint.handler, owner)
    return None


def _by_method(handlers: dict[str, Handler]) -> Handler:
    """One handler for a path that answers several methods (``GET`` and ``PATCH /me``), so
    that path is one route and its 405 names every method it has."""

    async def dispatch(request: Request) -> Response:
        method = "GET" if request.method == "HEAD" else request.method
        return await handlers[method](request)

    return dispatch


def table_routes(
    owners: Sequence[Endpoints],
    render_error: ErrorRenderer = render_envelope,
    endpoints: Iterable[Endpoint] = ENDPOINTS,
) -> list[Route]:
    """A route per path of ``endpoints`` that ``owners`` (the endpoint classes, bound to
    their service) answer, in the table's order; endpoints none of them has are left out.

    Each route's handler is wrapped once in ``in_envelope``, with ``render_error``.
    """
    paths: dict[str, dict[str, Handler]] = {}
    names: dict[str, str] = {}
    for endpoint in endpoints:
        handler = _bound(endpoint, owners)
        if handler is not None:
            paths.setdefault(endpoint.path, {})[endpoint.method] = handler
            names.setdefault(endpoint.path, endpoint.handler.__name__)
    routes = []
    for path, handlers in paths.items():
        handler = next(iter(handlers.values())) if len(handlers) == 1 else _by_method(handlers)
        routes.append(
            Route(
                path, in_envelope(handler, render_error), methods=list(handlers), name=names[path]
            )
        )
    return routes


def auth_router(
    service: AuthService,
    render_error: ErrorRenderer = render_envelope,
    *,
    recovery: RecoveryFlows | None = None,
) -> Router:
    """A router with the auth endpoints of the table, to mount (``Mount("/auth", app=...)``);
    with ``recovery``, the recovery endpoints too. Errors are rendered by ``render_error``."""
    owners: list[Endpoints] = [AuthEndpoints(service, render_error)]
    if recovery is not None:
        owners.append(RecoveryEndpoints(recovery, render_error))
    return MountedRouter(table_routes(owners, render_error))


def alias_route(router: Router, method: str, path: str, *, at: str) -> Route:
    """A route at ``at`` that answers ``method`` with the very endpoint that answers it at
    ``path`` in ``router`` (the auth router, ``gate.router()``): the same parsing, service
    call, envelope and error renderer. For an app that keeps an older path of its own, such
    as ``alias_route(auth, "PATCH", "/me", at="/api/settings")``.

    Raises:
        LookupError: ``router`` has no route for ``method`` at ``path``.
    """
    method = method.upper()
    for route in router.routes:
        if isinstance(route, Route) and route.path == path and method in (route.methods or ()):
            return Route(at, route.endpoint, methods=[method], name=route.name)
    raise LookupError(f"the router has no {method} {path}")
