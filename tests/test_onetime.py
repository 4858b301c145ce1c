"""One-time tokens on real Redis: random, stored as a digest with a TTL under the user's
hash tag, and consumed exactly once, also when many requests race for one token."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from authgate.recovery.onetime import RESET, VERIFY, OneTimeTokens, digest, user_id_of
from authgate.redis.connect import connect_redis
from authgate.sessions.layout import onetime_key
from tests.conftest import redis_prefix_for_run


@pytest.fixture
async def client(redis_url: str) -> AsyncIterator[Redis]:
    redis = connect_redis(redis_url)
    assert isinstance(redis, Redis)
    yield redis
    await redis.aclose()


@pytest.fixture
def prefix() -> str:
    return f"{redis_prefix_for_run()}-{uuid.uuid4().hex[:8]}"


class Clock:
    def __init__(self) -> None:
        self.now = 1_900_000_000.0

    def __call__(self) -> float:
        return self.now


async def test_a_token_works_once_and_redis_keeps_only_its_digest(
    client: Redis, prefix: str
) -> None:
    tokens = OneTimeTokens(client, prefix=prefix)
    user_id = str(uuid.uuid4())

    token = await tokens.issue(user_id, VERIFY, 3600, data="alice@example.com")

    assert user_id_of(token) == user_id
    assert len(token.split(".")[1]) >= 43  # 256 random bits
    key = onetime_key(prefix, user_id, VERIFY)
    stored = await client.hgetall(key)
    assert list(stored) == [digest(token)]
    assert token not in str(stored)
    assert 3590_000 < await client.pttl(key) <= 3600_000

    redeemed = await tokens.consume(token, VERIFY)
    assert redeemed is not None
    assert (redeemed.user_id, redeemed.data) == (user_id, "alice@example.com")
    assert await tokens.consume(token, VERIFY) is None
    assert await client.exists(key) == 0


async def test_ten_concurrent_uses_of_one_token_succeed_exactly_once(
    client: Redis, prefix: str
) -> None:
    tokens = OneTimeTokens(client, prefix=prefix)
    token = await tokens.issue(str(uuid.uuid4()), RESET, 3600)

    results = await asyncio.gather(*(tokens.consume(token, RESET) for _ in range(10)))

    assert sum(result is not None for result in results) == 1


async def test_an_expired_token_is_refused(client: Redis, prefix: str) -> None:
    clock = Clock()
    tokens = OneTimeTokens(client, prefix=prefix, clock=clock)
    token = await tokens.issue(str(uuid.uuid4()), RESET, 60)
    clock.now += 61
    assert await tokens.consume(token, RESET) is None


async def test_purposes_do_not_mix_and_forged_or_malformed_tokens_fail(
    client: Redis, prefix: str
) -> None:
    tokens = OneTimeTokens(client, prefix=prefix)
    user_id = str(uuid.uuid4())
    token = await tokens.issue(user_id, VERIFY, 3600)
    other_user = f"{uuid.uuid4().hex}.{token.split('.')[1]}"
    for bad in ("", "x", "a.b", token + "x", token[:-1], other_user, "é" * 200, token + "\x00"):
        assert await tokens.consume(bad, VERIFY) is None
    assert await tokens.consume(token, RESET) is None  # a verification token resets nothing
    assert await tokens.consume(token, VERIFY) is not None


async def test_a_reset_drops_every_other_outstanding_token_of_the_user(
    client: Redis, prefix: str
) -> None:
    tokens = OneTimeTokens(client, prefix=prefix)
    user_id = str(uuid.uuid4())
    first, second, third = [await tokens.issue(user_id, RESET, 3600) for _ in range(3)]
    verification = await tokens.issue(user_id, VERIFY, 3600)

    assert await tokens.consume(second, RESET, drop_others=True) is not None

    assert await tokens.consume(first, RESET) is None
    assert await tokens.consume(third, RESET) is None
    assert await tokens.consume(verification, VERIFY) is not None  # another purpose


async def test_outstanding_tokens_are_bounded_per_user(client: Redis, prefix: str) -> None:
    tokens = OneTimeTokens(client, prefix=prefix)
    user_id = str(uuid.uuid4())
    issued = [await tokens.issue(user_id, RESET, 3600 + index) for index in range(8)]
    key = onetime_key(prefix, user_id, RESET)
    assert await client.hlen(key) == 5
    assert await tokens.consume(issued[0], RESET) is None  # the oldest gave way
    assert await tokens.consume(issued[-1], RESET) is not None
