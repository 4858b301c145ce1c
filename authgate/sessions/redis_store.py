"""The Redis session store.

Every key of one user shares the Cluster hash tag ``{<user id>}``, so each Lua script
touches a single slot and runs atomically on a single Redis or on Redis Cluster::

    <prefix>:{<user id>}:session:<sid>   hash: j jti, p previous jti, i iat, c created,
                                         l last used, a ip, d device      (TTL: refresh exp)
    <prefix>:{<user id>}:sessions        zset: sid -> expiry ms            (TTL: latest expiry)
    <prefix>:{<user id>}:user            the cached user as JSON           (TTL: user cache)
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from functools import lru_cache
from importlib.resources import files
from typing import Any

from redis.asyncio import Redis, RedisCluster
from redis.exceptions import RedisError

from authgate.devices import describe_device
from authgate.errors import ServiceUnavailable
from authgate.sessions.batch import CoalescingReader
from authgate.sessions.connection import WaitingRedisCluster
from authgate.sessions.protocol import (
    ClientInfo,
    Rotation,
    RotationOutcome,
    SessionInfo,
    SessionLookup,
)

REVOKE_ALL_ATTEMPTS = 20
MAX_IP = 45  # the longest textual IPv6 address
# under Redis's hash-max-listpack-value (64 bytes), so a session stays a compact listpack
MAX_DEVICE_BYTES = 60


def load_script(name: str) -> str:
    """The text of ``lua/<name>.lua``."""
    return files("authgate.sessions").joinpath("lua", f"{name}.lua").read_text(encoding="utf-8")


_SCRIPT_NAMES = (
    "lookup",
    "create_session",
    "rotate_session",
    "revoke_session",
    "revoke_all_sessions",
    "list_sessions",
)


@lru_cache(maxsize=1024)
def decode_user(raw: str) -> dict[str, Any] | None:
    """A cached user entry, decoded once per distinct entry: the same text gives the same
    (read-only) dict, so the service can reuse the user it built from it."""
    try:
        decoded = json.loads(raw)
    except ValueError:
        return None
    return decoded if isinstance(decoded, dict) else None


def device_of(user_agent: str) -> str:
    """What a session keeps of its user agent: the readable device, at most 60 bytes."""
    device = describe_device(user_agent).encode()[:MAX_DEVICE_BYTES]
    return device.decode(errors="ignore")


@asynccontextmanager
async def redis_errors() -> AsyncIterator[None]:
    """Redis unreachable (or failing) is an outage: 503, never a pass."""
    try:
        yield
    except (RedisError, OSError, TimeoutError) as exc:
        raise ServiceUnavailable("Session store unavailable") from exc


def unavailable(cause: Exception) -> Exception:
    """The error of one session check whose batch failed: whatever the cause, fail closed."""
    error = ServiceUnavailable("Session store unavailable")
    error.__cause__ = cause
    return error


class RedisSessionStore:
    """``SessionStore`` on Redis or Redis Cluster, one Lua script per multi-key change."""

    def __init__(
        self,
        client: Redis | RedisCluster,
        *,
        prefix: str = "authgate",
        max_sessions_per_user: int = 50,
        grace_seconds: int = 10,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.client = client
        self._prefix = prefix
        self._max_sessions = max_sessions_per_user
        self._grace_ms = grace_seconds * 1000
        self._clock = clock
        self._scripts = {name: client.register_script(load_script(name)) for name in _SCRIPT_NAMES}
        self.checks = CoalescingReader(self._read_checks, unavailable)

    # -- keys -------------------------------------------------------------------------

    def _user_prefix(self, user_id: str) -> str:
        return f"{self._prefix}:{{{user_id}}}:"

    def session_key(self, user_id: str, sid: str) -> str:
        return f"{self._user_prefix(user_id)}session:{sid}"

    def index_key(self, user_id: str) -> str:
        return f"{self._user_prefix(user_id)}sessions"

    def user_key(self, user_id: str) -> str:
        return f"{self._user_prefix(user_id)}user"

    async def _run(self, name: str, keys: list[str], args: list[Any]) -> Any:
        async with redis_errors():
            return await self._scripts[name](keys=keys, args=args)

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)

    # -- SessionStore -----------------------------------------------------------------

    async def create(
        self, user_id: str, sid: str, jti: str, iat: int, exp: int, client: ClientInfo
    ) -> None:
        index = self.index_key(user_id)
        now = self._now_ms()
        async with redis_errors():
            reply = await self.client.zrange(index, 0, -1, withscores=True)
        entries = [(str(entry[0]), float(entry[1])) for entry in reply]
        # oldest expiry first: expired entries go, then the least recently used over the cap
        victims = [member for member, expires in entries if expires <= now]
        live = [member for member, expires in entries if expires > now]
        victims += live[: max(0, len(live) - self._max_sessions + 1)]
        await self._run(
            "create_session",
            [
                self.session_key(user_id, sid),
                index,
                *(self.session_key(user_id, victim) for victim in victims),
            ],
            [
                sid,
                jti,
                iat,
                exp,
                now,
                client.ip[:MAX_IP],
                device_of(client.user_agent),
                *victims,
            ],
        )

    async def rotate(
        self,
        user_id: str,
        sid: str,
        presented_jti: str,
        new_jti: str,
        new_iat: int,
        new_exp: int,
        client: ClientInfo,
    ) -> Rotation:
        reply = await self._run(
            "rotate_session",
            [self.session_key(user_id, sid), self.index_key(user_id)],
            [
                presented_jti,
                new_jti,
                new_iat,
                new_exp,
                self._now_ms(),
                self._grace_ms,
                client.ip[:MAX_IP],
                device_of(client.user_agent),
                sid,
            ],
        )
        outcome = RotationOutcome(reply[0])
        if outcome in (RotationOutcome.ROTATED, RotationOutcome.GRACE):
            return Rotation(outcome, jti=reply[1], iat=int(reply[2]), exp=int(reply[3]))
        return Rotation(outcome)

    async def lookup(self, user_id: str, sid: str) -> SessionLookup:
        # coalesced with the other checks of this event-loop turn (see batch.py)
        alive, cached = await self.checks.check(
            self.session_key(user_id, sid), self.user_key(user_id)
        )
        return SessionLookup(alive=alive, cached_user=decode_user(cached) if cached else None)

    async def _read_checks(self, pairs: list[tuple[str, str]]) -> list[tuple[bool, str | None]]:
        """One round trip for many session checks: one script call on a single Redis, one
        pipeline on a Cluster (redis-py sends it as one round trip per node)."""
        if isinstance(self.client, RedisCluster):
            pipe = self.client.pipeline()
            for session_key, user_key in pairs:
                pipe.exists(session_key)
                pipe.get(user_key)
            if isinstance(self.client, WaitingRedisCluster):
                async with self.client.slot():
                    flat = await pipe.execute()
            else:
                flat = await pipe.execute()
        else:
            keys = [key for pair in pairs for key in pair]
            flat = await self._scripts["lookup"](keys=keys, args=[])
        return [(bool(flat[i]), flat[i + 1]) for i in range(0, len(flat), 2)]

    async def revoke(self, user_id: str, sid: str) -> bool:
        deleted = await self._run(
            "revoke_session", [self.session_key(user_id, sid), self.index_key(user_id)], [sid]
        )
        return bool(deleted)

    async def _sids(self, user_id: str) -> list[str]:
        async with redis_errors():
            reply = await self.client.zrange(self.index_key(user_id), 0, -1)
        return [str(sid) for sid in reply]

    def _session_keys(self, user_id: str, sids: list[str]) -> list[str]:
        return [self.session_key(user_id, sid) for sid in sids]

    async def revoke_all(self, user_id: str, *, keep_sid: str | None = None) -> int:
        # Every key a script touches is passed in KEYS (as Redis Cluster asks), so the sids
        # are read first; the script refuses if a login changed the index meanwhile.
        for _ in range(REVOKE_ALL_ATTEMPTS):
            sids = await self._sids(user_id)
            revoked = int(
                await self._run(
                    "revoke_all_sessions",
                    [self.index_key(user_id), *self._session_keys(user_id, sids)],
                    [keep_sid or "", *sids],
                )
            )
            if revoked >= 0:
                return revoked
        raise ServiceUnavailable("Sessions kept changing during logout-all; try again")

    async def list(self, user_id: str) -> list[SessionInfo]:
        sids = await self._sids(user_id)
        if not sids:
            return []
        flat = await self._run(
            "list_sessions", [self.index_key(user_id), *self._session_keys(user_id, sids)], sids
        )
        sessions = [
            SessionInfo(
                id=flat[i],
                created_at_ms=int(flat[i + 1]),
                last_used_at_ms=int(flat[i + 2]),
                ip=flat[i + 3],
                # a session of an older authgate kept the raw agent, and no device
                user_agent=flat[i + 5] or flat[i + 4],
                device=flat[i + 4] or describe_device(flat[i + 5]),
            )
            for i in range(0, len(flat), 6)
        ]
        return sorted(sessions, key=lambda s: s.created_at_ms)

    async def cache_user(self, user_id: str, data: dict[str, Any], ttl_seconds: int) -> None:
        if ttl_seconds <= 0:
            return
        async with redis_errors():
            await self.client.set(self.user_key(user_id), json.dumps(data), ex=ttl_seconds)

    async def drop_cached_user(self, user_id: str) -> None:
        async with redis_errors():
            await self.client.delete(self.user_key(user_id))

    async def ping(self) -> None:
        async with redis_errors():
            await self.client.ping()
