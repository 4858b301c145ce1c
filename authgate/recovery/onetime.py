"""One-time tokens for password reset, e-mail verification and e-mail change.

A token is ``<user id hex>.<32 random bytes, base64url>`` (256 random bits). Redis keeps
only its SHA-256 digest, in a hash per user and purpose under the user's Cluster hash tag,
next to the user's sessions::

    <prefix>:{<tag>}:onetime:<purpose>   hash: digest -> "<expiry ms>.<epoch>|<data>"

(``<tag>``: the user's tag, ``layout.user_tag``.)

Each entry carries its own expiry (the hash's TTL is the latest one) and the user's
credential epoch it was issued in. Consuming is one Lua script that reads and deletes the
entry, so a token works once however many requests present it at the same moment; a reset
consumes with ``drop_others`` and so also invalidates every other outstanding reset token
of the user. A token of an older epoch than the user's is refused like an unknown one, and
every credential change drops all of the user's tokens (``advance_epoch.lua``); the flow
that redeems a token also makes its change only from the epoch the token carries.

A token an older authgate issued under the user's full id (``sessions/moved.py``) is
consumed from there when the user's own hash does not know it, checked against the user's
current epoch too; a reset drops the other tokens of both hashes.
"""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from redis.asyncio import Redis, RedisCluster

from authgate.errors import CredentialsChanged
from authgate.redis.errors import redis_errors
from authgate.redis.scripts import register_script
from authgate.sessions.layout import ONETIME_PURPOSES, onetime_key, sessions_key
from authgate.sessions.moved import old_onetime_key, old_sessions_key

RESET, VERIFY, CHANGE_EMAIL = ONETIME_PURPOSES
SECRET_BYTES = 32
MAX_TOKEN = 128
MAX_OUTSTANDING = 5  # per user and purpose; older ones give way


def digest(token: str) -> str:
    """The SHA-256 digest of ``token`` (hex), the only form Redis keeps."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def user_id_of(token: str) -> str | None:
    """The user id a token names, or ``None`` if it is not shaped like a token."""
    if not 0 < len(token) <= MAX_TOKEN or token.count(".") != 1:
        return None
    head, tail = token.split(".")
    if len(tail) < 43:  # 32 bytes in base64url
        return None
    try:
        return str(uuid.UUID(hex=head))
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class Redeemed:
    """A consumed token: whose it was, the data issued with it and its credential epoch."""

    user_id: str
    data: str
    epoch: int = 0


class OneTimeTokens:
    """Issues and consumes one-time tokens in Redis (single node or Cluster)."""

    def __init__(
        self,
        client: Redis | RedisCluster,
        *,
        prefix: str,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._client = client
        self._prefix = prefix
        self._clock = clock
        self._issue = register_script(client, "authgate.recovery", "issue_token")
        self._consume = register_script(client, "authgate.recovery", "consume_token")

    def _keys(self, user_id: str, purpose: str) -> list[str]:
        return [onetime_key(self._prefix, user_id, purpose), sessions_key(self._prefix, user_id)]

    def _old_keys(self, user_id: str, purpose: str) -> list[str]:
        prefix = self._prefix
        return [old_onetime_key(prefix, user_id, purpose), old_sessions_key(prefix, user_id)]

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)

    async def issue(
        self, user_id: str, purpose: str, ttl_seconds: int, data: str = "", *, epoch: int = 0
    ) -> str:
        """A new token for ``user_id`` and ``purpose``, valid once for ``ttl_seconds``, in
        the credential ``epoch`` read with the user.

        Raises:
            CredentialsChanged: that epoch is no longer the user's (nothing is stored).
        """
        token = f"{uuid.UUID(user_id).hex}.{secrets.token_urlsafe(SECRET_BYTES)}"
        now = self._now_ms()
        async with redis_errors():
            stored = await self._issue(
                keys=self._keys(user_id, purpose),
                args=[digest(token), now + ttl_seconds * 1000, now, data, MAX_OUTSTANDING, epoch],
            )
        if not int(stored):
            raise CredentialsChanged()
        return token

    async def consume(
        self, token: str, purpose: str, *, drop_others: bool = False
    ) -> Redeemed | None:
        """Use ``token`` up; ``None`` when it is malformed, unknown, used or expired.

        Args:
            drop_others: also invalidate every other outstanding token of the user and
                purpose (a password reset does).
        """
        user_id = user_id_of(token)
        if user_id is None:
            return None
        keys, old = self._keys(user_id, purpose), self._old_keys(user_id, purpose)
        args: list[str | int] = [digest(token), self._now_ms(), "1" if drop_others else "0"]
        async with redis_errors():
            reply = await self._consume(keys=keys, args=[*args, 0])
            if not reply:  # issued by an older authgate, under the user's full id?
                epoch = await self._client.hget(keys[1], "@")
                reply = await self._consume(keys=old, args=[*args, str(epoch or 0)])
            if reply and drop_others:
                for key in (keys[0], old[0]):
                    await self._client.delete(key)
        if not reply:
            return None
        data, epoch = reply
        return Redeemed(user_id, str(data), int(epoch))
