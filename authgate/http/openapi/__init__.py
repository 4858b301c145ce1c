"""An OpenAPI 3.1 document of the auth endpoints, for the prefix they are mounted at.

``auth_openapi(gate.router().routes, prefix="/auth")`` is a whole document (the example
app serves it at ``/openapi.json``); ``auth_paths`` and ``auth_components`` are its parts,
to merge into an app's own document (``authgate.integrations.fastapi`` does). The
operations are the endpoint table's (``authgate.http.table``), the very rows the router is
built from; only those the routes really serve are documented.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from authgate.http.cookies import ACCESS_COOKIE, REFRESH_COOKIE
from authgate.http.openapi.schemas import SCHEMAS, Schema, ref, success_envelope
from authgate.http.operation import ACCESS_TOKEN, CSRF, REFRESH_TOKEN, Operation
from authgate.http.table import ENDPOINTS, Endpoint

__all__ = [
    "BEARER_SCHEME",
    "COOKIE_SCHEME",
    "ENDPOINTS",
    "REFRESH_COOKIE_SCHEME",
    "Endpoint",
    "Operation",
    "auth_components",
    "auth_openapi",
    "auth_operations",
    "auth_paths",
    "openapi_route",
    "route_keys",
]

BEARER_SCHEME = "bearerAuth"
COOKIE_SCHEME = "accessTokenCookie"
REFRESH_COOKIE_SCHEME = "refreshTokenCookie"
SECURITY_SCHEMES: dict[str, Schema] = {
    BEARER_SCHEME: {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": (
            "The `accessToken` of the login response, as `Authorization: Bearer`. Wins over "
            "the cookie; a request authenticated by it needs no `Origin`."
        ),
    },
    COOKIE_SCHEME: {
        "type": "apiKey",
        "in": "cookie",
        "name": ACCESS_COOKIE,
        "description": (
            "Set by login and refresh (HttpOnly). An unsafe request authenticated by it must "
            "come from the app's own or a trusted origin (`Origin`, else `Referer`)."
        ),
    },
    REFRESH_COOKIE_SCHEME: {
        "type": "apiKey",
        "in": "cookie",
        "name": REFRESH_COOKIE,
        "description": (
            "Set by login and refresh (HttpOnly, Path of the auth endpoints). A request going "
            "by it must come from the app's own or a trusted origin; a refresh token sent in "
            "the body instead wins over it and needs no `Origin`."
        ),
    },
}
# How each kind of credential is checked against cross-site requests, for the descriptions.
_BEARER_NO_ORIGIN = (
    "A request authenticated by `Authorization: Bearer` (which wins over the cookie) needs "
    "no `Origin`."
)
_BODY_NO_ORIGIN = "A refresh token in the body (which wins over the cookie) needs no `Origin`."
_COOKIE_ORIGIN = (
    "A request going by a cookie must come from the app's own or a trusted origin "
    "(`Origin`, else `Referer`), else 403."
)
_ACCESS_COOKIE_ORIGIN = (
    "Sent with the `accessToken` cookie (and no Bearer token), it must come from the app's "
    "own or a trusted origin, else 403."
)
_ERRORS: dict[int, tuple[str, str]] = {
    400: ("AuthBadRequest", "Invalid body: `errors` lists every field problem"),
    401: ("AuthUnauthorized", "Not authenticated (`WWW-Authenticate: Bearer`)"),
    403: (
        "AuthForbidden",
        "Refused: a cookie request from a foreign origin (at login also: e-mail not verified)",
    ),
    404: ("AuthNotFound", "Not found"),
    409: ("AuthConflict", "Already taken"),
    413: ("AuthPayloadTooLarge", "Body over the size limit"),
    415: ("AuthUnsupportedMediaType", "Body not sent as application/json"),
    429: ("AuthTooManyRequests", "Throttled; retry after `Retry-After` seconds"),
    503: ("AuthServiceUnavailable", "Redis or the database is unreachable"),
}
_HEADERS: dict[int, dict[str, Schema]] = {
    401: {"WWW-Authenticate": {"schema": {"type": "string"}, "description": "`Bearer`"}},
    429: {"Retry-After": {"schema": {"type": "integer", "minimum": 1}}},
}
_CONVERTOR = re.compile(r"\{(\w+):\w+\}")


def route_keys(routes: Iterable[BaseRoute]) -> set[tuple[str, str]]:
    """``(method, path)`` of every route (path without convertors or a trailing slash)."""
    keys: set[tuple[str, str]] = set()
    for route in routes:
        if isinstance(route, Route) and route.methods:
            path = _CONVERTOR.sub(r"{\1}", route.path).rstrip("/") or "/"
            keys.update((method, path) for method in route.methods if method != "HEAD")
    return keys


def auth_operations(routes: Iterable[BaseRoute]) -> list[Endpoint]:
    """The endpoints of the table that ``routes`` (the auth router's) really serve."""
    keys = route_keys(routes)
    return [endpoint for endpoint in ENDPOINTS if (endpoint.method, endpoint.path) in keys]


def _response(op: Operation) -> Schema:
    response: Schema = {
        "description": op.summary,
        "content": {"application/json": {"schema": success_envelope(op.status, op.data)}},
    }
    if op.cookies:
        what = "Sets" if op.cookies == "set" else "Clears"
        response["headers"] = {
            "Set-Cookie": {
                "schema": {"type": "string"},
                "description": f"{what} `{ACCESS_COOKIE}` (Path=/) and `{REFRESH_COOKIE}`.",
            }
        }
    return response


def _operation(endpoint: Endpoint) -> Schema:
    op = endpoint.operation
    document: Schema = {
        "operationId": op.operation_id,
        "summary": op.summary,
        "tags": list(op.tags),
        "responses": {
            str(op.status): _response(op),
            **{
                str(code): {
                    "description": op.description or op.summary,
                    "content": {"application/json": {"schema": success_envelope(code, None)}},
                }
                for code in op.also_ok
            },
            **{
                str(code): {"$ref": f"#/components/responses/{_ERRORS[code][0]}"}
                for code in op.errors
            },
        },
    }
    description = " ".join(part for part in (op.description, _csrf_note(op)) if part)
    if description:
        document["description"] = description
    if "{session_id}" in endpoint.path:
        document["parameters"] = [
            {"name": "session_id", "in": "path", "required": True, "schema": {"type": "string"}}
        ]
    if op.body is not None:
        document["requestBody"] = {
            "required": op.body_required,
            "content": {"application/json": {"schema": ref(op.body)}},
        }
    document["security"] = _security(op)
    return document


def _credentials(op: Operation) -> tuple[str, ...]:
    return (ACCESS_TOKEN, *op.credentials) if op.authenticated else op.credentials


def _security(op: Operation) -> list[Schema]:
    """The credentials ``op`` accepts (any one of them); ``[]`` for a public endpoint."""
    credentials = _credentials(op)
    security: list[Schema] = []
    if ACCESS_TOKEN in credentials:
        security += [{BEARER_SCHEME: []}, {COOKIE_SCHEME: []}]
    if REFRESH_TOKEN in credentials:
        # {}: no scheme, the refresh token in the body (AuthRefreshRequest)
        security += [{REFRESH_COOKIE_SCHEME: []}, {}]
    return security


def _csrf_note(op: Operation) -> str:
    """Which requests of ``op`` the origin check applies to (those that can get its 403)."""
    if CSRF not in op.errors:
        return ""
    credentials = _credentials(op)
    if not credentials:
        return _ACCESS_COOKIE_ORIGIN
    notes = [_BEARER_NO_ORIGIN] if ACCESS_TOKEN in credentials else []
    if REFRESH_TOKEN in credentials:
        notes.append(_BODY_NO_ORIGIN)
    return " ".join([*notes, _COOKIE_ORIGIN])


def auth_paths(routes: Iterable[BaseRoute], prefix: str = "/auth") -> dict[str, Schema]:
    """The ``paths`` of the auth endpoints in ``routes``, mounted at ``prefix``."""
    prefix = prefix.rstrip("/")
    paths: dict[str, Schema] = {}
    for endpoint in auth_operations(routes):
        paths.setdefault(prefix + endpoint.path, {})[endpoint.method.lower()] = _operation(endpoint)
    return paths


def auth_components() -> dict[str, dict[str, Schema]]:
    """The ``components`` the paths refer to: schemas, error responses, security schemes."""
    responses: dict[str, Schema] = {}
    for code, (name, description) in _ERRORS.items():
        responses[name] = {
            "description": description,
            "content": {"application/json": {"schema": ref("AuthError")}},
        }
        if code in _HEADERS:
            responses[name]["headers"] = _HEADERS[code]
    return {
        "schemas": dict(SCHEMAS),
        "responses": responses,
        "securitySchemes": dict(SECURITY_SCHEMES),
    }


def _authgate_version() -> str:
    try:
        return version("authgate")
    except PackageNotFoundError:  # pragma: no cover - running from a bare source tree
        return "0"


def auth_openapi(
    routes: Iterable[BaseRoute],
    *,
    prefix: str = "/auth",
    title: str = "authgate",
    api_version: str | None = None,
) -> dict[str, Any]:
    """A whole OpenAPI 3.1 document of the auth endpoints in ``routes`` at ``prefix``."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": title,
            "version": api_version or _authgate_version(),
            "description": (
                "Every response is the envelope `{statusCode, data, message, success}` "
                "(plus `errors` on failure)."
            ),
        },
        "tags": [{"name": "auth", "description": "Login, tokens and sessions"}],
        "paths": auth_paths(routes, prefix),
        "components": auth_components(),
    }


def openapi_route(document: dict[str, Any], path: str = "/openapi.json") -> Route:
    """A ``GET`` route serving ``document`` as JSON."""

    async def serve(request: Request) -> Response:
        return JSONResponse(document)

    return Route(path, serve, methods=["GET"])
