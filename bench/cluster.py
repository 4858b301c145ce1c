"""Authenticated requests on a Redis Cluster against a single Redis, and the Redis CPU one
authenticated request costs.

The example app runs twice in the same run, once on a private single ``redis-server`` and
once on a private Redis Cluster of three primaries (no replicas), and both serve
``GET /api/profile`` to the Bearer tokens of the same number of logged-in users, in
interleaved rounds. On the cluster the users are chosen so that as many sessions lie on
each primary (checked on each node), and their tokens take turns node by node, so a batch
of checks goes to every node. Around each measured run the phase reads ``INFO
commandstats`` (the microseconds Redis spent in commands) and ``INFO cpu`` (the server
process's user and system time, its network I/O included) of every server
(``redis_cpu.py``), and divides the difference by the requests wrk made.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass

import redis

from authgate.sessions.layout import sessions_key
from bench import redis_cpu
from bench.options import CONNECTIONS, Options, median
from bench.report import Row
from bench.servers import (
    Stage,
    example_environment,
    logged_in_users,
    stage,
    uvicorn_server,
    write_lines,
)
from bench.throughput import checked
from bench.wrk import WrkResult, run_wrk
from tests.processes import RedisClusterServer, RedisServer

MASTERS = 3
TARGET = 0.8  # the cluster's authenticated req/s ≥ 0.8 × the single Redis's


@dataclass(frozen=True, slots=True)
class Sample:
    """One measured run: its req/s, the Redis CPU per request it made (µs, see
    ``redis_cpu``), and the requests per script run (0 where no script ran)."""

    per_second: float
    commands_us: float
    process_us: float
    per_script: float


@dataclass(frozen=True, slots=True)
class Case:
    """One way of running the example: its URL, its tokens file and its Redis servers."""

    url: str
    tokens: str
    nodes: list[redis.Redis]

    def measure(self, options: Options, what: str) -> Sample:
        """One wrk run of ``seconds``, with the Redis CPU read before and after it."""
        before = redis_cpu.read(self.nodes)
        result = checked(self.run(options, options.seconds), what)
        spent = redis_cpu.read(self.nodes) - before
        return Sample(
            result.per_second,
            spent.commands_us / result.requests,
            spent.process_us / result.requests,
            result.requests / spent.script_runs if spent.script_runs else 0.0,
        )

    def run(self, options: Options, seconds: float) -> WrkResult:
        """wrk's authenticated ``GET /api/profile`` for ``seconds``, the tokens in turn."""
        return run_wrk(
            f"{self.url}/api/profile",
            seconds=seconds,
            connections=CONNECTIONS,
            workload="bearer",
            args=[self.tokens],
            workdir=options.workdir,
        )


def spread_users(
    url: str, cluster: RedisClusterServer, where: Stage, per_node: int
) -> list[dict[str, str]]:
    """Users logged in on the cluster example at ``url`` until ``per_node`` of them have
    their sessions on each primary (seen in the node's own keys: a node's SCAN sees only
    its own slots); those, taking turns node by node."""
    by_node: list[list[dict[str, str]]] = [[] for _ in cluster.nodes]
    while any(len(users) < per_node for users in by_node):
        users = logged_in_users(url, per_node)
        held = [keys_on(node, where.prefix) for node in cluster.nodes]
        for user in users:
            key = sessions_key(where.prefix, user["userId"]).encode()
            owners = [index for index, keys in enumerate(held) if key in keys]
            if len(owners) != 1:
                raise RuntimeError(f"a user's sessions are on {len(owners)} nodes, not on one")
            by_node[owners[0]].append(user)
    return [users[i] for i in range(per_node) for users in by_node]


def keys_on(node: RedisServer, prefix: str) -> set[bytes]:
    """The keys under ``prefix`` that ``node`` holds itself."""
    with node.client() as client:
        return set(client.scan_iter(match=f"{prefix}:*", count=1000))


def tokens_file(options: Options, name: str, users: list[dict[str, str]]) -> str:
    """The users' access tokens in a file of the scratch directory, for ``lua/bearer.lua``."""
    lines = [user["accessToken"] for user in users]
    return str(write_lines(options.workdir / f"{name}-tokens.txt", lines))


@contextmanager
def example(where: Stage, options: Options) -> Iterator[str]:
    """The example app on ``where``'s Redis; its URL."""
    with uvicorn_server(
        "app_example.main:app", options.workdir, example_environment(where, BCRYPT_ROUNDS=4)
    ) as url:
        yield url


def measure_cluster(options: Options, baseline: float) -> list[Row]:
    """Authenticated req/s on a single Redis and on a cluster, and Redis CPU per request."""
    per_node = math.ceil(options.users / MASTERS)
    with ExitStack() as stack:
        single = stack.enter_context(RedisServer(options.workdir))
        cluster = stack.enter_context(RedisClusterServer(options.workdir, masters=MASTERS))
        on_single = stack.enter_context(stage("single", options.workdir, single.url))
        on_cluster = stack.enter_context(stage("cluster", options.workdir, cluster.url))
        single_url = stack.enter_context(example(on_single, options))
        cluster_url = stack.enter_context(example(on_cluster, options))
        single_users = logged_in_users(single_url, per_node * MASTERS)
        cluster_users = spread_users(cluster_url, cluster, on_cluster, per_node)
        cases = {
            "single": Case(
                single_url,
                tokens_file(options, "single", single_users),
                [stack.enter_context(single.client())],
            ),
            "cluster": Case(
                cluster_url,
                tokens_file(options, "cluster", cluster_users),
                [stack.enter_context(node.client()) for node in cluster.nodes],
            ),
        }
        for case in cases.values():  # warm-up: connections, the slot map, the user cache
            case.run(options, 1)
        samples: dict[str, list[Sample]] = {name: [] for name in cases}
        for _ in range(options.rounds):
            for name, case in cases.items():
                samples[name].append(case.measure(options, f"authenticated on the {name}"))
    return rows(samples, baseline, per_node)


def rows(samples: dict[str, list[Sample]], baseline: float, per_node: int) -> list[Row]:
    """The phase's rows from its samples (medians over the rounds)."""

    def figure(name: str, field: str) -> float:
        return median([getattr(sample, field) for sample in samples[name]])

    single, on_cluster = figure("single", "per_second"), figure("cluster", "per_second")
    share = on_cluster / single
    commands_us, process_us = figure("single", "commands_us"), figure("single", "process_us")
    by_commands, by_process = 1_000_000 / commands_us, 1_000_000 / process_us
    users = per_node * MASTERS
    return [
        Row(
            f"authenticated `GET /api/profile` on a private single Redis ({users} users)",
            f"{single:,.0f} req/s",
            single / baseline,
            label="authenticated, private single Redis",
        ),
        Row(
            f"the same on a {MASTERS}-primary Redis Cluster ({per_node} users' sessions on "
            "each primary)",
            f"{on_cluster:,.0f} req/s",
            on_cluster / baseline,
            label=f"authenticated, {MASTERS}-primary Redis Cluster",
        ),
        Row(
            "authenticated req/s on the Redis Cluster against the single Redis",
            f"{share:.2f} ×",
            None,
            f"≥ {TARGET}× single Redis",
            share >= TARGET,
            budget=TARGET / share,
            label="Redis Cluster / single Redis",
        ),
        Row(
            "Redis CPU per authenticated request, single Redis: `INFO commandstats` usec "
            "summed (a script's commands once) / requests",
            f"{commands_us:.1f} µs (`INFO cpu` user + sys / requests: {process_us:.1f} µs; "
            f"{figure('single', 'per_script'):.1f} requests' checks per `EVALSHA`)",
        ),
        Row(
            "authenticated requests one Redis core serves per second (10⁶ / the µs above)",
            f"{by_commands:,.0f} /s (by `INFO cpu`: {by_process:,.0f} /s)",
        ),
        Row(
            "app instances one Redis core serves (that / one instance's authenticated req/s "
            "on the single Redis)",
            f"{by_commands / single:.0f} (by `INFO cpu`: {by_process / single:.0f})",
        ),
        Row(
            f"Redis CPU per authenticated request on the cluster, summed over the {MASTERS} "
            "primaries: `INFO commandstats`",
            f"{figure('cluster', 'commands_us'):.1f} µs (`INFO cpu`: "
            f"{figure('cluster', 'process_us'):.1f} µs)",
        ),
    ]
