"""Live sessions without bcrypt: created through the session store (as a login creates
them), and multiplied by copying the seeded users' keys inside Redis."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable
from importlib.resources import files
from typing import Any

import redis

from authgate import AuthGate, Settings
from authgate.service import AuthService
from authgate.sessions.layout import user_tag
from authgate.sessions.protocol import ClientInfo, RotationOutcome
from authgate.tokens import TokenKind, new_session_id
from bench.servers import Stage, example_environment

# a browser's user agent of 120 characters (Chrome 131 as Edge on Windows)
USER_AGENT = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36 Edg/13.0"
)
assert len(USER_AGENT) == 120
BATCH = 40  # in flight at once: within the client's pool (a burst beyond it waits, then fails)


CLIENT = ClientInfo(ip="203.0.113.7", user_agent=USER_AGENT)
Seeded = tuple[str, str, str]  # a session's user id, sid and current refresh jti


async def _each(
    where: Stage, items: list[Any], one: Callable[[AuthService, Any], Awaitable[None]]
) -> None:
    """``one(service, item)`` for every item, ``BATCH`` at a time, on a gate of the stage."""
    gate = AuthGate(Settings.from_env(example_environment(where)))
    try:
        for start in range(0, len(items), BATCH):
            await asyncio.gather(
                *(one(gate.service, item) for item in items[start : start + BATCH])
            )
    finally:
        await gate.shutdown()


def create_sessions(where: Stage, count: int) -> tuple[list[Seeded], float]:
    """``count`` new users with one live session each, opened through the session store as
    a login opens them; the sessions and the seconds it took."""
    seeded: list[Seeded] = []

    async def one(service: AuthService, user_id: str) -> None:
        sid = new_session_id()
        refresh = service.tokens.new_claims(TokenKind.REFRESH, sub=user_id, sid=sid)
        await service.sessions.create(user_id, sid, refresh.jti, refresh.iat, refresh.exp, CLIENT)
        seeded.append((user_id, sid, refresh.jti))

    started = time.perf_counter()
    asyncio.run(_each(where, [str(uuid.uuid4()) for _ in range(count)], one))
    return seeded, time.perf_counter() - started


def refresh_sessions(where: Stage, seeded: list[Seeded]) -> float:
    """Rotate every seeded session once through the session store, as a refresh does (a
    session that has been refreshed is the usual live one); the seconds it took."""

    async def one(service: AuthService, session: Seeded) -> None:
        user_id, sid, jti = session
        fresh = service.tokens.new_claims(TokenKind.REFRESH, sub=user_id, sid=sid)
        rotation = await service.sessions.rotate(
            user_id, sid, jti, fresh.jti, fresh.iat, fresh.exp, CLIENT
        )
        if rotation.outcome is not RotationOutcome.ROTATED:
            raise RuntimeError(f"a seeded session did not rotate: {rotation.outcome}")

    started = time.perf_counter()
    asyncio.run(_each(where, seeded, one))
    return time.perf_counter() - started


def keys_of(client: redis.Redis, where: Stage, users: list[str]) -> list[bytes]:
    """Every key that carries the hash tag of one of ``users`` (``layout.user_tag``)."""
    wanted = {user_tag(user).encode() for user in users}
    found: list[bytes] = []
    for key in client.scan_iter(match=f"{where.prefix}*", count=5000):
        tag = key.partition(b"{")[2].partition(b"}")[0]
        if tag in wanted:
            found.append(key)
    return found


def kind_of(key: bytes) -> str:
    """A key's kind: the word after its hash tag (``s``, ``user``, ``onetime``...)."""
    return key.partition(b"}")[2].decode().strip(":").split(":")[0]


def memory_usage(client: redis.Redis, keys: list[bytes]) -> dict[str, int]:
    """The sum of ``MEMORY USAGE`` (every element counted) over ``keys``, per kind of key."""
    totals: dict[str, int] = defaultdict(int)
    for start in range(0, len(keys), 5000):
        chunk = keys[start : start + 5000]
        pipe = client.pipeline(transaction=False)
        for key in chunk:
            pipe.memory_usage(key, samples=0)
        for key, size in zip(chunk, pipe.execute(), strict=True):
            totals[kind_of(key)] += int(size or 0)
    return dict(totals)


def used_memory(client: redis.Redis) -> int:
    """``INFO memory`` ``used_memory`` in bytes."""
    return int(client.info("memory")["used_memory"])


def clone_users(client: redis.Redis, keys: list[bytes], copies: int) -> float:
    """Copy every key in ``keys`` ``copies`` times under new user ids; the seconds it took."""
    script = client.register_script(
        files("bench").joinpath("lua", "clone_users.lua").read_text(encoding="utf-8")
    )
    tag = uuid.uuid4().hex[:6]
    started = time.perf_counter()
    for start in range(0, len(keys), 1000):
        script(keys=keys[start : start + 1000], args=[copies, tag])
    return time.perf_counter() - started
