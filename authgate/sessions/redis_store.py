"""The Redis session store: all of a user's sessions in one small hash (``layout.py``),
each multi-field change one Lua script, on a single Redis or on Redis Cluster."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from redis.asyncio import Redis, RedisCluster

from authgate.errors import ServiceUnavailable
from authgate.redis.connect import WaitingRedisCluster
from authgate.redis.errors import redis_errors, unavailable
from authgate.redis.scripts import register_script
from authgate.redis.wire import PackedScript
from authgate.sessions import layout
from authgate.sessions.batch import CoalescingReader
from authgate.sessions.layout import ONETIME_PURPOSES, client_args, session_alive
from authgate.sessions.legacy import LegacySessions
from authgate.sessions.moved import old_onetime_key, old_sessions_key, old_user_key
from authgate.sessions.protocol import (
    ClientInfo,
    Rotation,
    RotationOutcome,
    SessionInfo,
    SessionLookup,
)
from authgate.sessions.user_entries import KnownEntries, decode_entry, encode_entry

_SCRIPT_NAMES = (
    "lookup",
    "create_session",
    "rotate_session",
    "revoke_session",
    "revoke_all_sessions",
    "adopt_sessions",
    "merge_moved",
    "drop_moved",
    "advance_epoch",
)
STALE_EPOCH = -2  # create_session.lua: a credential change raced the login


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
        self._scripts = {
            name: register_script(client, "authgate.sessions", name) for name in _SCRIPT_NAMES
        }
        self.checks = CoalescingReader(self._read_checks, unavailable)
        self.known_users = KnownEntries()  # the cached users this process has decoded
        # the checks' and the refresh's scripts, packed in one go on a single Redis (see
        # wire.py): both run on every request of their kind
        self._lookup: PackedScript | None = None
        self._packed_rotate: PackedScript | None = None
        if not isinstance(client, RedisCluster):
            self._lookup = PackedScript(client, self._scripts["lookup"])
            self._packed_rotate = PackedScript(client, self._scripts["rotate_session"])
        self.legacy = LegacySessions(client, prefix, self._scripts)

    # -- keys -------------------------------------------------------------------------

    def sessions_key(self, user_id: str) -> str:
        return layout.sessions_key(self._prefix, user_id)

    def user_key(self, user_id: str) -> str:
        return layout.user_key(self._prefix, user_id)

    def old_sessions_key(self, user_id: str) -> str:
        """The user's sessions hash of an older authgate, under their full id (moved.py)."""
        return old_sessions_key(self._prefix, user_id)

    async def _run(self, name: str, keys: list[str], args: list[Any]) -> Any:
        async with redis_errors():
            return await self._scripts[name](keys=keys, args=args)

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)

    async def _adopt_legacy(self, user_id: str) -> int:
        """Move the user's sessions of the older layouts (if any) into their hash."""
        async with redis_errors():
            return await self.legacy.adopt(user_id, self._now_ms())

    # -- SessionStore -----------------------------------------------------------------

    async def create(
        self,
        user_id: str,
        sid: str,
        jti: str,
        iat: int,
        exp: int,
        client: ClientInfo,
        *,
        epoch: int = 0,
    ) -> bool:
        dropped = int(
            await self._run(
                "create_session",
                [self.sessions_key(user_id)],
                [
                    sid,
                    jti,
                    iat,
                    exp,
                    self._now_ms(),
                    *client_args(client),
                    self._max_sessions,
                    epoch,
                ],
            )
        )
        if dropped == STALE_EPOCH:
            return False
        if dropped < 0:
            raise ServiceUnavailable("Session id already in use; try again")
        return True

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
        args = [sid, presented_jti, new_jti, new_iat, new_exp]
        reply = await self._rotate(user_id, args, client)
        if reply[0] == RotationOutcome.MISSING.value and await self._adopt_legacy(user_id):
            reply = await self._rotate(user_id, args, client)
        outcome = RotationOutcome(reply[0])
        if outcome is RotationOutcome.REUSED:  # a copy an older authgate kept goes too
            await self._run("revoke_session", [self.old_sessions_key(user_id)], [sid, 0])
        if outcome in (RotationOutcome.ROTATED, RotationOutcome.GRACE):
            cached = reply[4] if len(reply) > 4 else None
            return Rotation(
                outcome,
                jti=reply[1],
                iat=int(reply[2]),
                exp=int(reply[3]),
                cached_user=decode_entry(cached) if cached else None,
            )
        return Rotation(outcome)

    async def _rotate(self, user_id: str, args: list[Any], client: ClientInfo) -> Any:
        keys = [self.sessions_key(user_id), self.user_key(user_id)]
        values = [*args, self._now_ms(), self._grace_ms, *client_args(client)]
        if self._packed_rotate is None:  # a Cluster
            return await self._run("rotate_session", keys, values)
        async with redis_errors():
            return await self._packed_rotate(keys, [str(value) for value in values])

    async def lookup(self, user_id: str, sid: str) -> SessionLookup:
        # coalesced with the other checks of this event-loop turn (see batch.py)
        alive, cached = await self.checks.check(user_id, sid)
        if not alive and await self._adopt_legacy(user_id):
            alive, cached = await self.checks.check(user_id, sid)
        return SessionLookup(alive=alive, cached_user=cached)

    async def _read_checks(
        self, checks: list[tuple[str, str]]
    ) -> list[tuple[bool, dict[str, Any] | None]]:
        """One round trip for many (user id, sid) checks: one script call on a single
        Redis, one pipeline on a Cluster (redis-py sends it as one round trip per node)."""
        now_s = int(self._clock())
        if self._lookup is None:  # a Cluster
            pipe = self.client.pipeline()
            for user_id, sid in checks:
                pipe.hmget(self.sessions_key(user_id), [sid, "@"])
                pipe.get(self.user_key(user_id))
            if isinstance(self.client, WaitingRedisCluster):
                async with self.client.slot():
                    flat = await pipe.execute()
            else:
                flat = await pipe.execute()
            return [
                (
                    session_alive(flat[i][0], flat[i][1], now_s),
                    decode_entry(flat[i + 1]) if flat[i + 1] else None,
                )
                for i in range(0, len(flat), 2)
            ]
        known = self.known_users
        held = [known.get(user_id) for user_id, _ in checks]
        keys: list[str] = []
        args = [str(now_s)]
        prefix = self._prefix
        for (user_id, sid), entry in zip(checks, held, strict=True):
            keys += layout.check_keys(prefix, user_id)
            args += (sid, entry[0] if entry is not None else "")
        flat = await self._lookup(keys, args)
        return [
            (bool(flat[2 * i]), known.resolve(user_id, held[i], flat[2 * i + 1]))
            for i, (user_id, _) in enumerate(checks)
        ]

    # Each change that ends sessions first moves the user's older keys in, then ends what
    # it ends in what is left of them (an older instance may have written meanwhile), and
    # last in the user's hash: a session under an older key never outlives it.

    async def revoke(self, user_id: str, sid: str) -> bool:
        await self._adopt_legacy(user_id)
        revoked = 0
        for key in (self.old_sessions_key(user_id), self.sessions_key(user_id)):
            revoked += int(await self._run("revoke_session", [key], [sid, self._now_ms()]))
        return bool(revoked)

    async def revoke_all(self, user_id: str, *, keep_sid: str | None = None) -> int:
        await self._adopt_legacy(user_id)
        revoked = 0
        for key in (self.old_sessions_key(user_id), self.sessions_key(user_id)):
            args = [keep_sid or "", self._now_ms()]
            revoked += int(await self._run("revoke_all_sessions", [key], args))
        return revoked

    async def advance_epoch(
        self, user_id: str, epoch: int, *, keep_sid: str | None = None, remember_seconds: int
    ) -> int:
        prefix = self._prefix
        old = [
            old_sessions_key(prefix, user_id),
            old_user_key(prefix, user_id),
            *(old_onetime_key(prefix, user_id, purpose) for purpose in ONETIME_PURPOSES),
        ]
        keys = [
            self.sessions_key(user_id),
            self.user_key(user_id),
            *(layout.onetime_key(prefix, user_id, purpose) for purpose in ONETIME_PURPOSES),
        ]
        await self._adopt_legacy(user_id)
        ended = 0
        # the older keys only where their sessions hash is left (it is not created anew)
        for these, only_existing in ((old, "1"), (keys, "")):
            args = [epoch, keep_sid or "", self._now_ms(), remember_seconds * 1000, only_existing]
            ended += int(await self._run("advance_epoch", these, args))
        return ended

    async def list(self, user_id: str) -> list[SessionInfo]:
        await self._adopt_legacy(user_id)
        async with redis_errors():
            fields = await self.client.hgetall(self.sessions_key(user_id))
        return layout.session_infos(
            {str(field): str(value) for field, value in fields.items()}, int(self._clock())
        )

    async def cache_user(self, user_id: str, data: dict[str, Any], ttl_seconds: int) -> None:
        if ttl_seconds <= 0:
            return
        async with redis_errors():
            await self.client.set(self.user_key(user_id), encode_entry(data), ex=ttl_seconds)

    async def drop_cached_user(self, user_id: str) -> None:
        async with redis_errors():
            await self.client.delete(self.user_key(user_id))

    async def ping(self) -> None:
        async with redis_errors():
            await self.client.ping()
