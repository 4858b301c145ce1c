"""Account controls: the session list, revoking one session, changing the password, and the
service's deactivate/delete, through the example app over ASGI on real PostgreSQL and Redis."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
import pytest

from authgate import AuthGate, ServiceUnavailable, SqlAlchemyUserStore, connect_redis
from authgate.sessions.layout import device_of
from authgate.sessions.redis_store import RedisSessionStore
from authgate.users.engine import create_engine
from authgate.users.protocol import CredentialChange
from tests.conftest import (
    PASSWORD,
    Account,
    ClientFactory,
    GateFactory,
    bearer,
    redis_prefix_for_run,
    register,
    register_and_login,
)

NEW_PASSWORD = "a different horse, stapled"
SESSION_KEYS = {"id", "createdAt", "lastUsedAt", "ip", "userAgent", "device", "current"}


@pytest.fixture
async def gate(make_gate: GateFactory) -> AuthGate:
    """The default gate under a key prefix of this test's own: the failed logins here must not
    count towards the per-IP limit of the shared test client address in other tests."""
    return await make_gate(redis_prefix=f"{redis_prefix_for_run()}-account-{secrets.token_hex(4)}")


def sid_of(account: Account) -> str:
    sid: str = jwt.decode(account.access_token, options={"verify_signature": False})["sid"]
    return sid


def error_fields(response: httpx.Response) -> dict[str, str]:
    body = response.json()
    assert body["success"] is False
    assert body["data"] is None
    return {error["field"]: error["message"] for error in body["errors"]}


async def login_as(
    client: httpx.AsyncClient, account: Account, *, user_agent: str = "pytest", password: str = ""
) -> Account:
    """A new session of ``account``; its tokens are used as Bearer, never as cookies."""
    response = await client.post(
        "/auth/login",
        json={"username": account.username, "password": password or account.password},
        headers={"User-Agent": user_agent},
    )
    assert response.status_code == 200, response.text
    client.cookies.clear()
    data = response.json()["data"]
    return replace(account, access_token=data["accessToken"], refresh_token=data["refreshToken"])


async def new_user(client: httpx.AsyncClient) -> Account:
    account = await register_and_login(client)
    client.cookies.clear()
    return account


async def access_works(client: httpx.AsyncClient, account: Account) -> bool:
    response = await client.get("/auth/me", headers=bearer(account))
    assert response.status_code in (200, 401), response.text
    return response.status_code == 200


async def refresh_works(client: httpx.AsyncClient, account: Account) -> bool:
    """Whether the account's refresh token is still good (it is spent if so)."""
    response = await client.post(
        "/auth/refresh-token", json={"refreshToken": account.refresh_token}
    )
    client.cookies.clear()
    assert response.status_code in (200, 401), response.text
    return response.status_code == 200


async def list_sessions(client: httpx.AsyncClient, account: Account) -> list[dict[str, Any]]:
    response = await client.get("/auth/sessions", headers=bearer(account))
    assert response.status_code == 200, response.text
    sessions: list[dict[str, Any]] = response.json()["data"]
    return sessions


async def login_status(client: httpx.AsyncClient, username: str, password: str) -> int:
    response = await client.post("/auth/login", json={"username": username, "password": password})
    client.cookies.clear()
    return response.status_code


def utc_time(value: str) -> datetime:
    assert value.endswith("Z"), value
    moment = datetime.fromisoformat(value)
    assert moment.utcoffset() == timedelta(0)
    return moment


# -- GET /auth/sessions -----------------------------------------------------------------------


async def test_sessions_lists_every_session_of_the_caller(client: httpx.AsyncClient) -> None:
    account = await register(client)
    agents = ["Firefox/131 on Linux", "Safari/17 on iPhone", "curl/8.5"]
    logins = [await login_as(client, account, user_agent=agent) for agent in agents]
    await new_user(client)  # someone else's session must not show up
    before = datetime.now(UTC)

    response = await client.get("/auth/sessions", headers=bearer(logins[1]))

    assert response.status_code == 200
    body = response.json()
    assert body["success"] is True
    sessions = body["data"]
    assert len(sessions) == 3
    assert all(set(session) == SESSION_KEYS for session in sessions)
    assert {session["id"] for session in sessions} == {sid_of(login) for login in logins}
    # a session keeps the device its agent names, not the raw agent (lean sessions)
    devices = [device_of(agent) for agent in agents]
    assert sorted(session["userAgent"] for session in sessions) == sorted(devices)
    assert all(session["ip"] == "203.0.113.7" for session in sessions)
    for session in sessions:
        created, last_used = utc_time(session["createdAt"]), utc_time(session["lastUsedAt"])
        assert before - timedelta(minutes=1) < created <= last_used <= datetime.now(UTC)
    current = [session for session in sessions if session["current"]]
    assert len(current) == 1
    assert current[0]["id"] == sid_of(logins[1])
    assert current[0]["device"] == current[0]["userAgent"] == devices[1]
    assert body["data"] != await list_sessions(client, logins[0])  # "current" follows the caller


async def test_sessions_needs_authentication(client: httpx.AsyncClient) -> None:
    response = await client.get("/auth/sessions")
    assert response.status_code == 401
    assert response.json()["success"] is False
    assert response.headers["www-authenticate"].lower().startswith("bearer")


# -- DELETE /auth/sessions/{id} ---------------------------------------------------------------


async def test_revoking_a_session_cuts_its_tokens_at_once(client: httpx.AsyncClient) -> None:
    account = await register(client)
    keeper = await login_as(client, account, user_agent="laptop")
    lost = await login_as(client, account, user_agent="lost phone")
    assert await access_works(client, lost)

    response = await client.delete(f"/auth/sessions/{sid_of(lost)}", headers=bearer(keeper))

    assert response.status_code == 200, response.text
    assert response.json()["success"] is True
    assert not await access_works(client, lost)
    assert not await refresh_works(client, lost)
    assert await access_works(client, keeper)
    assert [session["id"] for session in await list_sessions(client, keeper)] == [sid_of(keeper)]
    again = await client.delete(f"/auth/sessions/{sid_of(lost)}", headers=bearer(keeper))
    assert again.status_code == 404


async def test_another_users_session_is_not_found_and_keeps_working(
    client: httpx.AsyncClient,
) -> None:
    victim = await new_user(client)
    attacker = await new_user(client)

    response = await client.delete(f"/auth/sessions/{sid_of(victim)}", headers=bearer(attacker))

    assert response.status_code == 404
    assert response.json()["success"] is False
    assert await access_works(client, victim)
    assert await refresh_works(client, victim)
    assert len(await list_sessions(client, attacker)) == 1


@pytest.mark.parametrize("session_id", ["no-such-session", "0" * 32, "x" * 65])
async def test_an_unknown_session_is_not_found(client: httpx.AsyncClient, session_id: str) -> None:
    account = await new_user(client)
    response = await client.delete(f"/auth/sessions/{session_id}", headers=bearer(account))
    assert response.status_code == 404
    assert response.json()["statusCode"] == 404
    assert await access_works(client, account)


async def test_revoking_ones_own_current_session_logs_out(client: httpx.AsyncClient) -> None:
    account = await new_user(client)
    other = await login_as(client, account)

    response = await client.delete(f"/auth/sessions/{sid_of(account)}", headers=bearer(account))

    assert response.status_code == 200, response.text
    assert not await access_works(client, account)
    assert not await refresh_works(client, account)
    assert await access_works(client, other)


async def test_revoking_ones_own_session_by_cookie_clears_the_cookies(
    client: httpx.AsyncClient,
) -> None:
    await register_and_login(client)  # the client now holds the session's cookies
    sessions = (await client.get("/auth/sessions")).json()["data"]

    response = await client.delete(f"/auth/sessions/{sessions[0]['id']}")

    assert response.status_code == 200, response.text
    cleared = response.headers.get_list("set-cookie")
    assert any(c.startswith("accessToken=") and "Max-Age=0" in c for c in cleared)
    assert any(c.startswith("refreshToken=") and "Max-Age=0" in c for c in cleared)
    assert (await client.get("/auth/me")).status_code == 401


async def test_revoking_needs_authentication(client: httpx.AsyncClient) -> None:
    account = await new_user(client)
    response = await client.delete(f"/auth/sessions/{sid_of(account)}")
    assert response.status_code == 401
    assert await access_works(client, account)


# -- POST /auth/change-password ---------------------------------------------------------------


async def test_change_password_with_a_wrong_current_password(client: httpx.AsyncClient) -> None:
    account = await new_user(client)

    response = await client.post(
        "/auth/change-password",
        json={"currentPassword": "not the password", "newPassword": NEW_PASSWORD},
        headers=bearer(account),
    )

    assert response.status_code == 400
    assert "currentPassword" in error_fields(response)
    assert await access_works(client, account)
    assert await login_status(client, account.username, PASSWORD) == 200
    assert await login_status(client, account.username, NEW_PASSWORD) == 401


@pytest.mark.parametrize(
    ("new_password", "message_part"),
    [
        ("é" * 36 + "x", "72"),  # 73 bytes in UTF-8, only 37 characters
        ("x" * 73, "72"),
        ("short", "8"),
        ("with a \x00 nul inside", "NUL"),
    ],
)
async def test_change_password_refuses_a_new_password_breaking_the_rules(
    client: httpx.AsyncClient, new_password: str, message_part: str
) -> None:
    account = await new_user(client)
    other = await login_as(client, account)

    response = await client.post(
        "/auth/change-password",
        json={"currentPassword": PASSWORD, "newPassword": new_password},
        headers=bearer(account),
    )

    assert response.status_code == 400
    fields = error_fields(response)
    assert set(fields) == {"newPassword"}
    assert message_part in fields["newPassword"]
    assert await access_works(client, other)  # nothing was revoked
    assert await login_status(client, account.username, PASSWORD) == 200


async def test_change_password_lists_every_missing_field(client: httpx.AsyncClient) -> None:
    account = await new_user(client)
    response = await client.post("/auth/change-password", json={}, headers=bearer(account))
    assert response.status_code == 400
    assert set(error_fields(response)) == {"currentPassword", "newPassword"}


async def test_change_password_revokes_the_other_sessions_only(client: httpx.AsyncClient) -> None:
    account = await register(client)
    current = await login_as(client, account, user_agent="here")
    others = [await login_as(client, account, user_agent=f"elsewhere {n}") for n in range(2)]

    response = await client.post(
        "/auth/change-password",
        json={"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD},
        headers=bearer(current),
    )

    assert response.status_code == 200, response.text
    assert response.json()["data"] == {"revoked": 2}
    for other in others:
        assert not await access_works(client, other)
        assert not await refresh_works(client, other)
    assert await access_works(client, current)
    sessions = await list_sessions(client, current)
    assert [(s["id"], s["current"]) for s in sessions] == [(sid_of(current), True)]
    assert await refresh_works(client, current)
    assert await login_status(client, account.username, PASSWORD) == 401
    assert await login_status(client, account.username, NEW_PASSWORD) == 200


async def test_change_password_needs_authentication(client: httpx.AsyncClient) -> None:
    account = await register(client)
    response = await client.post(
        "/auth/change-password",
        json={"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD},
    )
    assert response.status_code == 401
    assert await login_status(client, account.username, PASSWORD) == 200


# -- a password change is all or nothing for the other sessions ------------------------------


class SessionStoreFailingRevokeAll(RedisSessionStore):
    """The real Redis store, whose Redis becomes unreachable when logout-all starts."""

    async def revoke_all(self, user_id: str, *, keep_sid: str | None = None) -> int:
        raise ServiceUnavailable("Session store unavailable")


class UserStoreFailingPasswordWrite(SqlAlchemyUserStore):
    """The real SQL store, whose database becomes unreachable when the hash is written."""

    async def change_credentials(
        self, user_id: str, change: CredentialChange, *, epoch: int | None = None
    ) -> int | None:
        raise ServiceUnavailable("Database unavailable")


@pytest.fixture
async def faulty_gate(gate: AuthGate, request: pytest.FixtureRequest) -> AsyncIterator[AuthGate]:
    """A second gate on the same Redis and database with one fault injected: ``"redis"``
    fails logout-all, ``"database"`` fails writing the hash."""
    redis = connect_redis(gate.settings.redis_url)
    engine = create_engine(gate.settings.database_url)
    prefix = gate.settings.redis_prefix
    sessions: RedisSessionStore
    users: SqlAlchemyUserStore
    if request.param == "redis":
        sessions = SessionStoreFailingRevokeAll(redis, prefix=prefix)
        users = SqlAlchemyUserStore(engine)
    else:
        sessions = RedisSessionStore(redis, prefix=prefix)
        users = UserStoreFailingPasswordWrite(engine)
    faulty = AuthGate(gate.settings, users=users, sessions=sessions)
    await faulty.startup()
    yield faulty
    await faulty.shutdown()
    await redis.aclose()
    await engine.dispose()


@pytest.mark.parametrize(
    ("faulty_gate", "others_survive"),
    [("redis", True), ("database", False)],
    indirect=["faulty_gate"],
)
async def test_a_failing_password_change_leaves_no_new_password_with_old_sessions(
    client: httpx.AsyncClient,
    faulty_gate: AuthGate,
    make_client: ClientFactory,
    others_survive: bool,
) -> None:
    account = await register(client)
    current = await login_as(client, account, user_agent="here")
    other = await login_as(client, account, user_agent="elsewhere")

    response = await make_client(faulty_gate).post(
        "/auth/change-password",
        json={"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD},
        headers=bearer(current),
    )

    assert response.status_code == 503, response.text
    # the change did not happen: the old password still logs in, the new one does not
    assert await login_status(client, account.username, NEW_PASSWORD) == 401
    assert await login_status(client, account.username, PASSWORD) == 200
    # Redis failed first: nothing changed. The database failed after the other sessions
    # ended: they stay ended (safe), and the caller's own session lives on.
    assert await access_works(client, other) is others_survive
    assert await access_works(client, current)


# -- deactivating and deleting a user ---------------------------------------------------------


async def cached_user_exists(gate: AuthGate, user_id: str) -> bool:
    store = gate.service.sessions
    assert isinstance(store, RedisSessionStore)
    assert gate.redis is not None
    return bool(await gate.redis.exists(store.user_key(user_id)))


async def test_deactivating_a_user_revokes_every_session_and_drops_the_cache(
    gate: AuthGate, client: httpx.AsyncClient
) -> None:
    account = await new_user(client)
    second = await login_as(client, account)
    assert await access_works(client, account)  # fills the shared user cache
    assert await cached_user_exists(gate, account.id)

    assert await gate.service.set_active(account.id, False) is True

    assert not await cached_user_exists(gate, account.id)
    for session in (account, second):
        assert not await access_works(client, session)
        assert not await refresh_works(client, session)
    assert await login_status(client, account.username, PASSWORD) == 401
    assert await gate.service.set_active(account.id, True) is True
    assert await login_status(client, account.username, PASSWORD) == 200


async def test_deleting_a_user_revokes_every_session_and_drops_the_cache(
    gate: AuthGate, client: httpx.AsyncClient
) -> None:
    account = await new_user(client)
    second = await login_as(client, account)
    assert await access_works(client, second)
    assert await cached_user_exists(gate, account.id)

    assert await gate.service.delete_user(account.id) is True

    assert not await cached_user_exists(gate, account.id)
    for session in (account, second):
        assert not await access_works(client, session)
        assert not await refresh_works(client, session)
    assert await login_status(client, account.username, PASSWORD) == 401
    assert await gate.service.delete_user(account.id) is False
