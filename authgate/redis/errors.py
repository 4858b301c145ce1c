"""Redis failing is an outage: every Redis error becomes ``ServiceUnavailable`` (503)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from redis.exceptions import RedisError

from authgate.errors import ServiceUnavailable

UNAVAILABLE = "Session store unavailable"


@asynccontextmanager
async def redis_errors() -> AsyncIterator[None]:
    """Redis unreachable (or failing) is an outage: 503, never a pass."""
    try:
        yield
    except (RedisError, OSError, TimeoutError) as exc:
        raise ServiceUnavailable(UNAVAILABLE) from exc


def unavailable(cause: Exception) -> Exception:
    """The error of one call whose shared round trip failed: whatever the cause, fail
    closed."""
    error = ServiceUnavailable(UNAVAILABLE)
    error.__cause__ = cause
    return error
