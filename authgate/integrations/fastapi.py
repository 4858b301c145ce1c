"""authgate in FastAPI (the ``authgate[fastapi]`` extra).

``install(app, gate)`` wires everything in one call: the auth endpoints at ``/auth``, the
middleware with every setting of the gate, authgate's errors in the envelope (FastAPI's
own errors stay ``{"detail": ...}`` unless ``envelope_errors=True``), the gate's start-up
and shut-down around the app's own lifespan, and the auth endpoints with both security
schemes in the app's OpenAPI document. Then, in the endpoints::

    @app.get("/dashboard")
    async def dashboard(user: Annotated[User, Depends(current_user)]) -> dict[str, str]: ...

    @app.delete("/users/{id}")
    async def remove(admin: Annotated[User, Security(current_user, scopes=["admin"])]): ...

Not logged in is a 401 with ``WWW-Authenticate: Bearer``; logged in without a scope a 403.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request, Security
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer
from fastapi.security import SecurityScopes as SecurityScopes
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from authgate.errors import (
    AuthgateError,
    ConfigError,
    FieldError,
    NotAuthenticated,
    ValidationError,
)
from authgate.gate import AuthGate
from authgate.http.cookies import ACCESS_COOKIE
from authgate.http.guards import Protect, refusal
from authgate.http.openapi import BEARER_SCHEME, COOKIE_SCHEME, SECURITY_SCHEMES
from authgate.integrations import mount
from authgate.service import Principal
from authgate.users.protocol import User

__all__ = [
    "SecurityScopes",
    "bearer_scheme",
    "cookie_scheme",
    "current_principal",
    "current_user",
    "install",
    "optional_principal",
    "optional_user",
]

bearer_scheme = HTTPBearer(
    scheme_name=BEARER_SCHEME,
    bearerFormat="JWT",
    description=SECURITY_SCHEMES[BEARER_SCHEME]["description"],
    auto_error=False,
)
"""The Bearer security scheme: documents it; the middleware reads the token."""

cookie_scheme = APIKeyCookie(
    name=ACCESS_COOKIE,
    scheme_name=COOKIE_SCHEME,
    description=SECURITY_SCHEMES[COOKIE_SCHEME]["description"],
    auto_error=False,
)
"""The ``accessToken`` cookie security scheme: documents it; the middleware reads it."""


async def optional_principal(
    request: Request,
    _bearer: Annotated[HTTPAuthorizationCredentials | None, Security(bearer_scheme)],
    _cookie: Annotated[str | None, Security(cookie_scheme)],
) -> Principal | None:
    """The request's ``Principal`` (user, session, claims), or ``None`` when anonymous.

    Raises:
        ConfigError: the middleware did not run (``install`` was not called).
    """
    if not mount.middleware_saw(request.scope):
        raise ConfigError(
            "authgate's middleware is not installed: call authgate.integrations.fastapi."
            "install(app, gate)"
        )
    return mount.optional_principal(request.scope)


async def current_principal(
    security_scopes: SecurityScopes,
    request: Request,
    principal: Annotated[Principal | None, Depends(optional_principal)],
) -> Principal:
    """The request's ``Principal``: 401 when anonymous, 403 without a required scope."""
    refused = refusal(request.scope, security_scopes.scopes)
    if refused is not None:
        raise refused
    if principal is None:  # a login authgate did not make: not one of its users
        raise NotAuthenticated()
    return principal


async def current_user(principal: Annotated[Principal, Depends(current_principal)]) -> User:
    """The logged-in ``User``: 401 when anonymous, 403 without a scope of ``Security(...)``."""
    return principal.user


async def optional_user(
    principal: Annotated[Principal | None, Depends(optional_principal)],
) -> User | None:
    """The logged-in ``User``, or ``None`` when anonymous."""
    return principal.user if principal is not None else None


def _merge_openapi(app: FastAPI, mounted: mount.Mount) -> None:
    original = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = mounted.merge_openapi(original())
            tags = document.setdefault("tags", [])
            if not any(tag.get("name") == "auth" for tag in tags):
                tags.append({"name": "auth", "description": "Login, tokens and sessions"})
            _document_refusals(app, document)
        return app.openapi_schema or original()

    app.openapi = openapi  # type: ignore[method-assign]


def _needs_login(dependant: Dependant) -> bool:
    return any(sub.call is current_principal or _needs_login(sub) for sub in dependant.dependencies)


def _document_refusals(app: FastAPI, document: dict[str, Any]) -> None:
    """The 401 (and, with scopes, 403) of each operation that depends on ``current_user``."""
    for route in app.routes:
        if not isinstance(route, APIRoute) or not _needs_login(route.dependant):
            continue
        for method in route.methods or ():
            operation = document["paths"].get(route.path_format, {}).get(method.lower())
            if operation is None:
                continue
            responses = operation.setdefault("responses", {})
            responses.setdefault("401", {"$ref": "#/components/responses/AuthUnauthorized"})
            if any(scopes for entry in operation.get("security", []) for scopes in entry.values()):
                responses.setdefault("403", INSUFFICIENT_SCOPE)


INSUFFICIENT_SCOPE: dict[str, Any] = {
    "description": "Logged in without a scope (role) the operation requires",
    "headers": {
        "WWW-Authenticate": {
            "schema": {"type": "string"},
            "description": '`Bearer error="insufficient_scope"` for Bearer requests',
        }
    },
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/AuthError"}}},
}


def _wrap_lifespan(app: FastAPI, mounted: mount.Mount) -> None:
    inner = app.router.lifespan_context
    gate_lifespan = mounted.lifespan

    @asynccontextmanager
    async def lifespan(application: Any) -> AsyncIterator[Any]:
        async with gate_lifespan(application), inner(application) as state:
            yield state

    app.router.lifespan_context = lifespan


def _envelope_handlers(mounted: mount.Mount) -> dict[Any, Callable[..., Any]]:
    """FastAPI's own errors (HTTPException, 422) in the envelope too, for apps that opt in;
    a 422 becomes authgate's 400 with one field error per problem."""
    handlers = mounted.exception_handlers
    render = mounted.error_handler

    async def validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        errors = [
            FieldError(".".join(str(part) for part in error["loc"]), str(error["msg"]))
            for error in exc.errors()
        ]
        response: Response = await render(
            request, ValidationError("Invalid request", errors=errors)
        )
        return response

    return {
        StarletteHTTPException: handlers[StarletteHTTPException],
        RequestValidationError: validation,
    }


def install(
    app: FastAPI,
    gate: AuthGate,
    *,
    prefix: str = "/auth",
    protect: Protect = (),
    envelope_errors: bool = False,
) -> None:
    """Wire ``gate`` into ``app``.

    Args:
        app: the FastAPI app, before it starts.
        gate: the ``AuthGate``.
        prefix: where the auth endpoints are mounted; the refresh cookie's path
            (``AUTHGATE_REFRESH_COOKIE_PATH``, ``/auth`` by default) must end with it.
        protect: path prefixes (or prefixes to scopes) the middleware guards, besides the
            endpoints that depend on ``current_user``.
        envelope_errors: put FastAPI's own errors (404, 405, 422, ``HTTPException``) in the
            envelope too; by default they keep FastAPI's ``{"detail": ...}``.

    Raises:
        ConfigError: the refresh cookie's path does not end with ``prefix``.
    """
    mounted = mount.Mount(gate, prefix=prefix, protect=protect)
    app.state.authgate = gate
    app.mount(mounted.prefix, mounted.router)
    middleware = mounted.middleware
    app.add_middleware(middleware.cls, *middleware.args, **middleware.kwargs)
    app.add_exception_handler(AuthgateError, mounted.error_handler)
    if envelope_errors:
        for kind, handler in _envelope_handlers(mounted).items():
            app.add_exception_handler(kind, handler)
    _wrap_lifespan(app, mounted)
    _merge_openapi(app, mounted)
