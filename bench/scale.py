"""Redis memory per live session, and authenticated latency with 1,000 and with 1,000,000
live sessions, on a private Redis server the phase starts (the machine's Redis is not
filled). Sessions are seeded without bcrypt: through the session store, then multiplied by
copying the seeded users' keys inside Redis."""

from __future__ import annotations

import math

from bench.options import CONNECTIONS, Options, median
from bench.report import Row
from bench.seeding import (
    USER_AGENT,
    clone_users,
    create_sessions,
    keys_of,
    memory_usage,
    refresh_sessions,
    used_memory,
)
from bench.servers import example_environment, logged_in_users, stage, uvicorn_server, write_lines
from bench.throughput import checked
from bench.wrk import WrkResult, run_wrk
from tests.processes import RedisServer

BYTES_TARGET = 200  # by MEMORY USAGE of the users' keys, per session
FLAT_TARGET = 1.25  # "flat": the large case's median latency within 1.25 × the small one's


def measure_sessions(options: Options, baseline: float) -> list[Row]:
    """Bytes per session, and authenticated throughput and latency at two session counts."""
    with (
        RedisServer(options.workdir) as private,
        # the private server holds nothing else: the default prefix, which is part of every
        # key and so of the bytes measured
        stage("sessions", options.workdir, redis_url=private.url, prefix="authgate") as where,
        uvicorn_server(
            "app_example.main:app",
            options.workdir,
            example_environment(where, BCRYPT_ROUNDS=4),
        ) as url,
        private.client() as client,
    ):
        users = logged_in_users(url, options.users)
        tokens = write_lines(
            options.workdir / "scale-tokens.txt", [user["accessToken"] for user in users]
        )

        def profile(seconds: float) -> WrkResult:
            result = run_wrk(
                f"{url}/api/profile",
                seconds=seconds,
                connections=CONNECTIONS,
                workload="bearer",
                args=[str(tokens)],
                workdir=options.workdir,
            )
            return checked(result, "authenticated with many sessions")

        create_sessions(where, options.small_sessions - len(users))
        profile(1)  # warm-up
        small = [profile(options.seconds) for _ in range(options.rounds)]

        before = used_memory(client)
        sessions, seconds_seeding = create_sessions(where, options.memory_sessions)
        seeded = [user_id for user_id, _, _ in sessions]
        delta = (used_memory(client) - before) / len(seeded)
        keys = keys_of(client, where, seeded)
        usage = sum(memory_usage(client, keys).values()) / len(seeded)
        seconds_refreshing = refresh_sessions(where, sessions)
        refreshed_delta = (used_memory(client) - before) / len(seeded)
        refreshed_usage = sum(memory_usage(client, keys).values()) / len(seeded)

        copies = math.ceil(
            (options.large_sessions - options.small_sessions - len(seeded)) / len(seeded)
        )
        seconds_cloning = clone_users(client, keys, copies)
        live = options.small_sessions + len(seeded) * (copies + 1)
        profile(1)
        large = [profile(options.seconds) for _ in range(options.rounds)]

    def summary(results: list[WrkResult]) -> tuple[float, float, float]:
        return (
            median([result.per_second for result in results]),
            median([result.p50_us for result in results]) / 1000,
            median([result.p99_us for result in results]) / 1000,
        )

    small_rate, small_p50, small_p99 = summary(small)
    large_rate, large_p50, large_p99 = summary(large)
    flat = large_p50 / small_p50
    return [
        Row(
            f"Redis bytes per live session ({len(seeded):,} sessions, one per user, "
            f"{len(USER_AGENT)}-char user agent), as login opened them: `MEMORY USAGE` of "
            "their keys / n",
            f"{usage:.0f} B (`used_memory` delta / n, Redis's own key tables included: "
            f"{delta:.0f} B; seeded through the store in {seconds_seeding:.0f} s)",
            None,
            f"≤ {BYTES_TARGET} B",
            usage <= BYTES_TARGET,
            budget=usage / BYTES_TARGET,
            label="bytes/session, opened",
        ),
        Row(
            "the same sessions after one refresh each (a previous `jti` kept, a last use): "
            "`MEMORY USAGE` / n",
            f"{refreshed_usage:.0f} B (`used_memory` delta / n: {refreshed_delta:.0f} B; "
            f"refreshed through the store in {seconds_refreshing:.0f} s)",
            None,
            f"≤ {BYTES_TARGET} B",
            refreshed_usage <= BYTES_TARGET,
            budget=refreshed_usage / BYTES_TARGET,
            label="bytes/session, refreshed",
        ),
        Row(
            f"authenticated `GET /api/profile` with {options.small_sessions:,} live sessions",
            f"{small_rate:,.0f} req/s, p50 {small_p50:.1f} ms, p99 {small_p99:.1f} ms",
            small_rate / baseline,
            label=f"authenticated, {options.small_sessions:,} sessions",
        ),
        Row(
            f"authenticated `GET /api/profile` with {live:,} live sessions",
            f"{large_rate:,.0f} req/s, p50 {large_p50:.1f} ms, p99 {large_p99:.1f} ms "
            f"(copied in {seconds_cloning:.0f} s)",
            large_rate / baseline,
            label=f"authenticated, {live:,} sessions",
        ),
        Row(
            f"latency with {live:,} against {options.small_sessions:,} sessions (p50)",
            f"{flat:.2f} × (p99 {large_p99 / small_p99:.2f} ×)",
            None,
            f"≈ 1 (≤ {FLAT_TARGET}×)",
            flat <= FLAT_TARGET,
            budget=flat / FLAT_TARGET,
            label="latency large / small",
        ),
    ]
