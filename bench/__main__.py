"""The benchmark suite: ``uv run python -m bench [--quick] [--phases cluster,sessions]``.

Over HTTP: one uvicorn worker pinned to core 0 (``taskset -c 0``), ``wrk`` pinned to core 1,
interleaved rounds, medians; every figure is reported against a plain Starlette endpoint
measured in the same run. Writes ``bench/results/latest.md`` and ``latest.png``.

``--phases`` runs some of the phases (throughput, cluster, refresh, logins, sessions), in
the suite's order. The throughput phase runs in every run, named or not: it measures the
baseline the other phases' figures are ratios against, and a table without its
authenticated row has nothing to read the others by.
"""

from __future__ import annotations

import argparse
import dataclasses
import shutil
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from bench import machine
from bench.cluster import measure_cluster
from bench.logins import measure_logins
from bench.options import PHASES, QUICK, Options
from bench.refresh import measure_refresh
from bench.report import Row, markdown, plot
from bench.scale import measure_sessions
from bench.throughput import measure_throughput
from bench.wrk import INSTALL_HINT

RESULTS = Path(__file__).parent / "results"
# the phases after the throughput phase, which measures the baseline they are given
MEASURES: dict[str, Callable[[Options, float], list[Row]]] = {
    "cluster": measure_cluster,
    "refresh": measure_refresh,
    "logins": measure_logins,
    "sessions": measure_sessions,
}


def phase_names(text: str) -> tuple[str, ...]:
    """The phases named in ``text`` (comma-separated), with throughput, in the suite's order.

    Raises:
        argparse.ArgumentTypeError: a name is not one of the suite's phases.
    """
    named = {name.strip() for name in text.split(",") if name.strip()}
    unknown = named - set(PHASES)
    if unknown:
        raise argparse.ArgumentTypeError(
            f"no phase {', '.join(sorted(unknown))}; the phases are {','.join(PHASES)}"
        )
    return tuple(name for name in PHASES if name in named or name == "throughput")


def parse_options(argv: list[str] | None = None) -> tuple[Options, Path]:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a smoke run of 1–2 minutes")
    parser.add_argument("--seconds", type=float, help="seconds of each wrk measurement")
    parser.add_argument("--rounds", type=int, help="interleaved rounds (medians)")
    parser.add_argument("--sessions", type=int, help="live sessions of the large case")
    parser.add_argument(
        "--phases",
        type=phase_names,
        help=f"comma-separated, of {','.join(PHASES)} (all by default; throughput always runs)",
    )
    parser.add_argument("--out", type=Path, default=RESULTS, help="where latest.md/png go")
    args = parser.parse_args(argv)
    options = QUICK if args.quick else Options()
    for name, value in (
        ("seconds", args.seconds),
        ("rounds", args.rounds),
        ("large_sessions", args.sessions),
        ("phases", args.phases),
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
        for measure in (MEASURES[name] for name in options.phases if name in MEASURES):
            found = measure(options, baseline)
            rows += found
            print(*(f"{row.what}: {row.value}" for row in found), sep="\n", flush=True)
    minutes = (time.monotonic() - started) / 60
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    quick = dataclasses.replace(options, workdir=QUICK.workdir, phases=QUICK.phases) == QUICK
    phases = "" if options.phases == PHASES else f" (phases {', '.join(options.phases)})"
    header = (
        f"**Machine:** {machine.describe()}.  \n"
        f"**Run:** {when}, {'quick' if quick else 'full'} mode{phases}, "
        f"{options.rounds} interleaved round(s) of {options.seconds:g} s per figure "
        f"(medians), wrk -t1 -c32 on core 1, one uvicorn worker on core 0; "
        f"took {minutes:.1f} min."
    )
    out.mkdir(parents=True, exist_ok=True)
    (out / "latest.md").write_text(markdown(rows, header), encoding="utf-8")
    plot(rows, machine.describe(), out / "latest.png")
    print(markdown(rows, header))


if __name__ == "__main__":
    main()
