"""Login throttling per account and per client IP (contract §6, "Login protection"), through
the example app over ASGI on real PostgreSQL and Redis.

Each test runs under its own Redis key prefix, so its counters (above all the per-IP ones of
the shared test client address) neither see nor leave failures of other tests.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from authgate import AuthGate
from tests.conftest import (
    CLIENT_IP as DEFAULT_IP,
)
from tests.conftest import (
    PASSWORD,
    ClientFactory,
    GateFactory,
    redis_prefix_for_run,
    register,
)

OTHER_IP = "198.51.100.9"
WINDOW = 15 * 60

IsolatedGate = Callable[..., Any]


@pytest.fixture
def isolated_gate(make_gate: GateFactory) -> IsolatedGate:
    """``make_gate`` under a key prefix of the test's own (still cleaned up with the run)."""

    async def factory(**overrides: Any) -> AuthGate:
        prefix = f"{redis_prefix_for_run()}-throttle-{secrets.token_hex(4)}"
        return await make_gate(redis_prefix=prefix, **overrides)

    return factory


async def attempt(
    client: httpx.AsyncClient, login: str, password: str, **headers: str
) -> httpx.Response:
    response = await client.post(
        "/auth/login", json={"username": login, "password": password}, headers=headers
    )
    client.cookies.clear()
    return response


async def fail(client: httpx.AsyncClient, login: str, times: int, **headers: str) -> None:
    """``times`` wrong passwords for ``login``, each an ordinary 401."""
    for n in range(times):
        response = await attempt(client, login, f"wrong password {n}", **headers)
        assert response.status_code == 401, (n, response.text)
        assert "retry-after" not in response.headers


def assert_throttled(response: httpx.Response, window: int = WINDOW) -> int:
    """A 429 envelope with an integer ``Retry-After`` within the window; returns it."""
    assert response.status_code == 429, response.text
    body = response.json()
    assert body["statusCode"] == 429
    assert body["success"] is False
    assert body["data"] is None
    assert isinstance(body["errors"], list)
    assert body["message"]
    retry_after = response.headers["retry-after"]
    assert retry_after.isdigit(), retry_after
    assert 1 <= int(retry_after) <= window
    assert "accessToken" not in response.text
    assert "set-cookie" not in response.headers
    return int(retry_after)


async def throttle_keys(gate: AuthGate) -> dict[str, int]:
    """The gate's throttle counters in Redis, with their remaining TTL (ms)."""
    assert gate.redis is not None
    keys: dict[str, int] = {}
    async for key in gate.redis.scan_iter(match=f"{gate.settings.redis_prefix}:throttle:*"):
        keys[key.decode() if isinstance(key, bytes) else key] = await gate.redis.pttl(key)
    return keys


async def session_ips(client: httpx.AsyncClient, token: str) -> list[str]:
    response = await client.get("/auth/sessions", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    return [session["ip"] for session in response.json()["data"]]


# -- per account --------------------------------------------------------------------------------


async def test_the_sixth_attempt_on_an_account_is_throttled_even_when_right(
    isolated_gate: IsolatedGate, make_client: ClientFactory
) -> None:
    gate = await isolated_gate()
    client, elsewhere = make_client(gate, DEFAULT_IP), make_client(gate, OTHER_IP)
    account = await register(client)

    await fail(client, account.username, 5)

    assert_throttled(await attempt(client, account.username, "wrong again"))
    # locked means locked: the right password, another spelling and another IP alike
    assert_throttled(await attempt(client, account.username, PASSWORD))
    assert_throttled(await attempt(client, account.username.upper(), PASSWORD))
    assert_throttled(await attempt(client, account.email, PASSWORD))
    assert_throttled(await attempt(elsewhere, account.username, PASSWORD))
    # the counters expire on their own: every key has a TTL within the window
    keys = await throttle_keys(gate)
    assert keys
    assert all(0 < ttl <= WINDOW * 1000 for ttl in keys.values()), keys


async def test_a_success_before_the_limit_resets_the_account_counter(
    isolated_gate: IsolatedGate, make_client: ClientFactory
) -> None:
    gate = await isolated_gate()
    client = make_client(gate, DEFAULT_IP)
    account = await register(client)

    await fail(client, account.username, 4)
    assert (await attempt(client, account.username, PASSWORD)).status_code == 200
    await fail(client, account.username, 5)

    assert_throttled(await attempt(client, account.username, PASSWORD))


async def test_an_unknown_username_is_throttled_the_same_way(
    isolated_gate: IsolatedGate, make_client: ClientFactory
) -> None:
    gate = await isolated_gate()
    client, elsewhere = make_client(gate, DEFAULT_IP), make_client(gate, OTHER_IP)
    known = await register(client)
    unknown = f"nobody_{secrets.token_hex(5)}"

    await fail(client, known.username, 5)
    await fail(client, unknown, 5)

    on_known = await attempt(client, known.username, "guess")
    on_unknown = await attempt(client, unknown, "guess")
    assert_throttled(on_known)
    assert_throttled(on_unknown)
    assert on_unknown.json() == on_known.json()
    assert_throttled(await attempt(elsewhere, unknown, "guess"))
    # the unknown name's lock is its own: the known account of another user is not touched
    other = await register(client)
    assert (await attempt(elsewhere, other.username, PASSWORD)).status_code == 200


async def test_wrong_current_passwords_at_change_password_count_as_failed_logins(
    isolated_gate: IsolatedGate, make_client: ClientFactory
) -> None:
    gate = await isolated_gate()
    client = make_client(gate, DEFAULT_IP)
    account = await register(client)
    token = (await attempt(client, account.username, PASSWORD)).json()["data"]["accessToken"]
    auth = {"Authorization": f"Bearer {token}"}

    for n in range(5):
        response = await client.post(
            "/auth/change-password",
            json={"currentPassword": f"guess number {n}", "newPassword": "whatever it is"},
            headers=auth,
        )
        assert response.status_code == 400, response.text

    right = await client.post(
        "/auth/change-password",
        json={"currentPassword": PASSWORD, "newPassword": "whatever it is"},
        headers=auth,
    )
    assert_throttled(right)
    assert_throttled(await attempt(client, account.username, PASSWORD))


# -- per client IP ------------------------------------------------------------------------------


async def test_failures_across_accounts_lock_the_ip_not_the_accounts(
    isolated_gate: IsolatedGate, make_client: ClientFactory
) -> None:
    gate = await isolated_gate(login_max_failures_per_ip=3)
    attacker, user_side = make_client(gate, DEFAULT_IP), make_client(gate, OTHER_IP)
    accounts = [await register(user_side) for _ in range(4)]

    for account in accounts[:3]:
        await fail(attacker, account.username, 1)

    assert_throttled(await attempt(attacker, accounts[3].username, PASSWORD))
    assert_throttled(await attempt(attacker, f"nobody_{secrets.token_hex(4)}", "guess"))
    for account in accounts:  # one failure each is far from the per-account limit
        assert (await attempt(user_side, account.username, PASSWORD)).status_code == 200


async def test_counters_expire_by_themselves(
    isolated_gate: IsolatedGate, make_client: ClientFactory
) -> None:
    gate = await isolated_gate(login_window=2, login_max_failures_per_ip=6)
    client = make_client(gate, DEFAULT_IP)
    account = await register(client)
    strangers = [f"nobody_{secrets.token_hex(4)}" for _ in range(2)]

    await fail(client, account.username, 5)
    await fail(client, strangers[0], 1)  # the IP's sixth failure: the IP is locked too
    assert_throttled(await attempt(client, account.username, PASSWORD), window=2)
    assert_throttled(await attempt(client, strangers[1], "guess"), window=2)
    keys = await throttle_keys(gate)
    assert len(keys) == 3  # the account, the one failed unknown name, the IP
    assert all(0 < ttl <= 2000 for ttl in keys.values()), keys

    await asyncio.sleep(2.2)

    assert gate.redis is not None
    assert await gate.redis.exists(*keys) == 0
    assert (await attempt(client, account.username, PASSWORD)).status_code == 200


# -- X-Forwarded-For ----------------------------------------------------------------------------


async def test_forwarded_for_is_ignored_from_an_untrusted_peer(
    isolated_gate: IsolatedGate, make_client: ClientFactory
) -> None:
    gate = await isolated_gate(login_max_failures_per_ip=3)
    client = make_client(gate, DEFAULT_IP)
    account = await register(make_client(gate, OTHER_IP))

    response = await attempt(client, account.username, PASSWORD, **{"X-Forwarded-For": "1.2.3.4"})
    assert response.status_code == 200
    assert await session_ips(client, response.json()["data"]["accessToken"]) == [DEFAULT_IP]
    # a new forged address on every attempt does not dodge the per-IP limit
    for n in range(3):
        stranger = f"nobody_{secrets.token_hex(4)}"
        await fail(client, stranger, 1, **{"X-Forwarded-For": f"192.0.2.{n + 1}"})
    forged = await attempt(client, account.username, PASSWORD, **{"X-Forwarded-For": "192.0.2.99"})
    assert_throttled(forged)


async def test_forwarded_for_from_a_trusted_proxy_names_the_client(
    isolated_gate: IsolatedGate, make_client: ClientFactory
) -> None:
    gate = await isolated_gate(trusted_proxies=("203.0.113.0/24",), login_max_failures_per_ip=3)
    proxy = make_client(gate, DEFAULT_IP)  # inside 203.0.113.0/24
    accounts = [await register(make_client(gate, OTHER_IP)) for _ in range(2)]
    # the client forged the first hop; our proxies appended the last one
    chain = {"X-Forwarded-For": "6.6.6.6, 198.51.100.77, 203.0.113.99"}

    response = await attempt(proxy, accounts[0].username, PASSWORD, **chain)
    assert response.status_code == 200
    token = response.json()["data"]["accessToken"]
    assert await session_ips(proxy, token) == ["198.51.100.77"]

    # per-IP throttling follows the forwarded client, not the proxy
    for _ in range(3):
        stranger = f"nobody_{secrets.token_hex(4)}"
        await fail(proxy, stranger, 1, **{"X-Forwarded-For": "198.51.100.66"})
    blocked = await attempt(
        proxy, accounts[1].username, PASSWORD, **{"X-Forwarded-For": "198.51.100.66"}
    )
    assert_throttled(blocked)
    fine = await attempt(proxy, accounts[1].username, PASSWORD, **chain)
    assert fine.status_code == 200


async def test_ipv6_clients_are_counted_per_64_and_keys_stay_short(
    isolated_gate: IsolatedGate, make_client: ClientFactory
) -> None:
    gate = await isolated_gate(login_max_failures_per_ip=3)
    # one subscriber's /64: rotating the interface part gives no new budget
    rotating = [make_client(gate, f"2001:db8:1:2::{n:x}") for n in range(1, 5)]
    neighbour = make_client(gate, "2001:db8:1:3::1")
    accounts = [await register(neighbour) for _ in range(4)]

    for client, account in zip(rotating[:3], accounts, strict=False):
        await fail(client, account.username, 1)

    assert_throttled(await attempt(rotating[3], accounts[3].username, PASSWORD))
    assert (await attempt(neighbour, accounts[3].username, PASSWORD)).status_code == 200
    # a peer that is no address (3,000 characters) is counted in one bounded bucket
    odd = make_client(gate, "1" * 3000)
    await fail(odd, f"nobody_{secrets.token_hex(4)}", 1)
    keys = await throttle_keys(gate)
    assert max(len(key) for key in keys) < len(gate.settings.redis_prefix) + 80, keys
    assert any(key.endswith(":ip:{unknown}") for key in keys), keys
