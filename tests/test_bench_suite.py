# ruff: noqa: RUF001 - the table writes its ratios with a multiplication sign
"""The benchmark suite's own parts: its options, reading wrk's output, the results table,
copying seeded users' keys inside Redis, and reading what Redis spent. (The suite itself
is not run here: it takes minutes.)"""

from __future__ import annotations

import re
import shlex
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from authgate.sessions.layout import sessions_key, user_key, user_tag
from bench.__main__ import parse_options
from bench.options import PHASES, QUICK, Options
from bench.profile import compare, function_name
from bench.redis_cpu import RedisCpu, called_by_scripts, read
from bench.report import Row, markdown, plot
from bench.seeding import clone_users, keys_of, kind_of, memory_usage
from bench.servers import Stage, delete_prefix
from bench.wrk import parse_output, script_text
from tests.conftest import redis_prefix_for_run
from tests.processes import RedisServer

WRK_OUTPUT = """Running 2s test @ http://127.0.0.1:8000/auth/refresh-token
  1 threads and 32 connections
  Latency Distribution
     99%   40.00ms
WRK-JSON {"requests": 200, "duration_us": 2000000, "non_2xx": 3, "socket_errors": 1, \
"p50_us": 1500, "p90_us": 3000, "p99_us": 40000, "ok": 190, "bad": 3, "dup": 0}
WRK-TOKEN first.token
WRK-TOKEN second.token
"""


def test_wrk_output_is_read_with_its_counters_and_tokens() -> None:
    result = parse_output(WRK_OUTPUT)
    assert result.per_second == pytest.approx(100.0)
    assert result.ok_per_second == pytest.approx(95.0)
    assert (result.non_2xx, result.socket_errors, result.p99_us) == (3, 1, 40000)
    assert result.tokens == ["first.token", "second.token"]


def test_wrk_output_without_a_result_is_an_error() -> None:
    with pytest.raises(RuntimeError, match="no result"):
        parse_output("unable to connect to 127.0.0.1:8000 Connection refused\n")


def test_each_script_reports_then_adds_its_workload() -> None:
    plain = script_text(None)
    refresh = script_text("refresh")
    assert "WRK-JSON" in plain
    assert refresh.startswith(plain)
    assert "/auth/refresh-token" in refresh
    assert "WRK-TOKEN" in refresh


def test_the_table_shows_ratios_targets_and_verdicts(tmp_path: Path) -> None:
    rows = [
        Row("baseline", "20,000 req/s", 1.0),
        Row("authenticated", "8,000 req/s", 0.4, "≥ 0.5×", False),
        Row("bytes per session", "250 B", None, "≤ 300 B", True),
    ]
    table = markdown(rows, "**Machine:** test")
    lines = table.splitlines()
    assert lines[0] == "**Machine:** test"
    assert lines[2] == "| what | value | × baseline | target | met? |"
    assert "| baseline | 20,000 req/s | 1.00 |  |  |" in lines
    assert "| authenticated | 8,000 req/s | 0.40 | ≥ 0.5× | **no** |" in lines
    assert "| bytes per session | 250 B |  | ≤ 300 B | yes |" in lines
    plot(rows, "test", tmp_path / "plot.png")
    assert (tmp_path / "plot.png").read_bytes().startswith(b"\x89PNG")


@pytest.fixture
def sync_redis(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


def test_seeded_users_are_copied_with_their_values_and_ttls(
    sync_redis: redis.Redis, redis_url: str, tmp_path: Path
) -> None:
    where = Stage("", redis_url, f"{redis_prefix_for_run()}-bench-{uuid.uuid4().hex[:6]}", tmp_path)
    users = [str(uuid.uuid4()) for _ in range(3)]
    for user in users:
        sync_redis.hset(sessions_key(where.prefix, user), mapping={"s1": "a,b,j,", "s1.": "x"})
        sync_redis.pexpire(sessions_key(where.prefix, user), 60_000)
        sync_redis.set(user_key(where.prefix, user), "{}", ex=60)
    sync_redis.set(user_key(where.prefix, "someone-else"), "{}")

    keys = keys_of(sync_redis, where, users)
    assert len(keys) == 6
    assert {kind_of(key) for key in keys} == {"s", "user"}
    usage = memory_usage(sync_redis, keys)
    assert set(usage) == {"s", "user"}
    assert all(size > 0 for size in usage.values())

    clone_users(sync_redis, keys, copies=2)
    tag = user_tag(users[0])
    copies = list(sync_redis.scan_iter(match=f"{where.prefix}:{{{tag}:*}}:*"))
    assert len(copies) == 4
    for copy in copies:
        assert 0 < sync_redis.pttl(copy) <= 60_000
        if kind_of(copy) == "s":
            assert sync_redis.hgetall(copy) == {b"s1": b"a,b,j,", b"s1.": b"x"}
        else:
            assert sync_redis.get(copy) == b"{}"
    assert len(list(sync_redis.scan_iter(match=f"{where.prefix}:*"))) == 6 * 3 + 1


def test_the_readme_commands_are_the_suite_s() -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    commands = [
        line for line in readme.splitlines() if re.match(r"uv run python -m bench(\s|$)", line)
    ]
    assert len(commands) == 2
    full, _ = parse_options(shlex.split(commands[0].split("#")[0])[5:])
    quick, out = parse_options(shlex.split(commands[1].split("#")[0])[5:])
    assert full == Options()
    assert quick == QUICK
    assert quick.seconds < full.seconds
    assert out == Path(__file__).resolve().parent.parent / "bench" / "results"


def test_phases_are_named_with_commas_and_the_throughput_phase_always_runs() -> None:
    assert PHASES[0] == "throughput"
    assert parse_options([])[0].phases == PHASES
    quick, _ = parse_options(["--quick", "--phases", "cluster"])
    assert quick.phases == ("throughput", "cluster")
    assert quick.seconds == QUICK.seconds
    sessions_first, _ = parse_options(["--phases", " sessions,refresh ,throughput"])
    assert sessions_first.phases == ("throughput", "refresh", "sessions")
    assert parse_options(["--phases", "throughput"])[0].phases == ("throughput",)


def test_a_phase_the_suite_does_not_have_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parse_options(["--phases", "cluster,clusters"])
    assert "no phase clusters; the phases are throughput,cluster," in capsys.readouterr().err


def test_a_script_s_commands_count_once_and_info_not_at_all() -> None:
    assert {"hmget", "get", "hset"} <= called_by_scripts()
    assert "evalsha" not in called_by_scripts()
    before = RedisCpu({"evalsha": (1, 10.0), "get": (5, 1.0)}, 1000.0)
    scripted = RedisCpu(
        {"evalsha": (3, 50.0), "get": (65, 7.0), "set": (1, 2.0), "info": (2, 30.0)}, 1600.0
    )
    spent = scripted - before
    assert spent.script_runs == 2
    assert spent.commands_us == pytest.approx(40.0 + 2.0)  # the GETs are in the scripts' time
    assert spent.process_us == pytest.approx(600.0)
    plain = RedisCpu({"hmget": (32, 3.0), "get": (32, 2.0), "info": (1, 9.0)}, 0.0)
    assert plain.script_runs == 0
    assert plain.commands_us == pytest.approx(5.0)  # no script ran: every command counts


@pytest.mark.processes
def test_redis_counts_a_script_s_commands_in_the_script_and_on_their_own(tmp_path: Path) -> None:
    with RedisServer(tmp_path) as server, server.client() as client:
        client.set("k", "v")
        script = client.register_script("for i = 1, 500 do redis.call('GET', KEYS[1]) end")
        script(keys=["k"])  # loaded, and run once before the figures are read
        before = read([client])
        for _ in range(20):
            script(keys=["k"])
        spent = read([client]) - before

    assert spent.commands["get"][0] == 20 * 500
    assert spent.script_runs == 20
    evalsha_us = spent.commands["evalsha"][1]
    assert evalsha_us > spent.commands["get"][1] > 0  # the GETs' time is inside the script's
    assert spent.commands_us == pytest.approx(evalsha_us)
    assert spent.process_us > 0


def test_a_phase_s_keys_are_deleted_and_no_others(sync_redis: redis.Redis, redis_url: str) -> None:
    prefix = f"{redis_prefix_for_run()}-bench-{uuid.uuid4().hex[:6]}"
    pipe = sync_redis.pipeline(transaction=False)
    for i in range(2500):
        pipe.set(f"{prefix}:{{user{i}}}:session:s", "x")
    pipe.set(f"{prefix}x:kept", "x")
    pipe.execute()
    delete_prefix(redis_url, f"{prefix}:")
    assert list(sync_redis.scan_iter(match=f"{prefix}:*", count=1000)) == []
    assert sync_redis.get(f"{prefix}x:kept") == b"x"


def test_the_profile_ranks_functions_by_their_extra_own_time_per_request() -> None:
    example = {"authgate/middleware.py:179(__call__)": 22.0, "uvicorn/send": 120.0}
    baseline = {"uvicorn/send": 90.0, "bench/baseline.py:28(profile_like)": 2.0}

    costs = compare(example, baseline)

    assert [(c.function, c.extra_us) for c in costs] == [
        ("uvicorn/send", 30.0),
        ("authgate/middleware.py:179(__call__)", 22.0),
        ("bench/baseline.py:28(profile_like)", -2.0),
    ]
    assert function_name(f"{Path.cwd()}/authgate/tokens.py", 185, "verify") == (
        "authgate/tokens.py:185(verify)"
    )
    assert function_name("/usr/lib/python3.11/json/encoder.py", 205, "iterencode") == (
        "json/encoder.py:205(iterencode)"
    )
    installed = "/work/.venv/lib/python3.11/site-packages/uvicorn/main.py"
    assert function_name(installed, 1, "run") == "uvicorn/main.py:1(run)"
