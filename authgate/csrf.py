"""The CSRF check: unsafe requests that carry authgate's cookies must come from the app's
own origin or a trusted one.

With ``SameSite=Strict`` cookies a browser does not send them on cross-site requests at
all; this check is the second lock for what SameSite does not cover (same-site but
cross-origin pages, such as a sibling subdomain, and older browsers).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.requests import cookie_parser
from starlette.types import Scope

from authgate.cookies import ACCESS_COOKIE, REFRESH_COOKIE

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_HTTP_SCHEME = {"http": "http", "https": "https", "ws": "http", "wss": "https"}


def _origin_of(url: str) -> str | None:
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}".lower()


def needs_origin_check(scope: Scope) -> bool:
    """An unsafe HTTP request, or a WebSocket handshake, carrying an authgate cookie.

    Browsers do not apply ``SameSite`` to every WebSocket handshake, and a socket is as
    good as an unsafe request to whoever opens it: a handshake is checked like a POST.
    """
    if scope["type"] == "http":
        if scope["method"] not in UNSAFE_METHODS:
            return False
    elif scope["type"] != "websocket":
        return False
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
