"""The async engine and what its errors mean: a taken unique value is 409, an outage 503."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from authgate.errors import Conflict, FieldError, ServiceUnavailable, email_taken


def create_engine(url: str) -> AsyncEngine:
    """An async engine for ``url`` that notices dead connections and fails fast."""
    # statement parameters (password hashes among them) stay out of SQL logs and of the
    # errors authgate logs
    options: dict[str, Any] = {"pool_pre_ping": True, "hide_parameters": True}
    if url.startswith("postgresql+asyncpg"):
        options["connect_args"] = {"timeout": 5, "command_timeout": 10}
        options["pool_timeout"] = 10
    return create_async_engine(url, **options)


@asynccontextmanager
async def database_errors() -> AsyncIterator[None]:
    """Turn driver errors into authgate errors: unique violations into 409, outages into 503."""
    try:
        yield
    except IntegrityError as exc:
        detail = str(exc.orig).lower()
        if "email" in detail:
            raise email_taken() from None
        raise Conflict(
            "Username is already taken",
            errors=[FieldError("username", "is already taken")],
        ) from None
    except (SQLAlchemyError, OSError, TimeoutError) as exc:
        raise ServiceUnavailable("Database unavailable") from exc
