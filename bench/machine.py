"""The machine a run measured: CPU model, cores, Python, and what uvicorn runs on."""

from __future__ import annotations

import importlib.util
import os
import platform
from pathlib import Path


def cpu_model() -> str:
    """The CPU's model name, from ``/proc/cpuinfo`` (else the platform's word for it)."""
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def uvicorn_stack() -> str:
    """The loop and HTTP parser uvicorn's ``auto`` picks in this environment."""
    loop = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    http = "httptools" if importlib.util.find_spec("httptools") else "h11"
    return f"uvicorn on {loop} + {http}"


def describe() -> str:
    """One line: CPU, cores, Python, uvicorn's loop and parser."""
    return (
        f"{cpu_model()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{uvicorn_stack()}"
    )
