"""An app's own error format (RFC 9457 problem details) for the error-renderer tests."""

from __future__ import annotations

import httpx
from starlette.requests import HTTPConnection
from starlette.responses import JSONResponse, Response

from authgate import AuthgateError
from authgate.http.responses import error_headers
from tests.conftest import register_and_login

PROBLEM_JSON = "application/problem+json"


def problem(connection: HTTPConnection, error: AuthgateError) -> Response:
    """authgate's errors as problem details, keeping ``WWW-Authenticate``/``Retry-After``."""
    return JSONResponse(
        {"title": error.message, "status": error.status_code},
        status_code=error.status_code,
        headers=error_headers(error),
        media_type=PROBLEM_JSON,
    )


async def check_refusals_are_problems(
    client: httpx.AsyncClient, anonymous: tuple[str, str], needs_admin: tuple[str, str]
) -> None:
    """An anonymous request and a logged-in one without ``admin`` (``(method, path)`` each)
    are answered in the app's problem format, with authgate's headers kept."""
    refused = await client.request(*anonymous)
    assert refused.status_code == 401
    assert refused.headers["content-type"] == PROBLEM_JSON
    assert refused.headers["www-authenticate"] == "Bearer"
    assert refused.json() == {"title": "Authentication required", "status": 401}
    account = await register_and_login(client)
    client.cookies.clear()
    token = {"Authorization": f"Bearer {account.access_token}"}
    forbidden = await client.request(*needs_admin, headers=token)
    assert forbidden.json() == {"title": "Requires the scope admin", "status": 403}
