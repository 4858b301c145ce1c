"""Sessions: the ``SessionStore`` protocol and the Redis store (single Redis or Cluster)."""

from authgate.redis.connect import connect_redis
from authgate.sessions.protocol import (
    ClientInfo,
    Rotation,
    RotationOutcome,
    SessionInfo,
    SessionLookup,
    SessionStore,
)
from authgate.sessions.redis_store import RedisSessionStore

__all__ = [
    "ClientInfo",
    "RedisSessionStore",
    "Rotation",
    "RotationOutcome",
    "SessionInfo",
    "SessionLookup",
    "SessionStore",
    "connect_redis",
]
