"""How long and how large a run is (the full run, or ``--quick`` for a smoke run), and which
of the suite's phases it runs."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

CONNECTIONS = 32  # wrk -c: as many requests in flight as a busy instance sees
# the suite's phases in the order they run; the throughput phase measures the baseline
# every other figure is a ratio against, so every run has it
PHASES = ("throughput", "cluster", "refresh", "logins", "sessions")


@dataclass(frozen=True, slots=True)
class Options:
    """Durations and sizes of one run, its phases, and where it may write its scratch files."""

    seconds: float = 6.0  # each wrk measurement
    rounds: int = 3  # interleaved rounds; each figure is the median
    memory_sessions: int = 100_000  # sessions seeded to measure Redis bytes per session
    large_sessions: int = 1_000_000  # live sessions of the "flat from 1k" check
    small_sessions: int = 1_000
    users: int = 32  # logged-in users whose tokens the load cycles through
    login_clients: int = 4  # the login stream's connections
    phases: tuple[str, ...] = PHASES  # of PHASES, in their order
    workdir: Path = Path(".")


QUICK = Options(seconds=2.0, rounds=1, memory_sessions=10_000, large_sessions=50_000, users=8)


def median(values: Sequence[float]) -> float:
    """The median of ``values`` (a run's rounds)."""
    return float(statistics.median(values))
