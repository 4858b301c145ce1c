"""AuthService behaviour that no single endpoint shows: cache policy, re-hashing, inactive
users — on the real PostgreSQL and Redis."""

from __future__ import annotations

import bcrypt
import pytest
from sqlalchemy import text

from authgate.errors import InvalidCredentials, SessionRevoked
from authgate.service.validation import Credentials, Registration
from authgate.sessions.protocol import ClientInfo
from tests.conftest import PASSWORD, GateFactory, unique_username


def registration() -> Registration:
    name = unique_username("svc")
    return Registration(name, f"{name}@example.com", "Service Test", PASSWORD, None)


async def test_cache_off_ignores_an_entry_left_by_an_instance_with_the_cache_on(
    make_gate: GateFactory,
) -> None:
    caching = await make_gate(user_cache_seconds=30)
    not_caching = await make_gate(user_cache_seconds=0)
    user = await caching.service.register(registration())
    login = await caching.service.login(Credentials(user.username, PASSWORD), ClientInfo())
    token = login.tokens.access_token
    assert (await caching.service.authenticate(token)).user.full_name == "Service Test"

    assert caching.engine is not None
    async with caching.engine.begin() as connection:  # a change made outside authgate
        await connection.execute(
            text("UPDATE users SET full_name = 'Changed Outside' WHERE username = :u"),
            {"u": user.username},
        )

    assert (await caching.service.authenticate(token)).user.full_name == "Service Test"
    assert (await not_caching.service.authenticate(token)).user.full_name == "Changed Outside"


async def test_login_upgrades_a_node_bcrypt_hash_and_keeps_the_password(
    make_gate: GateFactory,
) -> None:
    gate = await make_gate(bcrypt_rounds=5)
    user = await gate.service.register(registration())
    legacy = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(4, prefix=b"2a")).decode()
    await gate.service.users.set_password_hash(user.id, legacy)

    await gate.service.login(Credentials(user.username, PASSWORD), ClientInfo())

    stored = await gate.service.users.get_by_login(user.username)
    assert stored is not None
    assert stored.password_hash.startswith("$2b$05$")
    await gate.service.login(Credentials(user.username, PASSWORD), ClientInfo())
    with pytest.raises(InvalidCredentials):
        await gate.service.login(Credentials(user.username, "wrong password!"), ClientInfo())


async def test_inactive_user_cannot_log_in_or_refresh(make_gate: GateFactory) -> None:
    gate = await make_gate()
    user = await gate.service.register(registration())
    login = await gate.service.login(Credentials(user.email, PASSWORD), ClientInfo())

    assert await gate.service.users.set_active(user.id, False)  # behind authgate's back
    await gate.service.sessions.drop_cached_user(user.id)

    with pytest.raises(InvalidCredentials):
        await gate.service.login(Credentials(user.username, PASSWORD), ClientInfo())
    with pytest.raises(SessionRevoked):
        await gate.service.refresh(login.tokens.refresh_token, ClientInfo())
    with pytest.raises(SessionRevoked):  # the refresh revoked the session for good
        await gate.service.authenticate(login.tokens.access_token)
    assert await gate.service.sessions.list(user.id) == []
