"""The words an endpoint of the auth router is described with, for its OpenAPI operation.

``Operation`` is what the document says of one endpoint (its body, its success status and
``data``, every error status, the credentials it takes); the statuses and credentials
below are its vocabulary, and ``ref`` names a component schema of
``authgate.http.openapi.schemas``. The endpoint table (``authgate.http.table``) gives each
route one ``Operation``; this module depends on nothing of the HTTP layer, so both the
table and the document builder import it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

Schema = dict[str, Any]

REF = "#/components/schemas/"

# Every request through the middleware: Redis or the database unreachable.
UNAVAILABLE = 503
# A body is read: not JSON / wrong fields, too large, not application/json.
BODY_ERRORS = (400, 413, 415)
# An unsafe request authenticated by one of authgate's cookies, from a foreign origin.
CSRF = 403
# What an operation can authenticate by (``Operation.credentials``): an access token
# (``Authorization: Bearer``, which wins, else the ``accessToken`` cookie), or a refresh token
# (the body's ``refreshToken``, which wins, else the ``refreshToken`` cookie).
ACCESS_TOKEN = "access"  # noqa: S105 - a kind of credential
REFRESH_TOKEN = "refresh"  # noqa: S105 - a kind of credential


def ref(name: str) -> Schema:
    """``{"$ref": ...}`` to one of the component schemas."""
    return {"$ref": REF + name}


def errors(*statuses: int) -> tuple[int, ...]:
    """``statuses`` sorted, with the 503 that every request can answer."""
    return tuple(sorted({*statuses, UNAVAILABLE}))


@dataclass(frozen=True, slots=True)
class Operation:
    """What the OpenAPI document says of one endpoint.

    Attributes:
        operation_id: a unique camelCase name.
        summary: one line for the interactive docs.
        status: the success status.
        data: the schema of the success envelope's ``data`` (``None``: ``null``).
        errors: every error status the endpoint can answer.
        body: the request body's component schema, if it takes one.
        body_required: whether the body must be sent.
        authenticated: whether it needs an access token (cookie or Bearer).
        credentials: what it can authenticate by without needing it (``ACCESS_TOKEN``,
            ``REFRESH_TOKEN``); ``authenticated`` implies ``ACCESS_TOKEN``.
        cookies: ``"set"`` when it sets both token cookies, ``"clear"`` when it clears them.
        description: more words for the interactive docs.
        also_ok: other success statuses, whose ``data`` is ``null``.
        tags: the document's tags it is listed under.
    """

    operation_id: str
    summary: str
    status: int
    data: Schema | None
    errors: tuple[int, ...]
    body: str | None = None
    body_required: bool = True
    authenticated: bool = False
    credentials: tuple[str, ...] = ()
    cookies: str = ""
    description: str = ""
    also_ok: tuple[int, ...] = ()
    tags: tuple[str, ...] = ("auth",)
