"""The CSRF check: an unsafe request authenticated by one of authgate's cookies must come
from the app's own origin or a trusted one.

The check follows the credential, not the cookies' presence. A request authenticated by
``Authorization: Bearer`` (which wins over the cookie) is not subject to it: a browser never
adds that header by itself, so a cross-site page cannot make the victim's browser send it.
Neither is a refresh or a logout whose refresh token is in the JSON body (which wins over the
cookie there): a cross-site page cannot put the victim's token in a body, nor send
``application/json`` without the app's CORS consent. ``AuthMiddleware`` checks requests that
authenticate by the ``accessToken`` cookie; the refresh and logout endpoints, which alone
know whether they go by the body or by the ``refreshToken`` cookie, check themselves (with
what the middleware leaves them in the scope under ``ORIGIN_CHECK``).

With ``SameSite=Strict`` cookies a browser does not send them on cross-site requests at
all; this check is the second lock for what SameSite does not cover (same-site but
cross-origin pages, such as a sibling subdomain, and older browsers).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.requests import cookie_parser
from starlette.types import Scope

from authgate.http.cookies import ACCESS_COOKIE, REFRESH_COOKIE

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_HTTP_SCHEME = {"http": "http", "https": "https", "ws": "http", "wss": "https"}

ORIGIN_CHECK = "authgate.origin_check"
"""The scope key of the ``OriginCheck`` the middleware leaves to the refresh and logout
endpoints."""


@dataclass(slots=True)
class OriginCheck:
    """The origin check of a refresh or logout request, left to its endpoint by the middleware.

    Attributes:
        trusted_origins: the middleware's trusted origins (normalized).
        path: the path to report in ``csrf.rejected``.
        ip: the client to report in ``csrf.rejected``.
        refused: set by the endpoint when it refused the request (the middleware counts it).
    """

    trusted_origins: tuple[str, ...]
    path: str
    ip: str | None
    refused: bool = False


def normalize_origins(origins: Iterable[str]) -> tuple[str, ...]:
    """Trusted origins as ``origin_allowed`` compares them: lower case, no trailing slash."""
    return tuple(origin.rstrip("/").lower() for origin in origins)


def _origin_of(url: str) -> str | None:
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}".lower()


def needs_origin_check(scope: Scope, *, by_cookie: bool) -> bool:
    """An unsafe HTTP request, or a WebSocket handshake, authenticated by a cookie.

    ``by_cookie``: whether the request's credential is the ``accessToken`` cookie (the
    middleware's ``find_credential`` says: not when ``Authorization: Bearer`` is sent).

    Browsers do not apply ``SameSite`` to every WebSocket handshake, and a socket is as
    good as an unsafe request to whoever opens it: a handshake is checked like a POST.
    """
    if not by_cookie:
        return False
    if scope["type"] == "http":
        return bool(scope["method"] in UNSAFE_METHODS)
    return bool(scope["type"] == "websocket")


def carries_token_cookie(scope: Scope) -> bool:
    """Whether the request carries the ``accessToken`` or the ``refreshToken`` cookie."""
    cookies = cookie_parser(Headers(scope=scope).get("cookie", ""))
    return bool(cookies.get(ACCESS_COOKIE) or cookies.get(REFRESH_COOKIE))


def origin_allowed(scope: Scope, trusted_origins: tuple[str, ...]) -> bool:
    """Whether the request's ``Origin`` (else ``Referer``) is the app's own or trusted.

    The app's own origin is the request's scheme and ``Host``. A request with neither
    header, or with ``Origin: null``, is refused: fail closed.
    """
    headers = Headers(scope=scope)
    origin_header = headers.get("origin")
    if origin_header is not None:
        origin = _origin_of(origin_header.strip())
    else:
        referer = headers.get("referer")
        origin = _origin_of(referer.strip()) if referer else None
    if origin is None:
        return False
    host = headers.get("host", "").strip().lower()
    # a WebSocket's own origin is that of the page that opened it: ws -> http, wss -> https
    scheme = _HTTP_SCHEME.get(scope.get("scheme", "http"), "http")
    own = f"{scheme}://{host}" if host else None
    return origin == own or origin in trusted_origins
