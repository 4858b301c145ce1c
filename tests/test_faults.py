"""Redis faults through the example app: a burst larger than the pool, a restart that keeps
the data, a Redis that accepts connections but never answers, and ``SCRIPT FLUSH``.

Each test runs its own ``redis-server`` (so nothing here disturbs the shared one).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from authgate.redis import connect as connection
from tests.conftest import (
    ClientFactory,
    GateFactory,
    bearer,
    login,
    register,
    register_and_login,
)
from tests.processes import RedisServer

POOL = 4
# one socket timeout (3 s) and room for a busy machine; a timed-out command that were
# repeated would take two
HUNG_BOUND_SECONDS = 5.5


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path)
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.mark.processes  # a redis-server of its own
async def test_a_burst_larger_than_the_pool_waits_for_connections(
    tmp_path: Path, make_gate: GateFactory, make_client: ClientFactory
) -> None:
    # the server itself refuses a fifth client: the pool never opens more than POOL
    with RedisServer(tmp_path, None, "--maxclients", str(POOL)) as server:
        gate = await make_gate(redis_url=server.url, redis_max_connections=POOL)
        client = make_client(gate)
        account = await register_and_login(client)

        profiles = [
            client.get("/api/profile", headers=bearer(account.access_token)) for _ in range(60)
        ]
        # as many parallel logins as the throttle lets run at once: each holds a slot until
        # its password check is done, so more would be 429 by design, not for want of a connection
        logins = [
            client.post(
                "/auth/login", json={"username": account.username, "password": account.password}
            )
            for _ in range(gate.settings.login_max_failures)
        ]
        answers = await asyncio.gather(*profiles, *logins)

        statuses = [answer.status_code for answer in answers]
        assert statuses == [200] * len(answers), {
            status: statuses.count(status) for status in statuses
        }
        assert gate.redis is not None
        assert len(await gate.redis.client_list()) == POOL  # asked on one of them


async def test_no_free_connection_in_time_is_503(
    own_redis: RedisServer,
    make_gate: GateFactory,
    make_client: ClientFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(connection, "POOL_WAIT_SECONDS", 0.2)
    gate = await make_gate(redis_url=own_redis.url, redis_max_connections=1)
    client = make_client(gate)
    account = await register_and_login(client)
    assert isinstance(gate.redis, Redis)
    pool = gate.redis.connection_pool

    held = await pool.get_connection()  # type: ignore[no-untyped-call]  # the only one
    try:
        waited = await client.get("/api/profile", headers=bearer(account.access_token))
    finally:
        await pool.release(held)

    assert waited.status_code == 503, waited.text
    assert waited.json()["success"] is False
    again = await client.get("/api/profile", headers=bearer(account.access_token))
    assert again.status_code == 200


async def test_the_first_requests_after_a_redis_restart_succeed(
    own_redis: RedisServer, make_gate: GateFactory, make_client: ClientFactory
) -> None:
    gates = [await make_gate(redis_url=own_redis.url) for _ in range(2)]
    clients = [make_client(gate) for gate in gates]
    account = await register_and_login(clients[0])
    second = await login(clients[1], account)
    # warm both pools: several connections each, all of them cut by the restart
    for client in clients:
        warm = [client.get("/api/profile", headers=bearer(account.access_token)) for _ in range(8)]
        assert {answer.status_code for answer in await asyncio.gather(*warm)} == {200}

    own_redis.restart_keeping_data()

    first = await asyncio.gather(
        *(client.get("/api/profile", headers=bearer(account.access_token)) for client in clients),
        *(client.get("/auth/me", headers=bearer(second.access_token)) for client in clients),
        clients[1].post("/auth/refresh-token", json={"refreshToken": account.refresh_token}),
        clients[0].post(
            "/auth/login", json={"username": account.username, "password": account.password}
        ),
    )
    assert [answer.status_code for answer in first] == [200] * 6, [a.text for a in first]


async def _timed(request: Coroutine[Any, Any, httpx.Response]) -> tuple[int, float]:
    started = time.monotonic()
    response = await asyncio.wait_for(request, timeout=30)  # a hang fails, it never blocks
    return response.status_code, time.monotonic() - started


async def test_a_redis_that_never_answers_gives_503_within_a_bound(
    own_redis: RedisServer, make_gate: GateFactory, make_client: ClientFactory
) -> None:
    warm_gate = await make_gate(redis_url=own_redis.url)
    cold_gate = await make_gate(redis_url=own_redis.url)  # no connection opened yet
    client, cold = make_client(warm_gate), make_client(cold_gate)
    account = await register_and_login(client)
    other = await register(client)

    own_redis.pause()
    try:
        results = await asyncio.gather(
            _timed(client.get("/api/profile", headers=bearer(account.access_token))),
            _timed(cold.get("/api/profile", headers=bearer(account.access_token))),
            _timed(
                client.post(
                    "/auth/login", json={"username": other.username, "password": other.password}
                )
            ),
            _timed(
                client.post("/auth/refresh-token", json={"refreshToken": account.refresh_token})
            ),
            _timed(client.post("/auth/logout", headers=bearer(account.access_token))),
        )
    finally:
        own_redis.resume()

    assert [status for status, _ in results] == [503] * 5
    slowest = max(elapsed for _, elapsed in results)
    assert slowest < HUNG_BOUND_SECONDS, results
    # once it answers again, the same tokens work, without restarting anything
    for gate_client in (client, cold):
        again = await gate_client.get("/api/profile", headers=bearer(account.access_token))
        assert again.status_code == 200, again.text


async def _flushed(server: RedisServer) -> None:
    def flush() -> None:
        with server.client() as admin:
            admin.script_flush()
            assert admin.script_exists("0" * 40) == [False]

    await asyncio.to_thread(flush)


async def test_requests_go_on_succeeding_after_script_flush(
    own_redis: RedisServer, make_gate: GateFactory, make_client: ClientFactory
) -> None:
    client = make_client(await make_gate(redis_url=own_redis.url))
    account = await register(client)

    await _flushed(own_redis)
    wrong = await client.post(
        "/auth/login", json={"username": account.username, "password": "wrong password"}
    )
    assert wrong.status_code == 401  # counted by the throttle's script
    await _flushed(own_redis)
    account = await login(client, account)
    await _flushed(own_redis)
    assert (await client.get("/api/profile", headers=bearer(account.access_token))).status_code == (
        200
    )
    await _flushed(own_redis)
    rotated = await client.post("/auth/refresh-token", json={"refreshToken": account.refresh_token})
    assert rotated.status_code == 200, rotated.text
    await _flushed(own_redis)
    sessions = await client.get("/auth/sessions", headers=bearer(account.access_token))
    assert sessions.status_code == 200, sessions.text
    await _flushed(own_redis)
    ended = await client.post("/auth/logout-all", headers=bearer(account.access_token))
    assert ended.status_code == 200, ended.text
    assert ended.json()["data"] == {"revoked": 1}
