"""Logins at the production bcrypt cost, and what a stream of them does to authenticated
requests: their p99 during a login stream against their idle p99, in interleaved rounds."""

from __future__ import annotations

import subprocess
import sys
import time

from bench.options import CONNECTIONS, Options, median
from bench.report import Row
from bench.servers import (
    PASSWORD,
    SERVER_CORE,
    example_environment,
    logged_in_users,
    stage,
    uvicorn_server,
    write_lines,
)
from bench.throughput import checked
from bench.wrk import WrkResult, finish, run_wrk, start_wrk

COST = 12
USERS = 8
P99_TARGET = 2.0  # p99 during the login stream ≤ 2 × idle p99 (3 × is the floor)

# one bcrypt check at COST on the server's core: what a login cannot beat
_BCRYPT_RATE = """
import sys, time, bcrypt
hashed = bcrypt.hashpw(b"reference", bcrypt.gensalt(int(sys.argv[1])))
start, checks = time.perf_counter(), 0
while checks < 3 or time.perf_counter() - start < float(sys.argv[2]):
    bcrypt.checkpw(b"reference", hashed)
    checks += 1
print(checks / (time.perf_counter() - start))
"""


def bcrypt_checks_per_second(seconds: float) -> float:
    """bcrypt checks per second at ``COST``, on the server's core, with nothing else running."""
    done = subprocess.run(
        ["taskset", "-c", SERVER_CORE, sys.executable, "-c", _BCRYPT_RATE, str(COST), str(seconds)],
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 60,
    )
    return float(done.stdout.strip())


def logins_ok(result: WrkResult, *, some: bool = True) -> WrkResult:
    """``result`` of a login run, if no login failed (and, if ``some``, some succeeded)."""
    if result.bad or result.socket_errors or (some and not result.ok):
        raise RuntimeError(f"logins: {result.ok} succeeded, {result.bad} failed")
    return result


def measure_logins(options: Options, baseline: float) -> list[Row]:
    """Logins per second, and the authenticated p99 with and without a login stream."""
    bcrypt_rate = bcrypt_checks_per_second(options.seconds)
    with (
        stage("logins", options.workdir) as where,
        uvicorn_server(
            "app_example.main:app",
            options.workdir,
            example_environment(where, BCRYPT_ROUNDS=COST),
        ) as url,
    ):
        users = logged_in_users(url, USERS)
        accounts = write_lines(
            options.workdir / "logins.txt", [f"{user['username']} {PASSWORD}" for user in users]
        )
        tokens = write_lines(
            options.workdir / "login-tokens.txt", [user["accessToken"] for user in users]
        )

        def login_stream(seconds: float) -> WrkResult:
            return logins_ok(
                run_wrk(
                    f"{url}/auth/login",
                    seconds=seconds,
                    connections=options.login_clients,
                    workload="login",
                    args=[str(accounts)],
                    workdir=options.workdir,
                )
            )

        def profile(seconds: float) -> WrkResult:
            return run_wrk(
                f"{url}/api/profile",
                seconds=seconds,
                connections=CONNECTIONS,
                workload="bearer",
                args=[str(tokens)],
                workdir=options.workdir,
            )

        logins = login_stream(max(options.seconds * 2, 10))  # 4 logins in flight take a while
        # the logins still in flight when wrk stops finish on the server: wait them out
        settle = 1 + options.login_clients / bcrypt_rate
        time.sleep(settle)
        profile(1)  # warm-up: connections, the user cache
        idle: list[WrkResult] = []
        loaded: list[WrkResult] = []
        for _ in range(options.rounds):
            idle.append(checked(profile(options.seconds), "authenticated, idle"))
            stream = start_wrk(
                f"{url}/auth/login",
                seconds=options.seconds + 2,
                connections=options.login_clients,
                workload="login",
                args=[str(accounts)],
                workdir=options.workdir,
            )
            time.sleep(1)  # the stream is running before the measurement starts
            loaded.append(checked(profile(options.seconds), "authenticated during logins"))
            # a starved core may finish no login inside the window; none may fail
            logins_ok(finish(stream, options.seconds + 2), some=False)
            time.sleep(settle)
    login_rate = logins.ok_per_second
    idle_p99 = median([result.p99_us for result in idle]) / 1000
    loaded_p99 = median([result.p99_us for result in loaded]) / 1000
    p99_ratio = loaded_p99 / idle_p99
    loaded_rate = median([result.per_second for result in loaded])
    return [
        Row(
            f"logins at bcrypt cost {COST} ({options.login_clients} clients)",
            f"{login_rate:.1f} /s = {login_rate / bcrypt_rate:.2f} × one bcrypt check/s "
            f"on that core ({bcrypt_rate:.1f} /s)",
        ),
        Row(
            "authenticated p99 during that login stream, against idle p99",
            f"{p99_ratio:.2f} × ({idle_p99:.1f} → {loaded_p99:.1f} ms)",
            None,
            f"≤ {P99_TARGET:g}× idle",
            p99_ratio <= P99_TARGET,
            budget=p99_ratio / P99_TARGET,
            label="p99 during logins / idle p99",
        ),
        Row(
            "authenticated `GET /api/profile` req/s during the login stream",
            f"{loaded_rate:,.0f} req/s",
            loaded_rate / baseline,
            label="authenticated, during logins",
        ),
    ]
