"""The JSON envelope every response uses, and the exception handlers that produce it."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse, Response

from authgate.errors import (
    AuthgateError,
    FieldError,
    InsufficientScope,
    NotAuthenticated,
    TooManyRequests,
)

logger = logging.getLogger("authgate")

_REASONS = {
    400: "Bad request",
    401: "Authentication required",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    413: "Request body too large",
    415: "Unsupported media type",
    429: "Too many requests",
    500: "Internal server error",
    503: "Service temporarily unavailable",
}


NO_STORE = {"Cache-Control": "no-store"}
# Starlette's JSONResponse settings, in one encoder made once (json.dumps with options
# builds a new encoder per call)
_encode = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode

try:  # the speedups extra
    import orjson
except ImportError:  # pragma: no cover - depends on the installed extras
    _orjson_dumps = None
else:
    _orjson_dumps = orjson.dumps
    # what the standard library refuses, orjson must not write either: these go to it
    _PASSTHROUGH = orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_DATETIME


def render_json(content: Any) -> bytes:
    """``content`` as compact UTF-8 JSON, as Starlette's ``JSONResponse`` writes it.

    With orjson installed (the ``speedups`` extra) it writes it, several times faster; what
    orjson declines (a non-string key, an integer past 64 bits, a dataclass or datetime)
    goes to the standard library, which writes or refuses it as it always did. What is
    left different: orjson writes a NaN or an infinity as ``null`` and a UUID as its
    string, where the standard library refuses both, and may write a float's exponent
    without its leading zero (``1.5e-7``, the same number).
    """
    if _orjson_dumps is not None:
        try:
            return _orjson_dumps(content, option=_PASSTHROUGH)
        except TypeError:  # orjson.JSONEncodeError
            pass
    return _encode(content).encode("utf-8")


_NO_STORE_RAW = (b"cache-control", b"no-store")
_JSON_TYPE_RAW = (b"content-type", b"application/json")


class EnvelopeResponse(JSONResponse):
    """A ``JSONResponse`` for the envelope, rendered by ``render_json``; with no headers
    of its own it gets its three raw headers directly, not through the generic
    ``init_headers`` (this is every authenticated ``200``)."""

    def render(self, content: Any) -> bytes:
        return render_json(content)

    def init_headers(self, headers: Mapping[str, str] | None = None) -> None:
        if headers is not None or self.status_code < 200 or self.status_code in (204, 304):
            super().init_headers({**(headers or {}), **NO_STORE})
            return
        length = (b"content-length", str(len(self.body)).encode())
        self.raw_headers = [length, _JSON_TYPE_RAW, _NO_STORE_RAW]


def envelope(
    status_code: int,
    data: Any = None,
    message: str = "",
    *,
    errors: list[FieldError] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    """``{"statusCode", "data", "message", "success"}``, plus ``errors`` on failure."""
    success = status_code < 400
    body: dict[str, Any] = {
        "statusCode": status_code,
        "data": data,
        "message": message or ("OK" if success else _REASONS.get(status_code, "Error")),
        "success": success,
    }
    if not success:
        body["errors"] = [error.as_dict() for error in errors or []]
    return EnvelopeResponse(body, status_code=status_code, headers=headers or None)


def error_headers(exc: AuthgateError) -> dict[str, str]:
    """The headers an error's answer must carry, whatever its body: ``WWW-Authenticate``
    (401, and 403 ``insufficient_scope`` to a Bearer request) or ``Retry-After`` (429)."""
    if isinstance(exc, NotAuthenticated):
        return {"WWW-Authenticate": "Bearer"}
    if isinstance(exc, InsufficientScope) and exc.bearer:
        return {"WWW-Authenticate": 'Bearer error="insufficient_scope"'}
    if isinstance(exc, TooManyRequests):
        return {"Retry-After": str(exc.retry_after)}
    return {}


def error_response(exc: AuthgateError) -> JSONResponse:
    """The envelope for an authgate error, with the headers of ``error_headers``.

    Outages (5xx) are logged with their cause; the response never carries it.
    """
    if exc.status_code >= 500:
        logger.warning("%s: %s (%r)", type(exc).__name__, exc.message, exc.__cause__)
    status = exc.status_code
    message = exc.message if status != 500 else _REASONS[500]
    return envelope(status, None, message, errors=exc.errors, headers=error_headers(exc))


ErrorRenderer = Callable[[HTTPConnection, AuthgateError], Response]
"""Turns an authgate error on a request into the response (``AuthGate(render_error=...)``)."""


def render_envelope(connection: HTTPConnection, error: AuthgateError) -> Response:
    """The default ``ErrorRenderer``: the envelope of ``error_response``."""
    return error_response(error)


async def handle_authgate_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, AuthgateError)
    return error_response(exc)


async def handle_http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    message = _REASONS.get(exc.status_code) if exc.detail in (None, "") else None
    return envelope(
        exc.status_code,
        None,
        message or _REASONS.get(exc.status_code, str(exc.detail)),
        headers=exc.headers,
    )


async def handle_unexpected(request: Request, exc: Exception) -> Response:
    logger.error("unhandled error on %s %r", request.method, request.url.path, exc_info=exc)
    return envelope(500, None, _REASONS[500])


EXCEPTION_HANDLERS: dict[Any, Any] = {
    AuthgateError: handle_authgate_error,
    HTTPException: handle_http_exception,
    Exception: handle_unexpected,
}
"""Pass as ``Starlette(exception_handlers=...)`` so every error is an envelope."""
