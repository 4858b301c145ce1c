"""``Accounts``: finding and listing users, roles (seen at the next request on every
instance), and ending another user's sessions — on real PostgreSQL and Redis."""

from __future__ import annotations

import httpx
import pytest

from authgate import AuthGate, NotFound, ValidationError
from authgate.observability.events import ROLE_GRANTED, ROLE_REVOKED, SecurityEvent
from tests.conftest import ClientFactory, GateFactory, bearer, register, register_and_login


async def me(client: httpx.AsyncClient, token: str) -> httpx.Response:
    client.cookies.clear()
    return await client.get("/auth/me", headers=bearer(token))


async def test_find_by_id_username_or_email(gate: AuthGate, client: httpx.AsyncClient) -> None:
    account = await register(client)
    for reference in (account.id, account.username, account.email, account.email.upper()):
        user = await gate.accounts.find(reference)
        assert user.id == account.id
        assert user.password_hash == ""  # never leaves the service layer
    for unknown in ("nobody_here", "nobody@example.com", "0" * 8 + "-0000-0000-0000-" + "0" * 12):
        with pytest.raises(NotFound):
            await gate.accounts.find(unknown)


async def test_a_granted_role_is_seen_at_the_next_request_on_every_instance(
    make_gate: GateFactory, make_client: ClientFactory
) -> None:
    first, second = await make_gate(), await make_gate()
    client_a, client_b = make_client(first), make_client(second)
    account = await register_and_login(client_a)
    # both instances have the user cached, without roles
    assert (await me(client_a, account.access_token)).json()["data"]["roles"] == []
    assert (await me(client_b, account.access_token)).json()["data"]["roles"] == []

    user = await first.accounts.grant_role(account.id, "billing:read")
    assert user.roles == {"billing:read"}
    await first.accounts.grant_role(account.id, "admin")
    await first.accounts.grant_role(account.id, "admin")  # twice: no change, no error
    for client in (client_a, client_b):
        data = (await me(client, account.access_token)).json()["data"]
        assert data["roles"] == ["admin", "billing:read"]

    await second.accounts.revoke_role(account.id, "admin")
    await second.accounts.revoke_role(account.id, "admin")
    for client in (client_a, client_b):
        assert (await me(client, account.access_token)).json()["data"]["roles"] == ["billing:read"]


@pytest.mark.parametrize(
    "role", ["", "Admin", "a b", "x" * 65, "rôle", "admin\n", "../etc", "a,b", "a*"]
)
async def test_role_names_are_checked(gate: AuthGate, client: httpx.AsyncClient, role: str) -> None:
    account = await register(client)
    with pytest.raises(ValidationError):
        await gate.accounts.grant_role(account.id, role)
    with pytest.raises(ValidationError):
        await gate.accounts.revoke_role(account.id, role)


async def test_good_role_names_and_unknown_users(gate: AuthGate, client: httpx.AsyncClient) -> None:
    account = await register(client)
    names = {"admin", "billing:read", "a", "x" * 64, "team-1.ops_2"}
    for name in names:
        await gate.accounts.grant_role(account.id, name)
    assert (await gate.accounts.find(account.id)).roles == names
    for user_id in ("not-an-id", "00000000-0000-0000-0000-000000000000"):
        with pytest.raises(NotFound):
            await gate.accounts.grant_role(user_id, "admin")
        with pytest.raises(NotFound):
            await gate.accounts.revoke_role(user_id, "admin")


async def test_role_changes_are_security_events(gate: AuthGate, client: httpx.AsyncClient) -> None:
    seen: list[SecurityEvent] = []

    async def hook(event: SecurityEvent) -> None:
        seen.append(event)

    gate.events.add_hook(hook)
    account = await register(client)
    await gate.accounts.grant_role(account.id, "admin")
    await gate.accounts.revoke_role(account.id, "admin")
    roles = [e for e in seen if e.name in (ROLE_GRANTED, ROLE_REVOKED)]  # not user.registered
    assert [(e.name, e.user_id, e.detail) for e in roles] == [
        (ROLE_GRANTED, account.id, {"role": "admin"}),
        (ROLE_REVOKED, account.id, {"role": "admin"}),
    ]


async def test_deleting_a_user_deletes_their_roles(
    gate: AuthGate, client: httpx.AsyncClient
) -> None:
    account = await register(client)
    await gate.accounts.grant_role(account.id, "admin")
    assert await gate.service.delete_user(account.id)
    with pytest.raises(NotFound):
        await gate.accounts.grant_role(account.id, "admin")
    # the same username again starts without the old roles
    again = await register(client, username=account.username)
    assert (await gate.accounts.find(again.id)).roles == frozenset()


async def test_users_are_listed_in_pages(gate: AuthGate, client: httpx.AsyncClient) -> None:
    stem = "pager_" + (await register(client)).username[-6:]
    made = sorted([(await register(client, username=f"{stem}_{i}")).username for i in range(5)])
    seen: list[str] = []
    after: str | None = f"{stem}_"  # just before this test's users
    while after is not None and after.startswith(stem):
        page = await gate.accounts.list_users(limit=2, after=after)
        assert len(page.users) <= 2
        seen += [user.username for user in page.users if user.username.startswith(stem)]
        assert all(user.password_hash == "" for user in page.users)
        after = page.next_after
    assert seen == made


async def test_another_users_sessions_can_be_listed_and_ended(
    gate: AuthGate, client: httpx.AsyncClient, make_client: ClientFactory
) -> None:
    account = await register_and_login(client)
    other = await register_and_login(make_client(gate), username=account.username + "_2")
    phone = make_client(gate)
    response = await phone.post(
        "/auth/login", json={"username": account.username, "password": account.password}
    )
    phone_token = response.json()["data"]["accessToken"]
    sessions = await gate.accounts.sessions(account.id)
    assert len(sessions) == 2

    await gate.accounts.revoke_session(account.id, sessions[0].id)
    assert (await me(client, account.access_token)).status_code == 401
    assert (await me(client, phone_token)).status_code == 200
    with pytest.raises(NotFound):
        await gate.accounts.revoke_session(account.id, sessions[0].id)
    other_sid = (await gate.accounts.sessions(other.id))[0].id
    with pytest.raises(NotFound):  # a session of another user is not found under this one
        await gate.accounts.revoke_session(account.id, other_sid)

    assert await gate.accounts.revoke_sessions(account.id) == 1
    assert (await me(client, phone_token)).status_code == 401
    assert (await me(client, other.access_token)).status_code == 200


async def test_a_cache_entry_from_before_roles_is_reloaded(
    gate: AuthGate, client: httpx.AsyncClient
) -> None:
    account = await register_and_login(client)
    await gate.accounts.grant_role(account.id, "admin")
    # what an instance of the previous version caches: no "roles" key at all
    old_entry = (await gate.accounts.find(account.id)).to_cache()
    del old_entry["roles"]
    await gate.service.sessions.cache_user(account.id, old_entry, 60)
    assert (await me(client, account.access_token)).json()["data"]["roles"] == ["admin"]
