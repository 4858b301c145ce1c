"""Login does not tell an unknown user from a wrong password, not even by its timing.

At the production bcrypt cost (12) an unknown username is verified against a dummy hash,
so both failures spend one bcrypt verification and answer the same 401 (contract §6).
"""

from __future__ import annotations

import secrets
import statistics
import time

import httpx

from tests.conftest import (
    ClientFactory,
    GateFactory,
    redis_prefix_for_run,
    register,
    unique_username,
)

WARM_UPS = 2
ROUNDS = 12
MAX_RELATIVE_DIFFERENCE = 0.25


async def timed_login(client: httpx.AsyncClient, username: str) -> tuple[float, httpx.Response]:
    started = time.perf_counter()
    response = await client.post(
        "/auth/login", json={"username": username, "password": "not the password at all"}
    )
    return time.perf_counter() - started, response


async def test_unknown_user_and_wrong_password_look_and_take_the_same(
    make_gate: GateFactory, make_client: ClientFactory
) -> None:
    gate = await make_gate(
        bcrypt_rounds=12,
        login_max_failures=1000,
        login_max_failures_per_ip=1000,
        # own throttle counters: these failures must not lock the client IP for other tests
        redis_prefix=f"{redis_prefix_for_run()}-timing-{secrets.token_hex(4)}",
    )
    client = make_client(gate)
    known = (await register(client)).username
    unknown = unique_username("nobody")

    for _ in range(WARM_UPS):  # the first unknown login also creates the dummy hash
        await timed_login(client, unknown)
        await timed_login(client, known)
    times: dict[str, list[float]] = {"unknown": [], "known": []}
    bodies: dict[str, list[object]] = {"unknown": [], "known": []}
    for round_number in range(ROUNDS):
        # alternate which goes first, so neither always runs on a warmer cache
        order = [("unknown", unknown), ("known", known)]
        for label, username in order if round_number % 2 == 0 else order[::-1]:
            elapsed, response = await timed_login(client, username)
            assert response.status_code == 401, response.text
            times[label].append(elapsed)
            bodies[label].append(response.json())

    expected: dict[str, object] = {
        "statusCode": 401,
        "data": None,
        "message": "Invalid user credentials",
        "success": False,
        "errors": [],
    }
    assert all(body == expected for body in bodies["unknown"] + bodies["known"])
    unknown_median = statistics.median(times["unknown"])
    known_median = statistics.median(times["known"])
    ratio = unknown_median / known_median
    difference = abs(unknown_median - known_median) / max(unknown_median, known_median)
    assert difference < MAX_RELATIVE_DIFFERENCE, (
        f"unknown user median {unknown_median * 1000:.1f} ms, wrong password median "
        f"{known_median * 1000:.1f} ms: ratio {ratio:.2f}"
    )
    # Both really ran bcrypt at cost 12 (tens of milliseconds at least), not a shortcut.
    assert min(unknown_median, known_median) > 0.02
