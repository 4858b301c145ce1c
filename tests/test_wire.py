"""The hot path's script call, packed by hand (``authgate/sessions/wire.py``), on a real
Redis of the test's own: the same bytes redis-py would send, and the same behaviour after
a flushed script cache, a killed connection, a call cancelled mid-way and an outage."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis
from redis.asyncio import Redis
from redis.asyncio.connection import Connection
from redis.exceptions import ConnectionError as RedisConnectionError

from authgate.redis.connect import connect_redis
from authgate.redis.pipe import MIN_POOL
from authgate.redis.wire import PackedScript, pack
from tests.processes import RedisServer

ECHO = "local out = {} for i = 1, #KEYS do out[i] = KEYS[i] .. '=' .. ARGV[i] end return out"
# busy for about half a second inside Redis: a reply that is still on its way
SLOW = "local t = redis.call('TIME') local s = t[1] * 1e6 + t[2] local n = s " + (
    "while n - s < 500000 do t = redis.call('TIME') n = t[1] * 1e6 + t[2] end return 'slow'"
)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RedisServer]:
    with RedisServer(tmp_path) as started:
        yield started


@pytest.fixture(params=["pool", "pipe"])
async def client(server: RedisServer, request: pytest.FixtureRequest) -> AsyncIterator[Redis]:
    # a pool of one connection, reused (redis-py's own connection); or one large enough for
    # the script to have a connection of its own (pipe.py)
    size = 1 if request.param == "pool" else MIN_POOL
    connected = connect_redis(server.url, max_connections=size)
    assert isinstance(connected, Redis)
    assert (PackedScript(connected, connected.register_script(ECHO))._pipe is None) == (
        request.param == "pool"
    )
    try:
        yield connected
    finally:
        await connected.aclose()


@pytest.mark.parametrize(
    "args",
    [("EVALSHA", "0" * 40, "0"), ("GET", "authgate:{ü-ser}:s"), ("SET", "k", "", "é" * 300)],
)
def test_pack_sends_what_redis_py_sends(args: tuple[str, ...]) -> None:
    assert pack(*args) == b"".join(Connection().pack_command(*args))


async def test_keys_and_arguments_arrive_in_order(client: Redis) -> None:
    call = PackedScript(client, client.register_script(ECHO))
    keys = [f"authgate:{{user-{i}}}:s" for i in range(40)]
    args = [f"sid-{i}-ü" for i in range(40)]
    assert await call(keys, args) == [f"{k}={a}" for k, a in zip(keys, args, strict=True)]


async def test_a_flushed_script_cache_is_loaded_again(client: Redis, server: RedisServer) -> None:
    call = PackedScript(client, client.register_script(ECHO))
    assert await call(["k"], ["1"]) == ["k=1"]  # loads it the first time too
    with server.client() as admin:
        admin.script_flush()
        assert admin.script_exists(call.script.sha) == [False]
    assert await call(["k"], ["2"]) == ["k=2"]


async def test_a_killed_connection_is_replaced_once(client: Redis, server: RedisServer) -> None:
    call = PackedScript(client, client.register_script(ECHO))
    assert await call(["k"], ["1"]) == ["k=1"]
    with server.client() as admin:
        killed = admin.client_kill_filter(_type="normal", skipme=True)
    assert killed >= 1  # the connection the call used, now broken under it
    assert await call(["k"], ["2"]) == ["k=2"]


async def test_a_cancelled_call_leaves_no_reply_behind_for_the_next(client: Redis) -> None:
    slow = PackedScript(client, client.register_script(SLOW))
    echo = PackedScript(client, client.register_script(ECHO))
    assert await echo(["k"], ["0"]) == ["k=0"]  # both scripts loaded, one connection
    assert await slow([], []) == "slow"
    task = asyncio.create_task(slow([], []))
    await asyncio.sleep(0.1)  # the call is sent and its reply not back yet
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    # the same (only) connection of the pool, or its replacement: never 'slow'
    assert await echo(["k"], ["1"]) == ["k=1"]


async def test_a_stopped_redis_fails_the_call_and_a_restarted_one_answers(
    client: Redis, server: RedisServer
) -> None:
    call = PackedScript(client, client.register_script(ECHO))
    assert await call(["k"], ["1"]) == ["k=1"]
    server.stop()
    with pytest.raises((RedisConnectionError, redis.exceptions.TimeoutError)):
        await call(["k"], ["2"])
    server.start()  # empty: the script is gone with the old process
    assert await call(["k"], ["3"]) == ["k=3"]


async def test_overlapping_calls_each_get_their_own_reply(client: Redis) -> None:
    call = PackedScript(client, client.register_script(ECHO))
    replies = await asyncio.gather(*(call([f"k{i}"], [str(i)]) for i in range(200)))
    assert replies == [[f"k{i}={i}"] for i in range(200)]


async def test_a_hung_redis_times_out_and_the_next_call_answers(
    client: Redis, server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    call = PackedScript(client, client.register_script(ECHO))
    assert await call(["k"], ["1"]) == ["k=1"]
    if call._pipe is not None:
        monkeypatch.setattr(call._pipe, "_timeout", 0.3)
    else:
        for connection in client.connection_pool._available_connections:
            monkeypatch.setattr(connection, "socket_timeout", 0.3)
    server.pause()
    try:
        with pytest.raises(redis.exceptions.TimeoutError):
            await call(["k"], ["2"])
    finally:
        server.resume()
    assert await call(["k"], ["3"]) == ["k=3"]


async def test_the_pipe_keeps_within_the_pool_s_connections(server: RedisServer) -> None:
    connected = connect_redis(server.url, max_connections=MIN_POOL)
    assert isinstance(connected, Redis)
    try:
        call = PackedScript(connected, connected.register_script(ECHO))
        assert call._pipe is not None
        await call(["k"], ["1"])
        # everything else shares what is left: MIN_POOL in all, the pipe's one included
        await asyncio.gather(*(connected.blpop([f"nothing-{i}"], 0.2) for i in range(10)))
        with server.client() as admin:
            assert len(admin.client_list(_type="normal")) == MIN_POOL + 1  # + admin itself
    finally:
        await connected.aclose()
