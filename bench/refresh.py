"""Refresh rotations per second over HTTP, each rotation checked.

Every session's chain is followed by wrk (``lua/refresh.lua``): each refresh presents the
session's current token and must get a token never seen before. Afterwards a sample of the
chains is checked end to end: the current token rotates once more, the token it replaced is
refused once the grace window has passed (reuse: the session is revoked), and so is the
newest one then.
"""

from __future__ import annotations

import time

import httpx

from bench.options import CONNECTIONS, Options
from bench.report import Row
from bench.servers import example_environment, logged_in_users, stage, uvicorn_server, write_lines
from bench.wrk import run_wrk

GRACE_SECONDS = 1
TARGET = 0.1  # rotations per second ≥ 0.1 × the baseline's requests per second
CHAINS_CHECKED = 3


def refresh(client: httpx.Client, token: str) -> httpx.Response:
    client.cookies.clear()
    return client.post("/auth/refresh-token", json={"refreshToken": token})


def check_chain(client: httpx.Client, current: str) -> None:
    """Rotate ``current`` once more, then see it and its successor refused after the grace
    window (the old token's reuse revokes the session)."""
    answer = refresh(client, current)
    if answer.status_code != 200:
        raise RuntimeError(f"the chain's current token was refused: {answer.status_code}")
    newest = answer.json()["data"]["refreshToken"]
    if newest == current:
        raise RuntimeError("a rotation returned the token it was given")
    time.sleep(GRACE_SECONDS + 0.2)
    if refresh(client, current).status_code != 401:
        raise RuntimeError("a rotated-out token was accepted after the grace window")
    if refresh(client, newest).status_code != 401:
        raise RuntimeError("a session survived the reuse of an old refresh token")


def measure_refresh(options: Options, baseline: float) -> list[Row]:
    """Rotations per second, and their ratio to the baseline's req/s."""
    with (
        stage("refresh", options.workdir) as where,
        uvicorn_server(
            "app_example.main:app",
            options.workdir,
            example_environment(where, BCRYPT_ROUNDS=4, REFRESH_GRACE_SECONDS=GRACE_SECONDS),
        ) as url,
    ):
        users = logged_in_users(url, CONNECTIONS + 4)  # see lua/refresh.lua
        first = [user["refreshToken"] for user in users]
        pool = write_lines(options.workdir / "refresh-tokens.txt", first)
        result = run_wrk(
            f"{url}/auth/refresh-token",
            seconds=options.seconds * options.rounds,
            connections=CONNECTIONS,
            workload="refresh",
            args=[str(pool)],
            workdir=options.workdir,
        )
        if result.bad or result.dup or result.socket_errors or not result.ok:
            raise RuntimeError(
                f"refresh: {result.ok} good rotations, {result.bad} refused, "
                f"{result.dup} repeated a token, {result.socket_errors} socket errors"
            )
        rotated = [token for token in result.tokens if token not in first]
        # first[0] went to wrk's pre-run request() call: never sent, still current
        replaced = [token for token in first[1:] if token not in result.tokens]
        if len(rotated) < CHAINS_CHECKED or not replaced:
            raise RuntimeError("refresh: too few chains were followed to check them")
        with httpx.Client(base_url=url, timeout=30) as client:
            for current in rotated[:CHAINS_CHECKED]:
                check_chain(client, current)
            if refresh(client, replaced[0]).status_code != 401:
                raise RuntimeError("a session's first, rotated-out refresh token still worked")
    rate = result.ok_per_second
    return [
        Row(
            f"refresh rotations (each new token checked unique; {CHAINS_CHECKED} chains "
            "checked end to end)",
            f"{rate:,.0f} /s ({result.ok:,} rotations, 0 wrong)",
            rate / baseline,
            f"≥ {TARGET}×",
            rate / baseline >= TARGET,
            budget=TARGET * baseline / rate,
            label="refresh rotations",
        )
    ]
