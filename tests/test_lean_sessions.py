"""Lean sessions: what a live session costs in Redis, and sessions written by an older
authgate (long field names, the raw user agent) still working — on the real Redis."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from authgate.devices import describe_device
from authgate.sessions import ClientInfo, RedisSessionStore, RotationOutcome
from authgate.tokens import new_session_id, new_token_id
from tests.conftest import redis_prefix_for_run

# a real browser's agent, cut to the 120 characters of the contract's measure
AGENT = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0"
)[:120]
BROWSER = ClientInfo(ip="203.0.113.77", user_agent=AGENT)
SESSIONS_PER_USER = 10
BUDGET_BYTES = 300
WEEK = 7 * 24 * 3600


@pytest.fixture
async def store(redis_url: str) -> AsyncIterator[RedisSessionStore]:
    client = Redis.from_url(redis_url, decode_responses=True)
    # the default prefix: it is part of every key, and so of the bytes measured
    yield RedisSessionStore(client, prefix="authgate")
    await client.aclose()


async def test_a_live_session_costs_at_most_300_bytes(store: RedisSessionStore) -> None:
    assert len(AGENT) == 120
    user_id = str(uuid.uuid4())
    now = int(time.time())
    sessions = {new_session_id(): new_token_id() for _ in range(SESSIONS_PER_USER)}
    try:
        for sid, jti in sessions.items():
            await store.create(user_id, sid, jti, now, now + WEEK, BROWSER)
        for sid, jti in sessions.items():  # a session that has rotated once is the usual one
            rotation = await store.rotate(
                user_id, sid, jti, new_token_id(), now, now + WEEK, BROWSER
            )
            assert rotation.outcome is RotationOutcome.ROTATED

        client = store.client
        index = await client.memory_usage(store.index_key(user_id), samples=0)
        assert index is not None
        for sid in sessions:
            key = store.session_key(user_id, sid)
            assert await client.object("encoding", key) == "listpack"
            used = await client.memory_usage(key, samples=0)
            assert used is not None
            assert used + index / SESSIONS_PER_USER <= BUDGET_BYTES, (used, index)
        listed = await store.list(user_id)
        assert {info.device for info in listed} == {describe_device(AGENT)}
    finally:
        await store.revoke_all(user_id)


async def _old_session(
    store: RedisSessionStore, user_id: str, *, prev_jti: str = "", rotated_ms: int = 0
) -> tuple[str, str, int]:
    """A session as an older authgate wrote it; its sid, current jti and exp."""
    sid, jti = new_session_id(), new_token_id()
    now_ms = int(time.time() * 1000)
    exp = now_ms // 1000 + 3600
    key = store.session_key(user_id, sid)
    await store.client.hset(
        key,
        mapping={
            "jti": jti,
            "prev_jti": prev_jti,
            "rotated_at": rotated_ms,
            "iat": exp - 3600,
            "exp": exp,
            "created_at": now_ms - 60_000,
            "last_used_at": now_ms - 30_000,
            "ip": "198.51.100.4",
            "ua": AGENT,
        },
    )
    await store.client.pexpireat(key, exp * 1000)
    await store.client.zadd(store.index_key(user_id), {sid: exp * 1000})
    return sid, jti, exp


async def test_a_session_of_the_old_shape_still_works(store: RedisSessionStore) -> None:
    store = RedisSessionStore(store.client, prefix=redis_prefix_for_run())
    user_id = str(uuid.uuid4())
    sid, jti, exp = await _old_session(store, user_id)

    assert (await store.lookup(user_id, sid)).alive
    (listed,) = await store.list(user_id)
    assert (listed.id, listed.ip, listed.user_agent) == (sid, "198.51.100.4", AGENT)
    assert listed.device == describe_device(AGENT)

    second, now = new_token_id(), int(time.time())
    rotated = await store.rotate(user_id, sid, jti, second, now, now + 3600, BROWSER)
    assert (rotated.outcome, rotated.jti) == (RotationOutcome.ROTATED, second)
    stored = await store.client.hgetall(store.session_key(user_id, sid))
    assert set(stored) == {"j", "p", "i", "c", "l", "a", "d"}  # rewritten in the new shape
    assert (stored["j"], stored["p"]) == (second, jti)
    (listed,) = await store.list(user_id)
    assert listed.created_at_ms == int(stored["c"])
    assert listed.device == listed.user_agent == describe_device(AGENT)

    grace = await store.rotate(user_id, sid, jti, new_token_id(), now, now + 3600, BROWSER)
    assert (grace.outcome, grace.jti, grace.exp) == (RotationOutcome.GRACE, second, now + 3600)
    reused = await store.rotate(user_id, sid, "an-old-one", new_token_id(), now, exp, BROWSER)
    assert reused.outcome is RotationOutcome.REUSED
    assert not (await store.lookup(user_id, sid)).alive


async def test_the_grace_window_of_an_old_shape_rotation_still_holds(
    store: RedisSessionStore,
) -> None:
    store = RedisSessionStore(store.client, prefix=redis_prefix_for_run())
    user_id = str(uuid.uuid4())
    previous = new_token_id()
    sid, current, exp = await _old_session(
        store, user_id, prev_jti=previous, rotated_ms=int(time.time() * 1000)
    )
    now = int(time.time())

    grace = await store.rotate(user_id, sid, previous, new_token_id(), now, now + 60, BROWSER)

    assert (grace.outcome, grace.jti, grace.exp) == (RotationOutcome.GRACE, current, exp)
    assert await store.revoke(user_id, sid)
