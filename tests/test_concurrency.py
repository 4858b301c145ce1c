"""Races a user can cause: parallel refreshes (grace window, reuse detection) and parallel
registrations, through the example app over ASGI on real PostgreSQL and Redis."""

from __future__ import annotations

import asyncio
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any

import httpx
import jwt
from sqlalchemy import func, or_, select

from authgate import AuthGate
from authgate.users.tables import UserRow
from tests.conftest import (
    PASSWORD,
    Account,
    ClientFactory,
    GateFactory,
    register_and_login,
    unique_username,
)

RACERS = 20


def without_cookies(client: httpx.AsyncClient) -> httpx.AsyncClient:
    """Make ``client`` ignore every ``Set-Cookie``: each request sends exactly the token it
    names, however the racing responses interleave."""
    client.cookies = CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))
    return client


async def logged_in(
    gate: AuthGate, make_client: ClientFactory
) -> tuple[httpx.AsyncClient, Account]:
    client = without_cookies(make_client(gate))
    return client, await register_and_login(client)


def jti_of(token: str) -> str:
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    jti: str = claims["jti"]
    return jti


async def refresh(client: httpx.AsyncClient, refresh_token: str) -> httpx.Response:
    return await client.post("/auth/refresh-token", json={"refreshToken": refresh_token})


async def profile_status(client: httpx.AsyncClient, access_token: str) -> int:
    response = await client.get("/api/profile", headers={"Authorization": f"Bearer {access_token}"})
    return response.status_code


def assert_refused(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    body = response.json()
    assert body["success"] is False
    assert body["data"] is None


# -- grace window ---------------------------------------------------------------------------


async def test_parallel_refreshes_inside_the_window_converge_on_one_token(
    gate: AuthGate, make_client: ClientFactory
) -> None:
    client, account = await logged_in(gate, make_client)

    responses = await asyncio.gather(
        *(refresh(client, account.refresh_token) for _ in range(RACERS))
    )

    assert [response.status_code for response in responses] == [200] * RACERS, [
        response.text for response in responses if response.status_code != 200
    ]
    data = [response.json()["data"] for response in responses]
    refresh_tokens = {item["refreshToken"] for item in data}
    assert len(refresh_tokens) == 1
    (current,) = refresh_tokens
    assert jti_of(current) != jti_of(account.refresh_token)
    assert {jti_of(item["refreshToken"]) for item in data} == {jti_of(current)}
    # every tab got a working access token of the same, still live session
    statuses = await asyncio.gather(*(profile_status(client, item["accessToken"]) for item in data))
    assert statuses == [200] * RACERS

    # the token they converged on is the session's current one: it rotates normally
    following = await refresh(client, current)
    assert following.status_code == 200, following.text
    assert jti_of(following.json()["data"]["refreshToken"]) not in {
        jti_of(current),
        jti_of(account.refresh_token),
    }


async def test_the_previous_token_after_the_window_revokes_the_session(
    make_gate: GateFactory, make_client: ClientFactory
) -> None:
    client, account = await logged_in(await make_gate(refresh_grace_seconds=1), make_client)
    rotated = await refresh(client, account.refresh_token)
    assert rotated.status_code == 200, rotated.text
    current = rotated.json()["data"]
    assert await profile_status(client, current["accessToken"]) == 200

    await asyncio.sleep(1.2)

    assert_refused(await refresh(client, account.refresh_token))
    # the theft revoked the whole session: the thief's and the owner's tokens alike
    assert_refused(await refresh(client, current["refreshToken"]))
    assert await profile_status(client, current["accessToken"]) == 401
    assert await profile_status(client, account.access_token) == 401


async def test_an_older_generation_inside_the_window_revokes_the_session(
    gate: AuthGate, make_client: ClientFactory
) -> None:
    client, account = await logged_in(gate, make_client)
    first = await refresh(client, account.refresh_token)
    assert first.status_code == 200, first.text
    second = await refresh(client, first.json()["data"]["refreshToken"])
    assert second.status_code == 200, second.text
    current = second.json()["data"]

    # two rotations back is not covered by the grace window, however recent
    assert_refused(await refresh(client, account.refresh_token))
    assert_refused(await refresh(client, current["refreshToken"]))
    assert await profile_status(client, current["accessToken"]) == 401


async def test_the_immediate_predecessor_inside_the_window_is_not_reuse(
    gate: AuthGate, make_client: ClientFactory
) -> None:
    client, account = await logged_in(gate, make_client)
    first = await refresh(client, account.refresh_token)
    assert first.status_code == 200, first.text
    current = first.json()["data"]["refreshToken"]

    # a client that lost the response asks again: it gets the current token, no rotation
    again = await refresh(client, account.refresh_token)
    assert again.status_code == 200, again.text
    assert again.json()["data"]["refreshToken"] == current
    assert (await refresh(client, current)).status_code == 200


async def test_grace_zero_makes_any_repeat_a_reuse(
    make_gate: GateFactory, make_client: ClientFactory
) -> None:
    client, account = await logged_in(await make_gate(refresh_grace_seconds=0), make_client)
    rotated = await refresh(client, account.refresh_token)
    assert rotated.status_code == 200, rotated.text
    current = rotated.json()["data"]

    assert_refused(await refresh(client, account.refresh_token))
    assert_refused(await refresh(client, current["refreshToken"]))
    assert await profile_status(client, current["accessToken"]) == 401


async def test_grace_zero_lets_exactly_one_parallel_refresh_win(
    make_gate: GateFactory, make_client: ClientFactory
) -> None:
    client, account = await logged_in(await make_gate(refresh_grace_seconds=0), make_client)

    responses = await asyncio.gather(
        *(refresh(client, account.refresh_token) for _ in range(RACERS))
    )

    statuses = sorted(response.status_code for response in responses)
    assert statuses == [200] + [401] * (RACERS - 1)
    # the losers looked like a replay, so the winner's session is revoked as well
    (winner,) = (response for response in responses if response.status_code == 200)
    assert_refused(await refresh(client, winner.json()["data"]["refreshToken"]))


# -- registration races ---------------------------------------------------------------------


def registration(username: str, email: str) -> dict[str, str]:
    return {"username": username, "email": email, "fullName": "Race Runner", "password": PASSWORD}


async def race_registrations(
    client: httpx.AsyncClient, bodies: list[dict[str, str]]
) -> list[httpx.Response]:
    responses = await asyncio.gather(*(client.post("/auth/register", json=b) for b in bodies))
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [201] + [409] * (len(bodies) - 1), [r.text for r in responses]
    return responses


def conflict_fields(responses: list[httpx.Response]) -> set[str]:
    fields: set[str] = set()
    for response in responses:
        if response.status_code == 409:
            body = response.json()
            assert body["success"] is False
            fields.update(error["field"] for error in body["errors"])
    return fields


async def count_users(gate: AuthGate, *conditions: Any) -> int:
    assert gate.engine is not None
    async with gate.engine.connect() as connection:
        result = await connection.execute(
            select(func.count()).select_from(UserRow).where(or_(*conditions))
        )
        return int(result.scalar_one())


async def test_racing_registrations_of_one_username_create_one_user(
    gate: AuthGate, make_client: ClientFactory
) -> None:
    name = unique_username("race")
    # the same name in different cases: unique case-insensitively, so still one user
    bodies = [
        registration(name.upper() if i % 2 else name, f"{i}.{name}@example.com")
        for i in range(RACERS)
    ]

    responses = await race_registrations(make_client(gate), bodies)

    assert conflict_fields(responses) == {"username"}
    assert await count_users(gate, UserRow.username == name) == 1


async def test_racing_registrations_of_one_email_create_one_user(
    gate: AuthGate, make_client: ClientFactory
) -> None:
    stem = unique_username("mail")
    email = f"{stem}@example.com"
    bodies = [registration(f"{stem}_{i}", email.upper() if i % 2 else email) for i in range(RACERS)]

    responses = await race_registrations(make_client(gate), bodies)

    assert conflict_fields(responses) == {"email"}
    assert await count_users(gate, UserRow.email == email) == 1
    assert await count_users(gate, *(UserRow.username == body["username"] for body in bodies)) == 1


async def test_a_taken_username_that_contains_email_is_a_username_conflict(
    client: httpx.AsyncClient,
) -> None:
    name = unique_username("email")
    first = await client.post("/auth/register", json=registration(name, f"a.{name}@example.com"))
    assert first.status_code == 201, first.text

    second = await client.post("/auth/register", json=registration(name, f"b.{name}@example.com"))

    assert second.status_code == 409, second.text
    assert conflict_fields([second]) == {"username"}
