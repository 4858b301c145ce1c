"""CPU per round trip of the hot path's script call: redis-py's pool connection against the
connection of its own (``authgate/redis/pipe.py``), in one process, in the same run.

    uv run python -m bench.round_trip [--calls 2000] [--checks 16]

Uses ``AUTHGATE_TEST_REDIS_URL`` (db 11) like the other benchmarks; the process's CPU time
(``time.process_time``) per call, so other load on the machine moves it less than a
wall-clock time.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid

from redis.asyncio import Redis

from authgate.redis.connect import connect_redis
from authgate.redis.wire import PackedScript
from bench.servers import REDIS_URL

# as many GETs as the batch has checks, each of a cached user's size
SCRIPT = "local out = {} for i = 1, #KEYS do out[i] = redis.call('GET', KEYS[i]) end return out"


async def cpu_per_call(call: PackedScript, keys: list[str], calls: int) -> float:
    """Microseconds of this process's CPU per call."""
    await call(keys, [])  # connected, script loaded
    started = time.process_time()
    for _ in range(calls):
        await call(keys, [])
    return (time.process_time() - started) / calls * 1e6


async def run(calls: int, checks: int) -> None:
    client = connect_redis(f"{REDIS_URL}/11")
    assert isinstance(client, Redis)
    key = f"authgate-bench-rt-{uuid.uuid4().hex[:8]}"
    try:
        await client.set(key, "x" * 250, ex=60)
        keys = [key] * checks
        pool_call = PackedScript(client, client.register_script(SCRIPT))
        pool_call._pipe = None  # redis-py's own connection, as a small pool gets
        pipe_call = PackedScript(client, client.register_script(SCRIPT))
        assert pipe_call._pipe is not None
        pool_us = await cpu_per_call(pool_call, keys, calls)
        pipe_us = await cpu_per_call(pipe_call, keys, calls)
        print(f"{checks} keys a call, {calls} calls each, CPU per call:")
        print(f"  pool connection (redis-py)  {pool_us:7.1f} µs")
        print(f"  its own connection (pipe)   {pipe_us:7.1f} µs  ({pool_us / pipe_us:.1f}× less)")
    finally:
        await client.delete(key)
        await client.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--checks", type=int, default=16)
    args = parser.parse_args()
    asyncio.run(run(args.calls, args.checks))


if __name__ == "__main__":
    main()
