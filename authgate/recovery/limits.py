"""How often the recovery flows may send mail: per address, per user and per client IP.

Counters in Redis with a one-hour window, on the same ``ReserveCounter`` as the login
throttle: one key per counter, its TTL the window. Addresses are counted under a digest,
so Redis holds no address in clear.
"""

from __future__ import annotations

import hashlib
import math

from redis.asyncio import Redis, RedisCluster

from authgate.limits.addresses import throttle_bucket
from authgate.limits.counter import ReserveCounter

WINDOW_SECONDS = 3600


class RecoveryLimits:
    """Counts mail-sending requests; each method answers 0 (go on) or seconds to wait."""

    def __init__(
        self,
        client: Redis | RedisCluster,
        *,
        prefix: str,
        per_address: int,
        per_ip: int,
        window_seconds: int = WINDOW_SECONDS,
    ) -> None:
        self._per_address = per_address
        self._per_ip = per_ip
        self._counter = ReserveCounter(
            client, prefix=f"{prefix}:recovery", window_seconds=window_seconds
        )

    async def _take(self, kind: str, identity: str, limit: int) -> int:
        wait_ms = await self._counter.reserve(self._counter.key(kind, identity), limit)
        return math.ceil(wait_ms / 1000)

    async def address(self, email: str, *, flow: str = "forgot-password") -> int:
        """One more mail of ``flow`` to ``email`` (whether or not it has an account). Each
        flow counts apart, so mails of one cannot use up another's allowance."""
        digest = hashlib.sha256(email.encode("utf-8", "surrogatepass")).hexdigest()[:32]
        kind = "address" if flow == "forgot-password" else f"address:{flow}"
        return await self._take(kind, digest, self._per_address)

    async def client(self, ip: str) -> int:
        """One more request from the client at ``ip`` (IPv6 counted per /64)."""
        return await self._take("ip", throttle_bucket(ip), self._per_ip)

    async def user(self, flow: str, user_id: str) -> int:
        """One more mail of ``flow`` asked for by the signed-in user ``user_id``."""
        return await self._take(flow, user_id, self._per_address)
