"""The one reserve counter every limit is made of: a Redis key per identity whose value is
the window's count, reserved *before* the thing it limits runs.

A reservation is one atomic script (``lua/reserve_attempt.lua``): below the limit it counts
one more and answers 0; at the limit it counts nothing and answers how long until the
window ends. The window starts at the first reservation (the key's TTL), so counters
expire by themselves; each key is its own Cluster slot (``{identity}``).
"""

from __future__ import annotations

from redis.asyncio import Redis, RedisCluster

from authgate.redis.errors import redis_errors
from authgate.redis.scripts import register_script


class ReserveCounter:
    """Counters ``<prefix>:<kind>:{<identity>}`` with one window, on Redis or a Cluster."""

    def __init__(self, client: Redis | RedisCluster, *, prefix: str, window_seconds: int) -> None:
        self._client = client
        self._prefix = prefix
        self._window_ms = window_seconds * 1000
        self._reserve = register_script(client, "authgate.limits", "reserve_attempt")
        self._release = register_script(client, "authgate.limits", "release_attempt")

    def key(self, kind: str, identity: str) -> str:
        return f"{self._prefix}:{kind}:{{{identity}}}"

    async def reserve(self, key: str, limit: int) -> int:
        """Count one more against ``key``'s ``limit``: 0 when reserved, else the ms until
        its window ends (nothing counted)."""
        async with redis_errors():
            reserved, ttl_ms = await self._reserve(keys=[key], args=[limit, self._window_ms])
        return 0 if int(reserved) else max(1, int(ttl_ms))

    async def release(self, key: str) -> None:
        """Give one reservation of ``key`` back (it was not a failure, or never ran)."""
        async with redis_errors():
            await self._release(keys=[key])

    async def reset(self, key: str) -> None:
        """Forget ``key``'s count."""
        async with redis_errors():
            await self._client.delete(key)
