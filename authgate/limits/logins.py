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

from authgate.limits.addresses import throttle_bucket
from authgate.limits.counter import ReserveCounter


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
    """``LoginThrottle`` on Redis (single node or Cluster), on ``ReserveCounter``."""

    def __init__(
        self,
        client: Redis | RedisCluster,
        *,
        prefix: str,
        max_failures: int,
        max_failures_per_ip: int,
        window_seconds: int,
    ) -> None:
        self._max_failures = max_failures
        self._max_failures_per_ip = max_failures_per_ip
        self._counter = ReserveCounter(
            client, prefix=f"{prefix}:throttle", window_seconds=window_seconds
        )

    def _account_key(self, account: str) -> str:
        return self._counter.key("account", account)

    def _ip_key(self, ip: str) -> str:
        return self._counter.key("ip", throttle_bucket(ip))

    async def reserve(self, account: str, ip: str) -> int:
        account_key, ip_key = self._account_key(account), self._ip_key(ip)
        wait_ms = await self._counter.reserve(account_key, self._max_failures)
        if wait_ms == 0:
            wait_ms = await self._counter.reserve(ip_key, self._max_failures_per_ip)
            if wait_ms:
                # the client is over its limit: the account's slot was never used
                await self._counter.release(account_key)
        return math.ceil(wait_ms / 1000)

    async def succeeded(self, account: str, ip: str) -> None:
        await self._counter.reset(self._account_key(account))
        await self._counter.release(self._ip_key(ip))
