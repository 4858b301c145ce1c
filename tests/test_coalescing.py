"""Coalesced session checks keep every promise of the hot path (contract §4, §5, §12).

The checks of the requests that arrive in one event-loop turn travel to Redis together;
these tests hold that batch to the same answers one request at a time would get.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from redis.asyncio import Redis

from authgate import AuthGate
from authgate.errors import ServiceUnavailable
from authgate.sessions import ClientInfo, RedisSessionStore
from tests.conftest import (
    Account,
    ClientFactory,
    GateFactory,
    bearer,
    redis_prefix_for_run,
    register_and_login,
)
from tests.processes import RedisServer

BROWSER = ClientInfo(ip="198.51.100.9", user_agent="Firefox/133")
CROWD = 8


def store_of(gate: AuthGate) -> RedisSessionStore:
    store = gate.service.sessions
    assert isinstance(store, RedisSessionStore)
    return store


async def profiles(client: httpx.AsyncClient, accounts: list[Account]) -> list[int]:
    """``GET /api/profile`` for every account at once; their status codes in order."""
    responses = await asyncio.gather(
        *(client.get("/api/profile", headers=bearer(a.access_token)) for a in accounts)
    )
    return [response.status_code for response in responses]


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path)
    try:
        server.start()
        yield server
    finally:
        server.stop()


async def test_a_logout_on_one_instance_is_seen_inside_a_batch_on_another(
    make_gate: GateFactory, make_client: ClientFactory
) -> None:
    gate_a, gate_b = await make_gate(), await make_gate()
    a, b = make_client(gate_a), make_client(gate_b)
    accounts = [await register_and_login(a) for _ in range(CROWD)]
    a.cookies.clear()
    assert await profiles(b, accounts) == [200] * CROWD  # warm: users cached on B

    logout = await a.post("/auth/logout", headers=bearer(accounts[3].access_token))
    assert logout.status_code == 200
    before = store_of(gate_b).checks.batches
    statuses = await profiles(b, accounts)

    assert statuses == [200, 200, 200, 401, 200, 200, 200, 200]
    assert store_of(gate_b).checks.batches - before == 1  # all eight in one round trip


async def test_a_batch_whose_redis_call_fails_answers_503_to_each_request(
    own_redis: RedisServer, make_gate: GateFactory, make_client: ClientFactory
) -> None:
    gate = await make_gate(redis_url=own_redis.url)
    client = make_client(gate)
    accounts = [await register_and_login(client) for _ in range(CROWD)]
    client.cookies.clear()
    assert await profiles(client, accounts) == [200] * CROWD

    own_redis.stop()
    before = store_of(gate).checks.batches
    assert await profiles(client, accounts) == [503] * CROWD
    assert store_of(gate).checks.batches - before == 1

    # the failure stayed with that batch: the next ones are answered from Redis again
    own_redis.start()  # empty: the sessions are gone
    assert await profiles(client, accounts) == [401] * CROWD
    fresh = [await register_and_login(client) for _ in range(2)]
    client.cookies.clear()
    assert await profiles(client, [*fresh, accounts[0]]) == [200, 200, 401]


async def _sessions(store: RedisSessionStore, count: int) -> list[tuple[str, str]]:
    iat = int(time.time())
    pairs = [(str(uuid.uuid4()), uuid.uuid4().hex) for _ in range(count)]
    for user_id, sid in pairs:
        await store.create(user_id, sid, uuid.uuid4().hex, iat, iat + 600, BROWSER)
    return pairs


async def test_a_cancelled_check_does_not_stall_its_batch(redis_url: str) -> None:
    client = Redis.from_url(redis_url, decode_responses=True)
    store = RedisSessionStore(client, prefix=redis_prefix_for_run())
    try:
        pairs = await _sessions(store, 6)
        # one gone before its batch is sent, one while the batch is on its way to Redis
        early = [asyncio.ensure_future(store.lookup(*pair)) for pair in pairs[:3]]
        await asyncio.sleep(0)  # the three are queued in this turn's batch
        early[0].cancel()
        late = [asyncio.ensure_future(store.lookup(*pair)) for pair in pairs[3:]]
        await asyncio.sleep(0)
        await asyncio.sleep(0)  # their batch has been sent
        late[0].cancel()

        async with asyncio.timeout(5):
            answers = await asyncio.gather(*early, *late, return_exceptions=True)

        assert isinstance(answers[0], asyncio.CancelledError)
        assert isinstance(answers[3], asyncio.CancelledError)
        alive = [a.alive for i, a in enumerate(answers) if i not in (0, 3)]  # type: ignore[union-attr]
        assert alive == [True, True, True, True]
        # and the store goes on answering
        assert (await store.lookup(*pairs[0])).alive
    finally:
        await client.aclose()


@pytest.mark.processes  # a redis-server of its own
async def test_checks_of_a_stopped_redis_fail_closed_and_never_hang(tmp_path: Path) -> None:
    with RedisServer(tmp_path) as server:
        client = Redis.from_url(server.url, decode_responses=True, socket_timeout=3)
        store = RedisSessionStore(client, prefix=redis_prefix_for_run())
        try:
            pairs = await _sessions(store, 4)
            server.pause()  # accepts, never answers
            try:
                started = time.monotonic()
                answers = await asyncio.gather(
                    *(store.lookup(*pair) for pair in pairs), return_exceptions=True
                )
            finally:
                server.resume()
            assert all(isinstance(answer, ServiceUnavailable) for answer in answers), answers
            assert len({id(answer) for answer in answers}) == len(answers)  # one error each
            assert time.monotonic() - started < 5.5
            assert all([(await store.lookup(*pair)).alive for pair in pairs])
        finally:
            await client.aclose()


@pytest.mark.processes  # a redis-server of its own
async def test_a_check_made_while_a_batch_hangs_waits_only_for_its_own_timeout(
    tmp_path: Path,
) -> None:
    timeout = 2.0
    with RedisServer(tmp_path) as server:
        client = Redis.from_url(server.url, decode_responses=True, socket_timeout=timeout)
        store = RedisSessionStore(client, prefix=redis_prefix_for_run())
        try:
            first, second = await _sessions(store, 2)
            server.pause()  # accepts, never answers
            try:
                hung = asyncio.ensure_future(store.lookup(*first))
                await asyncio.sleep(timeout / 4)  # its batch is away, and hangs
                started = time.monotonic()
                with pytest.raises(ServiceUnavailable):
                    await store.lookup(*second)
                waited = time.monotonic() - started
                with pytest.raises(ServiceUnavailable):
                    await hung
            finally:
                server.resume()
            # sent soon after it was made, not after the hung batch gave up
            assert waited < timeout + 0.5, waited
            assert (await store.lookup(*second)).alive
        finally:
            await client.aclose()
