"""Keys an older authgate wrote under the user's full id, moved under the user's tag.

Before keys carried the user's compact tag (``layout.user_tag``), they carried the user id
as it is spelled, with the numbers of a session in decimal::

    <prefix>:{<user id>}:s                   the sessions hash of layout.py, decimal
    <prefix>:{<user id>}:user                the cached user
    <prefix>:{<user id>}:onetime:<purpose>   the one-time tokens of recovery/onetime.py

The store moves a user's old sessions hash into their hash the first time it misses a
session, and before it lists or ends sessions (``LegacySessions.adopt``). On Redis Cluster
the two hashes live in different slots, so the move is three steps: read the old hash, one
script merges it into the user's (``merge_moved.lua``: the larger credential epoch, the
live sessions it lacks), one more deletes the old hash if it still holds what was read
(``drop_moved.lua``). Contents once merged are never merged again (their digest is kept
in ``layout.moved_key`` while they could hold a live session), so a move that read the old
hash before another one finished cannot bring back a session ended meanwhile. Every logout,
logout-all and credential change also ends what it ends in the old keys, after the move,
so a session that could not be moved (an older instance kept changing its hash) never
outlives them. The old cached user is simply dropped; an old one-time token is consumed
from where it is (recovery/onetime.py).
"""

from __future__ import annotations

from typing import Any

from redis.asyncio import Redis, RedisCluster

from authgate.sessions.layout import is_tag, moved_key, sessions_key, user_tag

MOVE_ATTEMPTS = 3

OldHash = tuple[dict[str, str], int]  # an old sessions hash as read, and its expiry (ms)


def old_key(prefix: str, user_id: str, rest: str) -> str:
    """A key of the user's under their full id: ``<prefix>:{<user id>}:<rest>``.

    A user id spelled like a tag (``~`` first, or a UUID's 22 characters) is the one
    exception: under its full id, its keys would be another user's keys of today, so it is
    given a key under its own tag that nothing ever writes (whatever an older authgate
    wrote for such an id is not taken up: its sessions end with the upgrade).
    """
    if is_tag(user_id):
        return f"{prefix}:{{{user_tag(user_id)}}}:unmoved:{rest}"
    return f"{prefix}:{{{user_id}}}:{rest}"


def old_sessions_key(prefix: str, user_id: str) -> str:
    return old_key(prefix, user_id, "s")


def old_user_key(prefix: str, user_id: str) -> str:
    return old_key(prefix, user_id, "user")


def old_onetime_key(prefix: str, user_id: str, purpose: str) -> str:
    return old_key(prefix, user_id, f"onetime:{purpose}")


def session_count(fields: dict[str, str]) -> int:
    """How many sessions a sessions hash names (helper fields carry ``.`` or ``@``)."""
    return sum(1 for field in fields if "." not in field and "@" not in field)


class MovedHashes:
    """Moves a user's old sessions hash into their hash (``sessions_key``)."""

    def __init__(self, client: Redis | RedisCluster, prefix: str, merge: Any, drop: Any) -> None:
        self._client = client
        self._prefix = prefix
        self._merge = merge
        self._drop = drop

    def read_into(self, pipe: Any, user_id: str) -> None:
        """Queue the two reads of the old hash (its fields, its expiry) on ``pipe``."""
        key = old_sessions_key(self._prefix, user_id)
        pipe.hgetall(key)
        pipe.pexpiretime(key)

    async def _read(self, user_id: str) -> OldHash:
        pipe = self._client.pipeline()
        self.read_into(pipe, user_id)
        fields, expires = await pipe.execute()
        return fields, int(expires)

    async def move(self, user_id: str, now_ms: int, read: OldHash | None = None) -> int:
        """Move the user's old hash (``read`` already, or read here) into their hash; how
        many sessions it named (0: there was none)."""
        found = 0
        for _ in range(MOVE_ATTEMPTS):
            fields, expires = read if read is not None else await self._read(user_id)
            read = None
            if not fields:
                break
            flat = [str(item) for pair in fields.items() for item in pair]
            keys = [sessions_key(self._prefix, user_id), moved_key(self._prefix, user_id)]
            await self._merge(keys=keys, args=[now_ms, expires, *flat])
            found = max(found, session_count(fields))
            old = [old_sessions_key(self._prefix, user_id), old_user_key(self._prefix, user_id)]
            if int(await self._drop(keys=old, args=flat)):
                break
        return found
