"""What the middleware costs per request, against real PostgreSQL and Redis.

Runs in one process, through the ASGI app, and reports ratios against a baseline measured
in the same run (a public endpoint behind the same middleware, no token):

    uv run python -m bench.hot_path [--requests 2000] [--rounds 3]

It also counts the Redis commands and database queries per authenticated request, which is
what the contract bounds (one Redis round trip; the database only on a user-cache miss).
Uses ``AUTHGATE_TEST_DATABASE_URL`` / ``AUTHGATE_TEST_REDIS_URL`` like the tests, in a
database and a key prefix of its own, removed at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import httpx
from sqlalchemy import event
from sqlalchemy.engine import make_url
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

from authgate import AuthGate, Settings, principal_of

ADMIN_URL = os.environ.get(
    "AUTHGATE_TEST_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("AUTHGATE_TEST_REDIS_URL", "redis://127.0.0.1:6379").rstrip("/")
PASSWORD = "correct horse battery"  # noqa: S105 - a throwaway account of the bench


async def public(request: Request) -> Response:
    return JSONResponse({"ok": True})


async def me(request: Request) -> Response:
    return JSONResponse({"id": principal_of(request).user.id})


def bench_app(gate: AuthGate) -> Starlette:
    redis_client = gate.redis
    assert redis_client is not None

    async def one_round_trip(request: Request) -> Response:
        await redis_client.ping()
        return JSONResponse({"ok": True})

    return Starlette(
        routes=[
            Route("/public", public),
            Route("/public/ping", one_round_trip),
            Route("/api/me", me),
            Mount("/auth", app=gate.router()),
        ],
        middleware=[gate.middleware(protect=["/api"])],
        exception_handlers=gate.exception_handlers,
    )


async def admin(statement: str) -> None:
    dsn = make_url(ADMIN_URL).set(drivername="postgresql").render_as_string(hide_password=False)
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


async def timed(call: Callable[[], Awaitable[httpx.Response]], requests: int) -> float:
    """Seconds per request, over ``requests`` sequential calls (all must be 200)."""
    start = time.perf_counter()
    for _ in range(requests):
        response = await call()
        if response.status_code != 200:
            raise RuntimeError(f"unexpected {response.status_code}: {response.text[:200]}")
    return (time.perf_counter() - start) / requests


async def run(requests: int, rounds: int) -> None:
    run_id = uuid.uuid4().hex[:8]
    database = f"authgate_bench_{run_id}"
    await admin(f'CREATE DATABASE "{database}"')
    database_url = make_url(ADMIN_URL).set(database=database).render_as_string(False)
    base = Settings(
        access_token_secret="bench-access-" + "a" * 40,
        refresh_token_secret="bench-refresh-" + "r" * 40,
        database_url=database_url,
        redis_url=f"{REDIS_URL}/10",
        redis_prefix=f"authgate-bench-{run_id}",
        bcrypt_rounds=4,
    )
    cached = AuthGate(base)
    uncached = AuthGate(dataclasses.replace(base, user_cache_seconds=0))
    try:
        await cached.startup()
        await uncached.startup()
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=bench_app(cached)), base_url="http://bench"
        )
        client_nocache = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=bench_app(uncached)), base_url="http://bench"
        )
        username = f"bench_{run_id}"
        await client.post(
            "/auth/register",
            json={
                "username": username,
                "email": f"{username}@example.com",
                "fullName": "Bench",
                "password": PASSWORD,
            },
        )
        login = await client.post("/auth/login", json={"username": username, "password": PASSWORD})
        token = login.json()["data"]["accessToken"]
        client.cookies.clear()
        bearer = {"Authorization": f"Bearer {token}"}

        cases: dict[str, Callable[[], Awaitable[httpx.Response]]] = {
            "public, no token (baseline)": lambda: client.get("/public"),
            "public + one Redis PING (reference)": lambda: client.get("/public/ping"),
            "authenticated, user cache hit": lambda: client.get("/api/me", headers=bearer),
            "authenticated, cache off (db)": lambda: client_nocache.get("/api/me", headers=bearer),
        }
        for call in cases.values():  # warm up connections and caches
            await timed(call, 50)
        samples: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(rounds):  # interleaved, so drift hits every case alike
            for name, call in cases.items():
                samples[name].append(await timed(call, requests))

        redis_calls, db_queries = await count_backend_calls(cached, client, bearer)
        _, db_queries_nocache = await count_backend_calls(uncached, client_nocache, bearer)

        baseline = statistics.median(samples["public, no token (baseline)"])
        print(f"{requests} sequential requests x {rounds} rounds, median per case, in-process ASGI")
        print(f"{'case':34} {'ratio to baseline':>18}")
        for name, values in samples.items():
            print(f"{name:34} {statistics.median(values) / baseline:>17.2f}x")
        print(f"Redis commands per authenticated request (cache hit): {redis_calls:.2f}")
        print(f"database queries per authenticated request (cache hit): {db_queries:.2f}")
        print(f"database queries per authenticated request (cache off): {db_queries_nocache:.2f}")
        await client.aclose()
        await client_nocache.aclose()
    finally:
        if cached.redis is not None:  # the bench's sessions and throttle counters
            async for key in cached.redis.scan_iter(match=f"{base.redis_prefix}*"):
                await cached.redis.delete(key)
        await cached.shutdown()
        await uncached.shutdown()
        await admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


async def count_backend_calls(
    gate: AuthGate, client: httpx.AsyncClient, headers: dict[str, str], requests: int = 200
) -> tuple[float, float]:
    """Redis commands (client side) and SQL statements per authenticated request."""
    assert gate.redis is not None
    assert gate.engine is not None
    redis_client = gate.redis
    original = redis_client.execute_command
    counts = {"redis": 0, "sql": 0}

    async def counting(*args: Any, **options: Any) -> Any:
        counts["redis"] += 1
        return await original(*args, **options)

    def on_sql(*args: object) -> None:
        counts["sql"] += 1

    redis_client.execute_command = counting  # type: ignore[method-assign]
    event.listen(gate.engine.sync_engine, "before_cursor_execute", on_sql)
    try:
        for _ in range(requests):
            await client.get("/api/me", headers=headers)
    finally:
        redis_client.execute_command = original  # type: ignore[method-assign]
        event.remove(gate.engine.sync_engine, "before_cursor_execute", on_sql)
    return counts["redis"] / requests, counts["sql"] / requests


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(run(args.requests, args.rounds))


if __name__ == "__main__":
    main()
