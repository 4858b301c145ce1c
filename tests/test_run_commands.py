"""The documented ways to run the example (the README's uvicorn command, the Dockerfile's
``CMD``) do not let a client pick its own address with ``X-Forwarded-For``.

uvicorn trusts ``X-Forwarded-For`` from 127.0.0.1 by default and then hands authgate the
forwarded address as the socket peer; rotating the header would defeat the per-IP limit.
Each command is taken from its file as written, run on a free port, and attacked from
loopback with a new forged address on every attempt.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from collections import Counter
from pathlib import Path

import httpx
import pytest

from tests.conftest import redis_prefix_for_run, secret_for, unique_username
from tests.processes import free_port, stop_process, wait_until_serving

ROOT = Path(__file__).resolve().parent.parent
IP_LIMIT = 4


def readme_command() -> list[str]:
    """The README's ``uv run uvicorn app_example.main:app ...`` line."""
    lines = (ROOT / "README.md").read_text().splitlines()
    commands = [line for line in lines if line.startswith("uv run uvicorn app_example.main:app")]
    assert len(commands) == 1, commands
    return shlex.split(commands[0].split("#")[0])[2:]  # without "uv run"


def dockerfile_command() -> list[str]:
    """The Dockerfile's ``CMD``, without its ``uv run --no-dev``."""
    text = (ROOT / "Dockerfile").read_text()
    match = re.search(r"^CMD (\[.*\])$", text, re.MULTILINE)
    assert match is not None
    command: list[str] = json.loads(match.group(1))
    assert command[:3] == ["uv", "run", "--no-dev"], command
    return command[3:]


def on_port(command: list[str], port: int) -> list[str]:
    """``command`` with its ``--host`` and ``--port`` values replaced."""
    result = list(command)
    for flag, value in (("--host", "127.0.0.1"), ("--port", str(port))):
        result[result.index(flag) + 1] = value
    return result


@pytest.mark.processes  # the command itself
@pytest.mark.parametrize(
    "command", [readme_command(), dockerfile_command()], ids=["readme", "docker"]
)
def test_a_forged_forwarded_for_from_loopback_is_not_the_client(
    command: list[str], database_url: str, redis_url: str, tmp_path: Path
) -> None:
    assert command[0] == "uvicorn"
    port = free_port()
    environ = {k: v for k, v in os.environ.items() if not k.startswith("AUTHGATE_")}
    environ |= {
        "ACCESS_TOKEN_SECRET": secret_for("access"),
        "REFRESH_TOKEN_SECRET": secret_for("refresh"),
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "AUTHGATE_BCRYPT_ROUNDS": "4",
        "AUTHGATE_LOGIN_MAX_FAILURES_PER_IP": str(IP_LIMIT),
        "AUTHGATE_REDIS_PREFIX": f"{redis_prefix_for_run()}-run-{port}",
    }
    log = tmp_path / "server.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", *on_port(command, port)],
            cwd=ROOT,
            env=environ,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(url, process, log)
        with httpx.Client(base_url=url, timeout=10) as client:
            statuses = Counter(
                client.post(
                    "/auth/login",
                    json={"username": unique_username("nobody"), "password": "a guess"},
                    headers={"X-Forwarded-For": f"198.51.100.{n}"},
                ).status_code
                for n in range(IP_LIMIT + 3)
            )
    finally:
        stop_process(process)

    # every forged address was the same client, 127.0.0.1: its limit held
    assert statuses == {401: IP_LIMIT, 429: 3}, statuses
