"""The benchmark suite: ``uv run python -m bench [--quick]``.

Over HTTP: one uvicorn worker pinned to core 0 (``taskset -c 0``), ``wrk`` pinned to core 1,
interleaved rounds, medians; every figure is reported against a plain Starlette endpoint
measured in the same run. Writes ``bench/results/latest.md`` and ``latest.png``.
"""

from __future__ import annotations

import argparse
import dataclasses
import shutil
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bench import machine
from bench.logins import measure_logins
from bench.options import QUICK, Options
from bench.refresh import measure_refresh
from bench.report import Row, markdown, plot
from bench.scale import measure_sessions
from bench.throughput import measure_throughput
from bench.wrk import INSTALL_HINT

RESULTS = Path(__file__).parent / "results"


def parse_options(argv: list[str] | None = None) -> tuple[Options, Path]:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a smoke run of 1–2 minutes")
    parser.add_argument("--seconds", type=float, help="seconds of each wrk measurement")
    parser.add_argument("--rounds", type=int, help="interleaved rounds (medians)")
    parser.add_argument("--sessions", type=int, help="live sessions of the large case")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where latest.md/png go")
    args = parser.parse_args(argv)
    options = QUICK if args.quick else Options()
    for name, value in (
        ("seconds", args.seconds),
        ("rounds", args.rounds),
        ("large_sessions", args.sessions),
    ):
        if value is not None:
            options = dataclasses.replace(options, **{name: value})
    return options, args.out


def main(argv: list[str] | None = None) -> None:
    options, out = parse_options(argv)
    if shutil.which("wrk") is None or shutil.which("taskset") is None:
        raise SystemExit(INSTALL_HINT + " (and taskset, from util-linux)")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="authgate-bench-") as scratch:
        options = dataclasses.replace(options, workdir=Path(scratch))
        rows: list[Row] = []
        baseline, found = measure_throughput(options)
        rows += found
        print(*(f"{row.what}: {row.value}" for row in found), sep="\n", flush=True)
        for phase in (measure_refresh, measure_logins, measure_sessions):
            found = phase(options, baseline)
            rows += found
            print(*(f"{row.what}: {row.value}" for row in found), sep="\n", flush=True)
    minutes = (time.monotonic() - started) / 60
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    quick = options == dataclasses.replace(QUICK, workdir=options.workdir)
    header = (
        f"**Machine:** {machine.describe()}.  \n"
        f"**Run:** {when}, {'quick' if quick else 'full'} mode, {options.rounds} interleaved "
        f"round(s) of {options.seconds:g} s per figure "
        f"(medians), wrk -t1 -c32 on core 1, one uvicorn worker on core 0; "
        f"took {minutes:.1f} min."
    )
    out.mkdir(parents=True, exist_ok=True)
    (out / "latest.md").write_text(markdown(rows, header), encoding="utf-8")
    plot(rows, machine.describe(), out / "latest.png")
    print(markdown(rows, header))


if __name__ == "__main__":
    main()
