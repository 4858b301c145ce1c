"""Login throttling: failed logins counted per account and per client IP in Redis.

Each counter is one key with its own TTL (the window starts at the first failure), so the
counters expire by themselves; each is its own Cluster slot, touched by one-key scripts.
Account counters are keyed by user id when the user exists and by a hash of the login
otherwise, so guessing at a name that does not exist is throttled exactly alike.
"""

from __future__ import annotations

import hashlib
import math
from typing import Protocol

from redis.asyncio import Redis, RedisCluster

from authgate.sessions.redis_store import load_script, redis_errors


class LoginThrottle(Protocol):
    """Counts failed logins and says how long a key is locked."""

    async def locked_for(self, account: str, ip: str) -> int:
        """Seconds until the account or the IP may try again (0: not locked)."""
        ...

    async def record_failure(self, account: str, ip: str) -> None:
        """Count a failed attempt against the account and the IP."""
        ...

    async def reset_account(self, account: str) -> None:
        """Forget the account's failures (after a successful login)."""
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
        self._limits = {"account": max_failures, "ip": max_failures_per_ip}
        self._window_ms = window_seconds * 1000
        self._record = client.register_script(load_script("record_failure"))
        self._status = client.register_script(load_script("throttle_status"))
        self._client = client

    def _key(self, kind: str, identity: str) -> str:
        return f"{self._prefix}:throttle:{kind}:{{{identity}}}"

    def _keys(self, account: str, ip: str) -> dict[str, str]:
        keys = {"account": self._key("account", account)}
        if ip:
            keys["ip"] = self._key("ip", ip)
        return keys

    async def locked_for(self, account: str, ip: str) -> int:
        wait_ms = 0
        async with redis_errors():
            for kind, key in self._keys(account, ip).items():
                failures, ttl_ms = await self._status(keys=[key])
                if int(failures) >= self._limits[kind]:
                    wait_ms = max(wait_ms, int(ttl_ms))
        return math.ceil(wait_ms / 1000)

    async def record_failure(self, account: str, ip: str) -> None:
        async with redis_errors():
            for key in self._keys(account, ip).values():
                await self._record(keys=[key], args=[self._window_ms])

    async def reset_account(self, account: str) -> None:
        async with redis_errors():
            await self._client.delete(self._key("account", account))
