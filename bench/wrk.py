"""Running ``wrk`` on the load generator's core and reading what it measured.

Each run's Lua script is ``lua/report.lua`` (whose ``done()`` prints one ``WRK-JSON`` line)
followed by the script of the workload (``bearer``, ``login``, ``refresh``, or none).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path

LOAD_CORE = "1"  # the server runs on core 0
INSTALL_HINT = "wrk is not installed: apt-get install wrk (or build it from github.com/wg/wrk)"


@dataclass(frozen=True, slots=True)
class WrkResult:
    """One wrk run: its counts, its latency percentiles (µs) and the script's counters."""

    requests: int
    duration_us: int
    non_2xx: int
    socket_errors: int
    p50_us: int
    p90_us: int
    p99_us: int
    ok: int = 0
    bad: int = 0
    dup: int = 0
    tokens: list[str] = field(default_factory=list, repr=False)

    @property
    def per_second(self) -> float:
        """Requests per second over the whole run."""
        return self.requests / (self.duration_us / 1_000_000)

    @property
    def ok_per_second(self) -> float:
        """Requests the script counted as correct, per second."""
        return self.ok / (self.duration_us / 1_000_000)


def parse_output(stdout: str) -> WrkResult:
    """The result in wrk's output (the ``WRK-JSON`` and ``WRK-TOKEN`` lines of our scripts).

    Raises:
        RuntimeError: the output has no ``WRK-JSON`` line (wrk failed before ``done()``).
    """
    numbers: dict[str, int] | None = None
    tokens: list[str] = []
    for line in stdout.splitlines():
        if line.startswith("WRK-JSON "):
            numbers = json.loads(line.removeprefix("WRK-JSON "))
        elif line.startswith("WRK-TOKEN "):
            tokens.append(line.removeprefix("WRK-TOKEN ").strip())
    if numbers is None:
        raise RuntimeError(f"wrk printed no result:\n{stdout[-2000:]}")
    return WrkResult(**numbers, tokens=tokens)


def script_text(workload: str | None) -> str:
    """``report.lua``, then ``lua/<workload>.lua`` if any."""
    lua = files("bench").joinpath("lua")
    text = lua.joinpath("report.lua").read_text(encoding="utf-8")
    if workload is not None:
        text += "\n" + lua.joinpath(f"{workload}.lua").read_text(encoding="utf-8")
    return text


def wrk_command(
    url: str, seconds: float, connections: int, script: Path, args: list[str]
) -> list[str]:
    """The command line: pinned to ``LOAD_CORE``, one thread, latency recorded."""
    executable = shutil.which("wrk")
    if executable is None:
        raise RuntimeError(INSTALL_HINT)
    command = ["taskset", "-c", LOAD_CORE, executable, "-t1", f"-c{connections}"]
    command += [f"-d{max(1, round(seconds))}s", "--latency", "--timeout", "10s"]
    command += ["-s", str(script), url]
    return [*command, "--", *args] if args else command


def start_wrk(
    url: str,
    *,
    seconds: float,
    connections: int,
    workload: str | None = None,
    args: list[str] | None = None,
    workdir: Path,
) -> subprocess.Popen[str]:
    """Start wrk in the background (see ``finish``), e.g. to load the server meanwhile."""
    script = Path(tempfile.mkstemp(suffix=".lua", dir=workdir)[1])
    script.write_text(script_text(workload), encoding="utf-8")
    command = wrk_command(url, seconds, connections, script, args or [])
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(process: subprocess.Popen[str], seconds: float) -> WrkResult:
    """Wait for a wrk started by ``start_wrk`` and parse its result."""
    stdout, stderr = process.communicate(timeout=seconds + 60)
    if process.returncode != 0:
        raise RuntimeError(f"wrk exited with {process.returncode}: {stderr.strip()[-2000:]}")
    return parse_output(stdout)


def run_wrk(
    url: str,
    *,
    seconds: float,
    connections: int,
    workload: str | None = None,
    args: list[str] | None = None,
    workdir: Path,
) -> WrkResult:
    """Run wrk against ``url`` for ``seconds`` and return what it measured."""
    process = start_wrk(
        url,
        seconds=seconds,
        connections=connections,
        workload=workload,
        args=args,
        workdir=workdir,
    )
    return finish(process, seconds)
