"""Roles as scopes (contract §9): ``request.auth.scopes`` holds ``authenticated``, the
user's roles and ``verified``; a role change is seen at the next request on every gate."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import UTC, datetime

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route

from authgate import AuthGate, ValidationError
from authgate.http.principal import scopes_of
from authgate.users.protocol import User
from tests.conftest import GateFactory, register_and_login
from tests.mailbox import Mailbox


async def scopes(request: Request) -> JSONResponse:
    return JSONResponse({"scopes": request.auth.scopes})


@asynccontextmanager
async def scopes_client(gate: AuthGate) -> AsyncIterator[httpx.AsyncClient]:
    """A client of a small Starlette app on ``gate`` that shows the request's scopes."""
    app = Starlette(
        routes=[Route("/scopes", scopes), Mount("/auth", app=gate.router())],
        middleware=[gate.middleware()],
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


async def scopes_seen(client: httpx.AsyncClient, token: str) -> list[str]:
    response = await client.get("/scopes", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    seen: list[str] = response.json()["scopes"]
    return seen


async def test_roles_are_scopes_at_the_next_request_on_every_gate(make_gate: GateFactory) -> None:
    first, second = await make_gate(), await make_gate()
    async with scopes_client(first) as client_a, scopes_client(second) as client_b:
        account = await register_and_login(client_a)
        client_a.cookies.clear()  # bearer only from here on
        anonymous = await client_a.get("/scopes")
        assert anonymous.json()["scopes"] == []
        for client in (client_a, client_b):  # both gates now have the user cached
            assert await scopes_seen(client, account.access_token) == ["authenticated"]

        await first.accounts.grant_role(account.id, "billing:read")
        await first.accounts.grant_role(account.id, "admin")
        for client in (client_a, client_b):
            seen = await scopes_seen(client, account.access_token)
            assert seen == ["authenticated", "admin", "billing:read"]

        await second.accounts.revoke_role(account.id, "admin")
        for client in (client_a, client_b):
            seen = await scopes_seen(client, account.access_token)
            assert seen == ["authenticated", "billing:read"]


def test_scopes_of_a_user() -> None:
    user = User("id", "ann", "ann@example.com", "Ann", None, True, datetime.now(UTC))
    assert scopes_of(user) == ["authenticated"]
    user = replace(user, roles=frozenset({"b", "a"}))
    assert scopes_of(user) == ["authenticated", "a", "b"]
    assert scopes_of(replace(user, email_verified=True)) == ["authenticated", "a", "b", "verified"]


async def test_a_verified_email_adds_the_verified_scope_at_the_next_request(
    make_gate: GateFactory, mailbox: Mailbox
) -> None:
    gate = await make_gate(smtp_url=mailbox.url, public_url="https://app.example.com")
    async with scopes_client(gate) as client:
        account = await register_and_login(client)
        client.cookies.clear()
        assert await scopes_seen(client, account.access_token) == ["authenticated"]  # cached
        await gate.outbox.drain()
        [mail] = [m for m in mailbox.to(account.email) if "verify-email" in m.link]
        verified = await client.post("/auth/verify-email", json={"token": mail.token})
        assert verified.status_code == 200, verified.text
        assert await scopes_seen(client, account.access_token) == ["authenticated", "verified"]


@pytest.mark.parametrize("role", ["authenticated", "verified"])
async def test_a_role_cannot_fake_a_scope_authgate_gives(gate: AuthGate, role: str) -> None:
    async with scopes_client(gate) as client:
        account = await register_and_login(client)
    with pytest.raises(ValidationError):
        await gate.accounts.grant_role(account.id, role)
