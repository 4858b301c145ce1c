"""Requests per second over HTTP: the no-auth baseline, the example's public endpoint, and
authenticated ``GET /api/profile`` with the user cache on and off, in interleaved rounds."""

from __future__ import annotations

from contextlib import ExitStack

from bench.options import CONNECTIONS, Options, median
from bench.report import Row
from bench.servers import (
    example_environment,
    logged_in_users,
    stage,
    uvicorn_server,
    write_lines,
)
from bench.wrk import WrkResult, run_wrk

TARGET = 0.65  # authenticated ≥ 0.65 × the baseline's req/s (0.75 the aim, 0.5 the floor)


def checked(result: WrkResult, what: str) -> WrkResult:
    """``result``, if every request was answered 2xx."""
    if result.non_2xx or result.socket_errors or not result.requests:
        raise RuntimeError(
            f"{what}: {result.non_2xx} non-2xx answers and {result.socket_errors} socket "
            f"errors in {result.requests} requests"
        )
    return result


def measure_throughput(options: Options) -> tuple[float, list[Row]]:
    """The baseline's req/s and the rows of this phase."""
    with ExitStack() as stack:
        cached = stack.enter_context(stage("cache_on", options.workdir))
        uncached = stack.enter_context(stage("cache_off", options.workdir))
        baseline_url = stack.enter_context(uvicorn_server("bench.baseline:app", options.workdir))
        servers = {
            name: stack.enter_context(
                uvicorn_server(
                    "app_example.main:app",
                    options.workdir,
                    example_environment(where, BCRYPT_ROUNDS=4, USER_CACHE_SECONDS=cache),
                )
            )
            for name, where, cache in (("on", cached, 30), ("off", uncached, 0))
        }
        tokens = {
            name: write_lines(
                options.workdir / f"tokens-{name}.txt",
                [user["accessToken"] for user in logged_in_users(url, options.users)],
            )
            for name, url in servers.items()
        }
        cases: dict[str, tuple[str, str | None, list[str]]] = {
            "baseline": (f"{baseline_url}/", None, []),
            "public": (f"{servers['on']}/health", None, []),
            "cache on": (f"{servers['on']}/api/profile", "bearer", [str(tokens["on"])]),
            "cache off": (f"{servers['off']}/api/profile", "bearer", [str(tokens["off"])]),
        }
        samples: dict[str, list[float]] = {name: [] for name in cases}
        for url, workload, args in cases.values():  # warm-up: connections, caches
            run_wrk(
                url,
                seconds=1,
                connections=CONNECTIONS,
                workload=workload,
                args=args,
                workdir=options.workdir,
            )
        for _ in range(options.rounds):  # interleaved, so drift hits every case alike
            for name, (url, workload, args) in cases.items():
                result = run_wrk(
                    url,
                    seconds=options.seconds,
                    connections=CONNECTIONS,
                    workload=workload,
                    args=args,
                    workdir=options.workdir,
                )
                samples[name].append(checked(result, name).per_second)
    rates = {name: median(values) for name, values in samples.items()}
    baseline = rates["baseline"]
    cache_on = rates["cache on"] / baseline
    rows = [
        Row(
            "plain Starlette JSON endpoint, no auth (baseline)",
            f"{baseline:,.0f} req/s",
            1.0,
            label="no-auth Starlette (baseline)",
        ),
        Row(
            "example's public `GET /health` (Redis PING + SQL)",
            f"{rates['public']:,.0f} req/s",
            rates["public"] / baseline,
            label="example GET /health",
        ),
        Row(
            "authenticated `GET /api/profile`, Bearer, user cache on",
            f"{rates['cache on']:,.0f} req/s",
            cache_on,
            f"≥ {TARGET}×",
            cache_on >= TARGET,
            budget=TARGET / cache_on,
            label="authenticated, user cache on",
        ),
        Row(
            "authenticated `GET /api/profile`, user cache off (SQL each time)",
            f"{rates['cache off']:,.0f} req/s",
            rates["cache off"] / baseline,
            label="authenticated, user cache off",
        ),
    ]
    return baseline, rows
