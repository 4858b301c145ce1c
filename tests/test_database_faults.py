"""PostgreSQL stopped while requests run, on a private PostgreSQL this module starts: login
and registration answer 503 (never 500), a registration is whole or absent, and the app
heals by itself when the database is back."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.conftest import PASSWORD, ClientFactory, GateFactory, register, unique_username
from tests.processes import PostgresServer

DOWN_SECONDS = 0.6
HEAL_TIMEOUT = 20.0


@pytest.fixture
def postgres() -> Iterator[PostgresServer]:
    server = PostgresServer()
    try:
        server.start()
        yield server
    finally:
        server.close()


@dataclass
class Answer:
    kind: str
    status: int
    username: str
    sent: float
    at: float


def registration(username: str) -> dict[str, str]:
    return {
        "username": username,
        "email": f"{username}@example.com",
        "fullName": f"Full {username}",
        "password": PASSWORD,
    }


async def test_postgres_stopped_under_traffic_is_503_and_heals(
    postgres: PostgresServer, make_gate: GateFactory, make_client: ClientFactory
) -> None:
    gate = await make_gate(database_url=postgres.url)
    client = make_client(gate)
    known = await register(client)
    answers: list[Answer] = []
    done = asyncio.Event()

    async def traffic() -> None:
        while not done.is_set():
            username = unique_username("pgdown")
            sent = time.monotonic()
            registered = await client.post("/auth/register", json=registration(username))
            answers.append(
                Answer("register", registered.status_code, username, sent, time.monotonic())
            )
            sent = time.monotonic()
            logged_in = await client.post(
                "/auth/login", json={"username": known.username, "password": PASSWORD}
            )
            answers.append(Answer("login", logged_in.status_code, "", sent, time.monotonic()))
            await asyncio.sleep(0.01)

    workers = [asyncio.create_task(traffic()) for _ in range(3)]
    try:
        await asyncio.sleep(0.3)
        await asyncio.to_thread(postgres.stop)
        stopped = time.monotonic()
        await asyncio.sleep(DOWN_SECONDS)
        starting = time.monotonic()
        await asyncio.to_thread(postgres.start)
        restarted = time.monotonic()
        deadline = restarted + HEAL_TIMEOUT
        while not any(a.sent > restarted and a.status == 201 for a in answers) or not any(
            a.sent > restarted and a.kind == "login" and a.status == 200 for a in answers
        ):
            assert time.monotonic() < deadline, "the app never healed"
            await asyncio.sleep(0.05)
    finally:
        done.set()
        await asyncio.gather(*workers)

    statuses = {(a.kind, a.status) for a in answers}
    assert statuses <= {("register", 201), ("register", 503), ("login", 200), ("login", 503)}
    while_down = [a for a in answers if stopped < a.sent and a.at < starting]
    assert {a.status for a in while_down} == {503}, while_down
    assert {a.kind for a in while_down} == {"register", "login"}

    # every registration is whole or absent: answered 201, the user is there in full;
    # answered 503, the user is there in full or not at all
    users = gate.service.users
    for answer in (a for a in answers if a.kind == "register"):
        stored = await users.get_by_login(answer.username)
        if answer.status == 201:
            assert stored is not None, answer
        if stored is not None:
            assert (stored.email, stored.full_name) == (
                f"{answer.username}@example.com",
                f"Full {answer.username}",
            )
            verified, _ = await gate.service.hasher.verify_and_update(
                PASSWORD, stored.password_hash
            )
            assert verified
