"""Authenticated requests arriving together: what coalesced session checks buy.

Runs in one process, straight through the ASGI app (no HTTP client in the way), and
reports microseconds per request and the ratio to a public endpoint, for requests sent
one after another and ``--burst`` at once, with the Redis round trips per request:

    uv run python -m bench.concurrent_checks [--requests 3200] [--burst 32]

Uses ``AUTHGATE_TEST_DATABASE_URL`` / ``AUTHGATE_TEST_REDIS_URL`` like ``hot_path.py``, in
a database and a key prefix of its own, removed at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.engine import make_url

from authgate import AuthGate, Settings
from authgate.service.validation import Credentials, Registration
from authgate.sessions import ClientInfo, RedisSessionStore
from bench.hot_path import ADMIN_URL, PASSWORD, REDIS_URL, admin, bench_app

Call = Callable[[], Awaitable[None]]


def asgi_get(app: Any, path: str, headers: list[tuple[bytes, bytes]]) -> Call:
    """One ``GET path`` through ``app``, answered 200 or it raises."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"bench"), *headers],
        "client": ("127.0.0.1", 4711),
        "server": ("bench", 80),
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def call() -> None:
        status: list[int] = []

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])

        await app(dict(scope), receive, send)
        if status != [200]:
            raise RuntimeError(f"{path} answered {status}")

    return call


async def per_request(call: Call, requests: int, burst: int) -> float:
    """Microseconds per request, ``burst`` requests at a time."""
    start = time.perf_counter()
    for _ in range(requests // burst):
        await asyncio.gather(*(call() for _ in range(burst)))
    return (time.perf_counter() - start) / (requests // burst * burst) * 1e6


async def run(requests: int, burst: int) -> None:
    run_id = uuid.uuid4().hex[:8]
    database = f"authgate_bench_{run_id}"
    await admin(f'CREATE DATABASE "{database}"')
    settings = Settings(
        access_token_secret="bench-access-" + "a" * 40,
        refresh_token_secret="bench-refresh-" + "r" * 40,
        database_url=make_url(ADMIN_URL).set(database=database).render_as_string(False),
        redis_url=f"{REDIS_URL}/10",
        redis_prefix=f"authgate-bench-{run_id}",
        bcrypt_rounds=4,
    )
    gate = AuthGate(settings)
    try:
        await gate.startup()
        service = gate.service
        username = f"bench_{run_id}"
        await service.register(
            Registration(username, f"{username}@example.com", "Bench", PASSWORD, None)
        )
        login = await service.login(Credentials(username, PASSWORD), ClientInfo("127.0.0.1"))
        token = login.tokens.access_token.encode()
        app = bench_app(gate)
        public = asgi_get(app, "/public", [])
        authenticated = asgi_get(app, "/api/me", [(b"authorization", b"Bearer " + token)])
        store = service.sessions
        assert isinstance(store, RedisSessionStore)
        print(f"{requests} requests per case, in-process ASGI, microseconds per request")
        print(f"{'case':28} {'public':>8} {'auth':>8} {'ratio':>7} {'Redis trips/req':>16}")
        for label, size in (("one after another", 1), (f"{burst} at once", burst)):
            await per_request(authenticated, size * 20, size)  # warm up
            public_us = await per_request(public, requests, size)
            before = store.checks.batches
            auth_us = await per_request(authenticated, requests, size)
            trips = (store.checks.batches - before) / (requests // size * size)
            ratio = auth_us / public_us
            print(f"{label:28} {public_us:8.0f} {auth_us:8.0f} {ratio:6.2f}x {trips:16.3f}")
    finally:
        if gate.redis is not None:
            async for key in gate.redis.scan_iter(match=f"{settings.redis_prefix}*"):
                await gate.redis.delete(key)
        await gate.shutdown()
        await admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3200)
    parser.add_argument("--burst", type=int, default=32)
    args = parser.parse_args()
    asyncio.run(run(args.requests, args.burst))


if __name__ == "__main__":
    main()
