"""What a phase stands on: its own PostgreSQL database, its own Redis prefix, and uvicorn
servers pinned to the server's core. Everything started here is stopped again."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import redis
from sqlalchemy.engine import make_url

from authgate.migrations import upgrade
from authgate.redis.connect import CLUSTER_SCHEMES
from tests.processes import free_port, stop_process, wait_until_serving

SERVER_CORE = "0"  # wrk runs on core 1
ADMIN_URL = os.environ.get(
    "AUTHGATE_TEST_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("AUTHGATE_TEST_REDIS_URL", "redis://127.0.0.1:6379").rstrip("/")
REDIS_DB = 11
PASSWORD = "correct horse battery"  # noqa: S105 - the bench's throwaway accounts


def _dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def _admin(statement: str) -> None:
    connection = await asyncpg.connect(_dsn(ADMIN_URL))
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@dataclass(frozen=True, slots=True)
class Stage:
    """One phase's database URL, Redis URL and key prefix, and its scratch directory."""

    database_url: str
    redis_url: str
    prefix: str
    workdir: Path


@contextmanager
def stage(
    name: str, workdir: Path, redis_url: str | None = None, prefix: str | None = None
) -> Iterator[Stage]:
    """A migrated database and a Redis prefix of the phase's own (``prefix`` on a Redis that
    holds nothing else), dropped and deleted after."""
    run = f"{name}_{uuid.uuid4().hex[:8]}"
    database = f"authgate_bench_{run}"
    asyncio.run(_admin(f'CREATE DATABASE "{database}"'))
    url = make_url(ADMIN_URL).set(database=database).render_as_string(hide_password=False)
    redis_url = redis_url or f"{REDIS_URL}/{REDIS_DB}"
    prefix = prefix or f"authgate-bench-{run}"
    try:
        asyncio.run(upgrade(url))
        yield Stage(url, redis_url, prefix, workdir)
    finally:
        delete_prefix(redis_url, prefix)
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))


def sync_client(redis_url: str) -> redis.Redis | redis.RedisCluster:
    """A synchronous client of ``redis_url``; of the whole cluster for ``redis+cluster://``."""
    parts = urlsplit(redis_url)
    if parts.scheme in CLUSTER_SCHEMES:
        seed = urlunsplit(parts._replace(scheme=CLUSTER_SCHEMES[parts.scheme]))
        return redis.RedisCluster.from_url(seed)
    return redis.Redis.from_url(redis_url)


def delete_prefix(redis_url: str, prefix: str) -> None:
    """Delete every key under ``prefix``, a thousand at a time (there may be millions), on
    every primary of a cluster."""
    client = sync_client(redis_url)
    try:
        batch: list[bytes] = []
        for key in client.scan_iter(match=f"{prefix}*", count=1000):
            batch.append(key)
            if len(batch) == 1000:
                client.unlink(*batch)
                batch = []
        if batch:
            client.unlink(*batch)
    finally:
        client.close()


def example_environment(where: Stage, **settings: str | int) -> dict[str, str]:
    """The example app's environment for ``where``; ``settings`` are ``AUTHGATE_*`` names
    without the prefix (``USER_CACHE_SECONDS=0``)."""
    environment = {
        "DATABASE_URL": where.database_url,
        "REDIS_URL": where.redis_url,
        "ACCESS_TOKEN_SECRET": "bench-access-" + "a" * 40,
        "REFRESH_TOKEN_SECRET": "bench-refresh-" + "r" * 40,
        "AUTHGATE_REDIS_PREFIX": where.prefix,
        # the bench logs in many times from one IP: it measures bcrypt, not the throttle
        "AUTHGATE_LOGIN_MAX_FAILURES": "1000000",
        "AUTHGATE_LOGIN_MAX_FAILURES_PER_IP": "1000000",
    }
    environment.update({f"AUTHGATE_{name}": str(value) for name, value in settings.items()})
    return environment


@contextmanager
def pinned_server(
    module: str, arguments: list[str], port: int, workdir: Path, environment: dict[str, str]
) -> Iterator[subprocess.Popen[bytes]]:
    """``python -m module *arguments`` pinned to ``SERVER_CORE``, once it serves HTTP on
    ``port``; stopped on exit. Its output goes to a log in ``workdir``."""
    log = workdir / f"{module}-{port}.log"
    command = ["taskset", "-c", SERVER_CORE, sys.executable, "-m", module, *arguments]
    env = {**os.environ, **environment}
    with log.open("wb") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, env=env)
    try:
        wait_until_serving(f"http://127.0.0.1:{port}", process, log, timeout=60)
        yield process
    finally:
        stop_process(process)


@contextmanager
def uvicorn_server(
    app: str, workdir: Path, environment: dict[str, str] | None = None
) -> Iterator[str]:
    """``app`` served by one uvicorn worker pinned to ``SERVER_CORE``; yields its base URL."""
    port = free_port()
    arguments = [app, "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
    arguments += ["--no-access-log", "--log-level", "warning"]
    with pinned_server("uvicorn", arguments, port, workdir, environment or {}):
        yield f"http://127.0.0.1:{port}"


async def _account(client: httpx.AsyncClient, username: str) -> dict[str, str]:
    response = await client.post(
        "/auth/register",
        json={
            "username": username,
            "email": f"{username}@example.com",
            "fullName": "Bench User",
            "password": PASSWORD,
        },
    )
    if response.status_code != 201:
        raise RuntimeError(f"register answered {response.status_code}: {response.text[:300]}")
    response = await client.post("/auth/login", json={"username": username, "password": PASSWORD})
    if response.status_code != 200:
        raise RuntimeError(f"login answered {response.status_code}: {response.text[:300]}")
    client.cookies.clear()  # a later POST with cookies would need an Origin
    data: dict[str, Any] = response.json()["data"]
    return {
        "username": username,
        "userId": str(data["user"]["id"]),
        "accessToken": str(data["accessToken"]),
        "refreshToken": str(data["refreshToken"]),
    }


async def _accounts(url: str, count: int) -> list[dict[str, str]]:
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        stem = uuid.uuid4().hex[:6]
        return [await _account(client, f"bench_{stem}_{i}") for i in range(count)]


def logged_in_users(url: str, count: int) -> list[dict[str, str]]:
    """``count`` new users registered and logged in over HTTP: their ``username``,
    ``userId``, ``accessToken`` and ``refreshToken`` (one session each)."""
    return asyncio.run(_accounts(url, count))


def write_lines(path: Path, lines: list[str]) -> Path:
    """``lines`` into ``path``, one a line (for the Lua scripts)."""
    path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    return path
