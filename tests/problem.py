"""An app's own error format (RFC 9457 problem details) for the error-renderer tests."""

from __future__ import annotations

from starlette.requests import HTTPConnection
from starlette.responses import JSONResponse, Response

from authgate import AuthgateError, error_headers

PROBLEM_JSON = "application/problem+json"


def problem(connection: HTTPConnection, error: AuthgateError) -> Response:
    """authgate's errors as problem details, keeping ``WWW-Authenticate``/``Retry-After``."""
    return JSONResponse(
        {"title": error.message, "status": error.status_code},
        status_code=error.status_code,
        headers=error_headers(error),
        media_type=PROBLEM_JSON,
    )
