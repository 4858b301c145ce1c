"""Connecting to Redis: a URL, a cluster URL, or the embedded in-process Redis."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from redis.asyncio import Redis, RedisCluster

from authgate.errors import ConfigError

CLUSTER_SCHEMES = {"redis+cluster": "redis", "rediss+cluster": "rediss"}

_CLIENT_OPTIONS: dict[str, Any] = {
    "decode_responses": True,
    "socket_timeout": 3,
    "socket_connect_timeout": 3,
}


def connect_redis(url: str | None) -> Redis | RedisCluster:
    """A client for ``url``.

    ``redis://`` and ``rediss://`` give a single-node client; ``redis+cluster://host:port``
    (or any URL with ``?cluster=true``) a Redis Cluster client seeded from that node;
    ``None`` the embedded in-process Redis (fakeredis, with Lua) for trying authgate out.
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
        return RedisCluster.from_url(clean, **_CLIENT_OPTIONS)
    return Redis.from_url(clean, **_CLIENT_OPTIONS)


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
