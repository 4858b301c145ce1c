"""Where an authenticated request's extra time goes, over HTTP: a profiling aid.

    uv run python -m bench.profile [--seconds 15] [--top 40]

Serves the baseline and the example app (user cache on) as the benchmarks do (one uvicorn
worker pinned to core 0, ``wrk -t1 -c32`` on core 1), profiles each with cProfile only
while wrk runs (``bench/profiled_server.py``), and prints, per function, its own time per
request in the example and in the baseline, largest difference first. cProfile slows
Python code far more than C code and system calls, so compare rows with each other, not
with the benchmark's figures.
"""

from __future__ import annotations

import argparse
import os
import pstats
import re
import signal
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bench.options import CONNECTIONS
from bench.servers import (
    example_environment,
    logged_in_users,
    pinned_server,
    stage,
    write_lines,
)
from bench.wrk import WrkResult, run_wrk
from tests.processes import free_port

FILE_WAIT_SECONDS = 30.0
# where installed and standard-library modules live: cut, leaving e.g. "json/encoder.py"
_INSTALLED = re.compile(r"^.*(?:site-packages/|lib/python3\.\d+/)")  # the last one


@dataclass(frozen=True, slots=True)
class Cost:
    """One function's own time per request, in microseconds, in each server."""

    function: str
    example_us: float
    baseline_us: float

    @property
    def extra_us(self) -> float:
        return self.example_us - self.baseline_us


def function_name(file: str, line: int, name: str) -> str:
    """``package/module.py:line(name)``, without the interpreter's or the venv's prefix."""
    file = _INSTALLED.sub("", file).removeprefix(f"{Path.cwd()}/")
    return f"{file}:{line}({name})"


def own_time_per_request(stats: pstats.Stats, requests: int) -> dict[str, float]:
    """Each function's own time (not its callees') per request, in microseconds."""
    table: dict[tuple[str, int, str], tuple[int, int, float, float, object]]
    table = stats.stats  # type: ignore[attr-defined]  # pstats keeps it undeclared
    costs: dict[str, float] = {}
    for (file, line, name), (_, _, own, _, _) in table.items():
        key = function_name(file, line, name)
        costs[key] = costs.get(key, 0.0) + own / requests * 1e6
    return costs


def compare(example: dict[str, float], baseline: dict[str, float]) -> list[Cost]:
    """Every function of either server, the largest extra own time first."""
    names = example.keys() | baseline.keys()
    costs = [Cost(name, example.get(name, 0.0), baseline.get(name, 0.0)) for name in names]
    return sorted(costs, key=lambda cost: cost.extra_us, reverse=True)


@dataclass(frozen=True, slots=True)
class Profiled:
    """A server under ``bench.profiled_server``: its URL, its pid, where it writes stats."""

    url: str
    pid: int
    stats: Path


@contextmanager
def profiled(app: str, workdir: Path, environment: dict[str, str]) -> Iterator[Profiled]:
    """``app`` under ``bench.profiled_server`` on the server's core."""
    port = free_port()
    stats = workdir / f"{port}.pstats"
    arguments = [app, str(port), str(stats)]
    with pinned_server("bench.profiled_server", arguments, port, workdir, environment) as process:
        yield Profiled(f"http://127.0.0.1:{port}", process.pid, stats)


def profile_load(
    server: Profiled, path: str, seconds: float, workdir: Path, tokens: Path | None = None
) -> tuple[pstats.Stats, int]:
    """Profile ``server`` while wrk loads ``path``: the statistics and the request count."""
    workload, args = ("bearer", [str(tokens)]) if tokens else (None, [])

    def load(duration: float) -> WrkResult:
        return run_wrk(
            server.url + path,
            seconds=duration,
            connections=CONNECTIONS,
            workload=workload,
            args=args,
            workdir=workdir,
        )

    load(1)  # warm-up: connections, caches
    os.kill(server.pid, signal.SIGUSR1)
    result = load(seconds)
    os.kill(server.pid, signal.SIGUSR2)
    deadline = time.monotonic() + FILE_WAIT_SECONDS
    while not server.stats.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    return pstats.Stats(str(server.stats)), result.requests


def run(seconds: float, top: int) -> None:
    with tempfile.TemporaryDirectory(prefix="authgate-profile-") as scratch:
        workdir = Path(scratch)
        with profiled("bench.baseline:app", workdir, {}) as server:
            baseline, baseline_requests = profile_load(server, "/", seconds, workdir)
        with stage("profile", workdir) as where:
            environment = example_environment(where, BCRYPT_ROUNDS=4, USER_CACHE_SECONDS=30)
            with profiled("app_example.main:app", workdir, environment) as server:
                users = logged_in_users(server.url, 8)
                tokens = write_lines(
                    workdir / "tokens.txt", [user["accessToken"] for user in users]
                )
                example, example_requests = profile_load(
                    server, "/api/profile", seconds, workdir, tokens
                )
    costs = compare(
        own_time_per_request(example, example_requests),
        own_time_per_request(baseline, baseline_requests),
    )
    total_example = sum(cost.example_us for cost in costs)
    total_baseline = sum(cost.baseline_us for cost in costs)
    print(
        f"profiled: example {example_requests:,} requests, baseline {baseline_requests:,}; "
        f"own time per request {total_example:,.0f} µs against {total_baseline:,.0f} µs"
    )
    print(f"{'extra µs':>9} {'example':>8} {'baseline':>8}  function")
    for cost in costs[:top]:
        print(
            f"{cost.extra_us:9.1f} {cost.example_us:8.1f} {cost.baseline_us:8.1f}  {cost.function}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--top", type=int, default=40)
    args = parser.parse_args()
    run(args.seconds, args.top)


if __name__ == "__main__":
    main()
