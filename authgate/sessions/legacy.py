"""Sessions written by an older authgate, moved into today's layout the first time they
are met.

The oldest versions kept one hash per session and a sorted-set index per user, under the
user's full id::

    <prefix>:{<user id>}:session:<sid>   hash: j, p, i, c, l, a, d (short fields), or
                                         jti, prev_jti, rotated_at, iat, exp, created_at,
                                         last_used_at, ip, ua (the first version)
    <prefix>:{<user id>}:sessions        zset: sid -> expiry ms

and the next ones one hash per user under the full id too (``moved.py``). The store adopts
a user's old sessions when a check or a refresh does not find a session, and before it
lists or ends sessions, so an upgrade logs nobody out and a logout-all reaches every
session, old or new: the per-session hashes go into the hash under the full id, in its
decimal spelling (``adopt_sessions.lua``, one slot), and that hash into the user's
(``moved.py``).
"""

from __future__ import annotations

from typing import Any

from redis.asyncio import Redis, RedisCluster

from authgate.sessions.layout import PREVIOUS_CHARS, client_fields, device_of
from authgate.sessions.moved import MovedHashes, old_key, old_sessions_key

ADOPT_ATTEMPTS = 3


def session_fields(old: dict[str, str], expires_ms: int) -> tuple[str, str, str, str]:
    """(current jti, session field, meta field, own-field ip) of one old session hash."""
    if "j" in old:  # the short shape: exp is the key's own expiry, l counts from c
        jti, prev, iat, exp = old["j"], old.get("p", ""), old.get("i", "0"), expires_ms // 1000
        created = int(old.get("c") or 0)
        last = created + int(old.get("l") or 0)
        ip, device = old.get("a", ""), old.get("d", "")
    else:
        jti, prev, iat = old["jti"], old.get("prev_jti", ""), old.get("iat", "0")
        exp = int(old["exp"])
        created = int(old.get("created_at") or 0)
        last = int(old.get("rotated_at") or old.get("last_used_at") or created)
        ip, device = old.get("ip", ""), device_of(old.get("ua", ""))
    iat_s = int(iat)
    ip_part, device, own_ip = client_fields(ip, device)
    session = f"{iat_s}|{exp - iat_s}|{jti}|{prev[:PREVIOUS_CHARS]}"
    return jti, session, f"{created}|{last - iat_s * 1000}|{ip_part}|{device}", own_ip


class LegacySessions:
    """Finds a user's sessions of the older layouts and moves them into the user's hash."""

    def __init__(self, client: Redis | RedisCluster, prefix: str, scripts: dict[str, Any]) -> None:
        self._client = client
        self._prefix = prefix
        self._adopt = scripts["adopt_sessions"]
        self.moved = MovedHashes(client, prefix, scripts["merge_moved"], scripts["drop_moved"])

    def index_key(self, user_id: str) -> str:
        return old_key(self._prefix, user_id, "sessions")

    def session_key(self, user_id: str, sid: str) -> str:
        return old_key(self._prefix, user_id, f"session:{sid}")

    async def adopt(self, user_id: str, now_ms: int) -> int:
        """Move the user's old sessions into their hash; how many there were. One round
        trip when there are none."""
        pipe = self._client.pipeline()
        pipe.zrange(self.index_key(user_id), 0, -1)
        self.moved.read_into(pipe, user_id)
        sids, fields, expires = await pipe.execute()
        if not sids:
            return await self.moved.move(user_id, now_ms, (fields, int(expires)))
        return await self._adopt_sessions(user_id, [str(sid) for sid in sids]) + (
            await self.moved.move(user_id, now_ms)
        )

    async def _adopt_sessions(self, user_id: str, sids: list[str]) -> int:
        """Move the user's per-session hashes into their hash under the full id."""
        index = self.index_key(user_id)
        hash_key = old_sessions_key(self._prefix, user_id)
        moved = 0
        for attempt in range(ADOPT_ATTEMPTS):
            if attempt:
                sids = [str(sid) for sid in await self._client.zrange(index, 0, -1)]
            if not sids:
                break
            keys = [self.session_key(user_id, sid) for sid in sids]
            pipe = self._client.pipeline()
            for key in keys:
                pipe.hgetall(key)
                pipe.pexpiretime(key)
            replies = await pipe.execute()
            args: list[str] = []
            for i, sid in enumerate(sids):
                old, expires_ms = replies[2 * i], int(replies[2 * i + 1])
                if "j" in old or "jti" in old:
                    args += [sid, *session_fields(old, expires_ms)]
                else:  # expired meanwhile: only its index entry is left
                    args += [sid, "", "", "", ""]
            left = int(await self._adopt(keys=[hash_key, index, *keys], args=args))
            moved += len(sids) - left
            if not left:
                break
        return moved
