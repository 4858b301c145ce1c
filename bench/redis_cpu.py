"""What Redis servers spend: ``INFO commandstats`` and ``INFO cpu``, read before and after a
measured run, summed over the servers.

Redis counts a command that a Lua script calls twice: in the script's own ``usec`` and in
the command's. So when scripts ran, the commands authgate's scripts call are left out of
the commands' time (it is in the scripts'); so is the ``INFO`` that reads the figures. (A
client's own ``GET`` among scripts would go uncounted with them: on a single Redis the
authenticated requests send none, every check is in the lookup script.)
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import redis

import authgate

SCRIPT_RUNS = frozenset({"eval", "evalsha", "eval_ro", "evalsha_ro", "fcall", "fcall_ro"})
_CALL = re.compile(r"redis\.p?call\(\s*['\"](\w+)['\"]")


@cache
def called_by_scripts() -> frozenset[str]:
    """The commands authgate's Lua scripts call, in lower case as commandstats names them."""
    root = Path(authgate.__file__).parent
    return frozenset(
        name.lower()
        for script in root.rglob("*.lua")
        for name in _CALL.findall(script.read_text(encoding="utf-8"))
    )


@dataclass(frozen=True, slots=True)
class RedisCpu:
    """Each command's calls and µs (``INFO commandstats``), and the processes' user and
    system time in µs (``INFO cpu``); so far, or between two readings."""

    commands: Mapping[str, tuple[int, float]]
    process_us: float

    def __sub__(self, before: RedisCpu) -> RedisCpu:
        commands: dict[str, tuple[int, float]] = {}
        for name, (calls, usec) in self.commands.items():
            calls_before, usec_before = before.commands.get(name, (0, 0.0))
            commands[name] = (calls - calls_before, usec - usec_before)
        return RedisCpu(commands, self.process_us - before.process_us)

    @property
    def script_runs(self) -> int:
        """How many scripts ran (``EVALSHA`` and its kin)."""
        return sum(calls for name, (calls, _) in self.commands.items() if name in SCRIPT_RUNS)

    @property
    def commands_us(self) -> float:
        """The µs spent in the commands clients sent, each counted once."""
        left_out = {"info"} | (called_by_scripts() if self.script_runs else set())
        return sum(usec for name, (_, usec) in self.commands.items() if name not in left_out)


def read(nodes: list[redis.Redis]) -> RedisCpu:
    """What ``nodes`` have spent so far, summed over them."""
    commands: dict[str, tuple[int, float]] = {}
    process_us = 0.0
    for node in nodes:
        for stat, figures in node.info("commandstats").items():
            name = stat.removeprefix("cmdstat_")
            calls, usec = commands.get(name, (0, 0.0))
            commands[name] = (calls + int(figures["calls"]), usec + float(figures["usec"]))
        cpu = node.info("cpu")
        process_us += (float(cpu["used_cpu_user"]) + float(cpu["used_cpu_sys"])) * 1_000_000
    return RedisCpu(commands, process_us)
