"""Login throttling: password checks counted per account and per client IP in Redis.

A check is counted *before* it runs: each attempt first reserves a slot against the
account's limit and the client's limit, one atomic step per counter, and only then is the
password checked. A wrong password keeps its slot (it is the failure); a right one gives
the client's slot back and resets the account. So a burst of parallel guesses runs at
most the limit's number of password checks, and once the limit is full every attempt,
right or wrong, is refused before bcrypt runs.

Each counter is one key with its own TTL (the window starts at the first reservation), so
the counters expire by themselves; each is its own Cluster slot, touched by one-key
scripts. Account counters are keyed by user id when the user exists and by a digest of
the login otherwise, so guessing at a name that does not exist is throttled exactly alike.
Clients are counted per IPv4 address or IPv6 /64.
"""

from __future__ import annotations

import hashlib
import math
from typing import Protocol

from redis.asyncio import Redis, RedisCluster

from authgate.clientip import throttle_bucket
from authgate.sessions.redis_store import load_script, redis_errors


class LoginThrottle(Protocol):
    """Reserves password checks against per-account and per-client limits."""

    async def reserve(self, account: str, ip: str) -> int:
        """Reserve one password check for ``account`` from ``ip``.

        Returns 0 when reserved, else the seconds until a slot frees (nothing reserved).
        """
        ...

    async def succeeded(self, account: str, ip: str) -> None:
        """The reserved check found the right password: reset the account's count and give
        the client's slot back."""
        ...


def account_key_for(user_id: str | None, login: str) -> str:
    """The throttle identity of an attempt: the user id, or a digest of an unknown login."""
    if user_id is not None:
        return f"user:{user_id}"
    return "login:" + hashlib.sha256(login.encode("utf-8", "surrogatepass")).hexdigest()[:32]


class RedisLoginThrottle:
    """``LoginThrottle`` on Redis (single node or Cluster)."""

    def __init__(
        self,
        client: Redis | RedisCluster,
        *,
        prefix: str,
        max_failures: int,
        max_failures_per_ip: int,
        window_seconds: int,
    ) -> None:
        self._prefix = prefix
        self._max_failures = max_failures
        self._max_failures_per_ip = max_failures_per_ip
        self._window_ms = window_seconds * 1000
        self._reserve = client.register_script(load_script("reserve_attempt"))
        self._release = client.register_script(load_script("release_attempt"))
        self._client = client

    def _key(self, kind: str, identity: str) -> str:
        return f"{self._prefix}:throttle:{kind}:{{{identity}}}"

    def _account_key(self, account: str) -> str:
        return self._key("account", account)

    def _ip_key(self, ip: str) -> str:
        return self._key("ip", throttle_bucket(ip))

    async def _take(self, key: str, limit: int) -> int:
        """Reserve a slot of ``key``: 0, or the ms until its window ends when it is full."""
        reserved, ttl_ms = await self._reserve(keys=[key], args=[limit, self._window_ms])
        return 0 if int(reserved) else max(1, int(ttl_ms))

    async def reserve(self, account: str, ip: str) -> int:
        account_key, ip_key = self._account_key(account), self._ip_key(ip)
        async with redis_errors():
            wait_ms = await self._take(account_key, self._max_failures)
            if wait_ms == 0:
                wait_ms = await self._take(ip_key, self._max_failures_per_ip)
                if wait_ms:
                    # the client is over its limit: the account's slot was never used
                    await self._release(keys=[account_key])
        return math.ceil(wait_ms / 1000)

    async def succeeded(self, account: str, ip: str) -> None:
        async with redis_errors():
            await self._client.delete(self._account_key(account))
            await self._release(keys=[self._ip_key(ip)])
