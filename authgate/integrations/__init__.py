"""authgate in other frameworks: FastAPI (``authgate[fastapi]``), Litestar, Django.

Each module imports its framework, so import only the one your app uses.
"""

from __future__ import annotations

from authgate.config import Settings
from authgate.errors import ConfigError


def check_prefix(settings: Settings, prefix: str) -> None:
    """Refuse a mount prefix the refresh cookie would not be sent to.

    Raises:
        ConfigError: ``prefix`` is not ``settings.refresh_cookie_path``.
    """
    if settings.refresh_cookie_path.rstrip("/") != prefix.rstrip("/"):
        raise ConfigError(
            f"the auth endpoints are mounted at {prefix} but the refresh cookie's path is "
            f"{settings.refresh_cookie_path}: set AUTHGATE_REFRESH_COOKIE_PATH={prefix}"
        )
