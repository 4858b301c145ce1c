"""Each framework example served by uvicorn as the README runs it
(``uvicorn --factory examples.<name>:create_app``), on an empty PostgreSQL database: the
ASGI lifespan under a real server creates the tables (Django has no lifespan of its own),
and a client logs in, calls a protected endpoint, refreshes by cookie and logs out."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from authgate import Settings
from tests.conftest import DatabaseFactory, register_and_login
from tests.processes import Process, free_port, stop_process, wait_until_serving

ROOT = Path(__file__).resolve().parent.parent
# module, a path that needs a login, what it answers
EXAMPLES = [
    ("fastapi_app", "/notes", "owner"),
    ("litestar_app", "/notes", "owner"),
    ("django_app", "/api/notes", "owner"),
]


START_TIMEOUT = 120.0


def start_server(module: str, port: int, environ: dict[str, str], log: Path) -> Process:
    """``uvicorn --factory examples.<module>:create_app`` on ``port``, output in ``log``."""
    command = [sys.executable, "-m", "uvicorn", "--factory", f"examples.{module}:create_app"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--no-proxy-headers"]
    with log.open("wb") as output:
        return subprocess.Popen(
            command, cwd=ROOT, env=environ, stdout=output, stderr=subprocess.STDOUT
        )


@pytest.mark.processes  # uvicorn
@pytest.mark.parametrize(("module", "protected", "key"), EXAMPLES)
async def test_the_example_serves_under_uvicorn(
    module: str,
    protected: str,
    key: str,
    settings: Settings,
    new_database: DatabaseFactory,
    tmp_path: Path,
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    environ = {k: v for k, v in os.environ.items() if not k.startswith("AUTHGATE_")}
    environ |= {
        "DATABASE_URL": await new_database(),  # empty: only the lifespan can migrate it
        "REDIS_URL": settings.redis_url or "",
        "ACCESS_TOKEN_SECRET": settings.access_token_secret,
        "REFRESH_TOKEN_SECRET": settings.refresh_token_secret,
        "AUTHGATE_REDIS_PREFIX": settings.redis_prefix,
        "AUTHGATE_BCRYPT_ROUNDS": "4",
    }
    log = tmp_path / "server.log"
    process = start_server(module, port, environ, log)
    try:
        # importing a framework takes seconds of CPU, and the machine may be busy
        wait_until_serving(url, process, log, healthy=False, timeout=START_TIMEOUT)
        async with httpx.AsyncClient(base_url=url, headers={"Origin": url}) as client:
            account = await register_and_login(client)
            by_cookie = await client.get(protected)
            assert by_cookie.status_code == 200, by_cookie.text
            assert by_cookie.json()[key] == account.username
            refreshed = await client.post("/auth/refresh-token")  # the refresh cookie
            assert refreshed.status_code == 200, refreshed.text
            assert (await client.post("/auth/logout")).status_code == 200
            anonymous = await client.get(protected)
            assert anonymous.status_code == 401
            assert anonymous.headers["www-authenticate"] == "Bearer"
    finally:
        stop_process(process)
    assert "Traceback" not in log.read_text(errors="replace")
