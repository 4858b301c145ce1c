"""Connecting to Redis: a URL, a cluster URL, or the embedded in-process Redis.

Two fault behaviours are decided here, for every command authgate sends:

- **A bounded pool that waits.** At most ``max_connections`` connections are open; a
  burst larger than that waits up to ``POOL_WAIT_SECONDS`` for a free connection instead
  of failing, and only then is an outage (503).
- **One retry after a broken connection.** A command that fails with a connection error
  (refused, reset, closed by a restarted server) is sent once more on a fresh
  connection after a short backoff; a *timeout* is never repeated, so a Redis that hangs
  costs at most one socket timeout. Every command authgate sends has the same effect
  when run twice (scripts included: a rotation repeated with its own new ``jti`` gives
  the same answer), except counting a failed login, where a lost reply may count one
  failure twice — the safe direction.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from redis.asyncio import BlockingConnectionPool, Redis, RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError, MaxConnectionsError

from authgate.errors import ConfigError

CLUSTER_SCHEMES = {"redis+cluster": "redis", "rediss+cluster": "rediss"}
DEFAULT_MAX_CONNECTIONS = 50
POOL_WAIT_SECONDS = 2.0
SOCKET_TIMEOUT_SECONDS = 3.0

_CLIENT_OPTIONS: dict[str, Any] = {
    "decode_responses": True,
    "socket_timeout": SOCKET_TIMEOUT_SECONDS,
    "socket_connect_timeout": SOCKET_TIMEOUT_SECONDS,
}


def retry_once() -> Retry:
    """The retry policy: once, after 0.1 s, on connection errors only (never timeouts)."""
    return Retry(
        ExponentialBackoff(cap=0.5, base=0.05), retries=1, supported_errors=(ConnectionError,)
    )


def connect_redis(
    url: str | None, *, max_connections: int = DEFAULT_MAX_CONNECTIONS
) -> Redis | RedisCluster:
    """A client for ``url``.

    ``redis://`` and ``rediss://`` give a single-node client; ``redis+cluster://host:port``
    (or any URL with ``?cluster=true``) a Redis Cluster client seeded from that node;
    ``None`` the embedded in-process Redis (fakeredis, with Lua) for trying authgate out.

    Args:
        url: the Redis URL, or ``None`` for the embedded Redis.
        max_connections: the most connections open at once (per node on a Cluster).
    """
    if url is None:
        return _embedded()
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    cluster = parts.scheme in CLUSTER_SCHEMES or query.pop("cluster", "").lower() in ("1", "true")
    scheme = CLUSTER_SCHEMES.get(parts.scheme, parts.scheme)
    if scheme not in ("redis", "rediss"):
        raise ConfigError("REDIS_URL must start with redis://, rediss:// or redis+cluster://")
    clean = urlunsplit((scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))
    if cluster:
        return WaitingRedisCluster.from_url(
            clean, max_connections=max_connections, retry=retry_once(), **_CLIENT_OPTIONS
        )
    pool = CompanionPool.from_url(
        clean,
        max_connections=max_connections,
        timeout=POOL_WAIT_SECONDS,
        retry=retry_once(),
        **_CLIENT_OPTIONS,
    )
    return Redis.from_pool(pool)


class CompanionPool(BlockingConnectionPool):
    """The pool of the clients ``connect_redis`` makes: when the client is closed it also
    closes the connections kept beside it by parts of authgate (``companions``, the hot
    path's own connection of ``pipe.py``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.companions: list[Callable[[], None]] = []
        self.script_pipe: Any = None  # the one pipe.ScriptPipe of this pool, once made

    async def disconnect(self, inuse_connections: bool = True) -> None:
        for close in self.companions:
            close()
        await super().disconnect(inuse_connections)


class WaitingRedisCluster(RedisCluster):
    """A Redis Cluster client whose commands wait (bounded) for a free connection.

    redis-py's async Cluster client has no blocking pool: past ``max_connections`` on a
    node it raises at once. Holding at most ``max_connections`` commands in flight, and
    letting the rest wait up to ``POOL_WAIT_SECONDS``, gives it the single-node
    behaviour. (redis-py retries cluster commands by itself, timeouts included, as many
    times as ``retry`` allows: once.)
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._in_flight = asyncio.Semaphore(kwargs.get("max_connections", DEFAULT_MAX_CONNECTIONS))

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold one of the ``max_connections`` places (a command or a pipeline)."""
        try:
            async with asyncio.timeout(POOL_WAIT_SECONDS):
                await self._in_flight.acquire()
        except TimeoutError:
            raise MaxConnectionsError("No connection available.") from None
        try:
            yield
        finally:
            self._in_flight.release()

    async def execute_command(self, *args: Any, **kwargs: Any) -> Any:
        async with self.slot():
            return await super().execute_command(*args, **kwargs)


def _embedded() -> Redis:
    try:
        from fakeredis import FakeAsyncRedis
    except ImportError:  # pragma: no cover - depends on the installed extras
        raise ConfigError(
            "REDIS_URL is not set and the embedded Redis is not installed: "
            "install authgate[embedded] or set REDIS_URL"
        ) from None
    client: Redis = FakeAsyncRedis(decode_responses=True)
    return client
