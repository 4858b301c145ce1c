"""Parallel guessing bursts against a real uvicorn instance (the audit's first finding).

Every attempt reserves its password check against the limits before bcrypt runs, so a
burst of parallel guesses runs at most the limit's number of checks, and a right password
inside the burst is refused once the limit is full. A check that ran shows from outside:
only a check that ran can answer 401 (login) or the ``currentPassword`` field error
(change-password); a refused attempt answers 429 before any check.

bcrypt runs at cost 10 here, so each check takes long enough that, without the
reservation, the whole burst would pass the lock before the first failure was counted.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
import redis.asyncio as aioredis

from tests.conftest import (
    PASSWORD,
    REDIS_DB,
    REDIS_SERVER_URL,
    redis_prefix_for_run,
    unique_username,
)
from tests.processes import stop_process
from tests.test_instances import Instance, start_instance

BURST = 40
ACCOUNT_LIMIT = 5
IP_LIMIT = 12
COST = "10"


@pytest.fixture(scope="module")
def instance(
    database_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Instance]:
    started = start_instance(
        "bursts",
        tmp_path_factory.mktemp("bursts"),
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        AUTHGATE_BCRYPT_ROUNDS=COST,
        AUTHGATE_LOGIN_MAX_FAILURES=str(ACCOUNT_LIMIT),
        AUTHGATE_LOGIN_MAX_FAILURES_PER_IP=str(IP_LIMIT),
        AUTHGATE_REDIS_PREFIX=f"{redis_prefix_for_run()}-bursts",
    )
    try:
        started.wait_until_serving()
        yield started
    finally:
        stop_process(started.process)


@pytest.fixture
async def http(instance: Instance) -> AsyncIterator[httpx.AsyncClient]:
    limits = httpx.Limits(max_connections=BURST + 5)
    async with httpx.AsyncClient(
        base_url=instance.url, limits=limits, timeout=60, headers={"Origin": instance.url}
    ) as client:
        yield client


async def flush_ip_counter(instance: Instance) -> None:
    """Each test starts with the loopback client's counter empty (they share 127.0.0.1)."""
    client = aioredis.Redis.from_url(f"{REDIS_SERVER_URL}/{REDIS_DB}")
    try:
        prefix = f"{redis_prefix_for_run()}-bursts:throttle:ip:"
        async for key in client.scan_iter(match=f"{prefix}*"):
            await client.delete(key)
    finally:
        await client.aclose()


async def new_account(http: httpx.AsyncClient) -> str:
    username = unique_username("burst")
    response = await http.post(
        "/auth/register",
        json={
            "username": username,
            "email": f"{username}@example.com",
            "fullName": "Burst Target",
            "password": PASSWORD,
        },
    )
    assert response.status_code == 201, response.text
    return username


async def login(http: httpx.AsyncClient, username: str, password: str) -> httpx.Response:
    return await http.post(
        "/auth/login",
        json={"username": username, "password": password},
        headers={"Origin": str(http.base_url).rstrip("/")},
    )


async def test_a_burst_of_wrong_passwords_runs_at_most_the_limit_of_checks(
    instance: Instance, http: httpx.AsyncClient
) -> None:
    await flush_ip_counter(instance)
    username = await new_account(http)

    responses = await asyncio.gather(
        *(login(http, username, f"wrong guess {n}") for n in range(BURST))
    )

    statuses = Counter(response.status_code for response in responses)
    assert statuses[401] == ACCOUNT_LIMIT, statuses  # the checks that ran
    assert statuses[429] == BURST - ACCOUNT_LIMIT, statuses  # refused before bcrypt
    assert all(int(r.headers["retry-after"]) > 0 for r in responses if r.status_code == 429)
    # the account stays locked for the right password too
    assert (await login(http, username, PASSWORD)).status_code == 429


async def test_a_right_password_inside_a_burst_is_refused_once_the_limit_is_full(
    instance: Instance, http: httpx.AsyncClient
) -> None:
    await flush_ip_counter(instance)
    username = await new_account(http)

    async def right_password_later() -> httpx.Response:
        await asyncio.sleep(0.2)  # the 26th attempt: the guesses are in flight by now
        return await login(http, username, PASSWORD)

    guesses = [login(http, username, f"wrong guess {n}") for n in range(25)]
    *wrong, right = await asyncio.gather(*guesses, right_password_later())

    assert right.status_code == 429, right.text
    assert Counter(r.status_code for r in wrong) == {401: ACCOUNT_LIMIT, 429: 25 - ACCOUNT_LIMIT}


async def test_a_burst_over_many_accounts_from_one_client_runs_at_most_the_ip_limit(
    instance: Instance, http: httpx.AsyncClient
) -> None:
    await flush_ip_counter(instance)
    # unknown accounts: each has its own account counter, only the client's limit binds
    names = [unique_username("nobody") for _ in range(BURST)]

    responses = await asyncio.gather(*(login(http, name, "guess") for name in names))

    statuses = Counter(response.status_code for response in responses)
    assert statuses == {401: IP_LIMIT, 429: BURST - IP_LIMIT}, statuses


async def test_a_burst_of_current_password_guesses_runs_at_most_the_limit_of_checks(
    instance: Instance, http: httpx.AsyncClient
) -> None:
    await flush_ip_counter(instance)
    username = await new_account(http)
    token = (await login(http, username, PASSWORD)).json()["data"]["accessToken"]
    await flush_ip_counter(instance)
    headers = {"Authorization": f"Bearer {token}"}

    async def change(current: str, delay: float = 0.0) -> httpx.Response:
        await asyncio.sleep(delay)
        body = {"currentPassword": current, "newPassword": "a brand new password"}
        return await http.post("/auth/change-password", json=body, headers=headers)

    guesses = [change(f"wrong guess {n}") for n in range(BURST - 1)]
    *wrong, right = await asyncio.gather(*guesses, change(PASSWORD, delay=0.2))

    statuses = Counter(response.status_code for response in wrong)
    assert statuses == {400: ACCOUNT_LIMIT, 429: BURST - 1 - ACCOUNT_LIMIT}, statuses
    assert all(
        r.json()["errors"][0]["field"] == "currentPassword" for r in wrong if r.status_code == 400
    )
    # the right current password inside the burst does not change the password
    assert right.status_code == 429, right.text
    assert (await http.get("/auth/me", headers=headers)).status_code == 200
