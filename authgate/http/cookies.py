"""The ``accessToken`` and ``refreshToken`` cookies."""

from __future__ import annotations

from typing import Any, cast

from starlette.responses import Response

from authgate.config import Settings

ACCESS_COOKIE = "accessToken"
# Starlette types the attribute in lowercase; the header spells it as browsers document it.
_STRICT = cast(Any, "Strict")
REFRESH_COOKIE = "refreshToken"


def set_token_cookies(
    response: Response, settings: Settings, access_token: str, refresh_token: str
) -> None:
    """Set both cookies: HttpOnly, SameSite=Strict, Secure in production."""
    response.set_cookie(
        ACCESS_COOKIE,
        access_token,
        max_age=settings.access_token_expiry,
        path="/",
        secure=settings.production,
        httponly=True,
        samesite=_STRICT,
    )
    response.set_cookie(
        REFRESH_COOKIE,
        refresh_token,
        max_age=settings.refresh_token_expiry,
        path=settings.refresh_cookie_path,
        secure=settings.production,
        httponly=True,
        samesite=_STRICT,
    )


def clear_token_cookies(response: Response, settings: Settings) -> None:
    """Expire both cookies with the same ``Path`` they were set with."""
    for name, path in ((ACCESS_COOKIE, "/"), (REFRESH_COOKIE, settings.refresh_cookie_path)):
        response.delete_cookie(
            name, path=path, secure=settings.production, httponly=True, samesite=_STRICT
        )
