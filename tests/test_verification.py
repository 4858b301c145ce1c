"""E-mail verification over HTTP with a real SMTP server: the mail sent at registration,
asking for another, the link, and ``AUTHGATE_REQUIRE_VERIFIED_EMAIL``."""

from __future__ import annotations

from typing import Any

import httpx

from authgate import AuthGate
from authgate.http.principal import VERIFIED, scopes_of
from authgate.recovery import LogMailer
from tests.conftest import PASSWORD, ClientFactory, GateFactory, bearer, login, register
from tests.mailbox import Mailbox, Received

PUBLIC_URL = "https://app.example.com"
VERIFY_SUBJECT = "Confirm your e-mail address"


async def mail_gate(make_gate: GateFactory, mailbox: Mailbox, **overrides: Any) -> AuthGate:
    return await make_gate(smtp_url=mailbox.url, public_url=PUBLIC_URL, **overrides)


async def verification_mails(gate: AuthGate, mailbox: Mailbox, address: str) -> list[Received]:
    await gate.outbox.drain()
    return [mail for mail in mailbox.to(address) if mail.subject == VERIFY_SUBJECT]


async def verify(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.post("/auth/verify-email", json={"token": token})


async def test_registration_mails_a_link_that_verifies_the_address(
    make_gate: GateFactory, make_client: ClientFactory, mailbox: Mailbox
) -> None:
    gate = await mail_gate(make_gate, mailbox)
    gate.enable_metrics()  # counting from the start, as an app serving them does
    client = make_client(gate)
    account = await login(client, await register(client))
    client.cookies.clear()
    me = await client.get("/auth/me", headers=bearer(account))
    assert me.json()["data"]["emailVerified"] is False  # cached now, as false
    principal = await gate.service.authenticate(account.access_token)
    assert VERIFIED not in scopes_of(principal.user)

    [mail] = await verification_mails(gate, mailbox, account.email)
    assert mail.link.startswith(f"{PUBLIC_URL}/#verify-email=")
    assert account.email in mail.text

    verified = await verify(client, mail.token)

    assert verified.status_code == 200, verified.text
    assert verified.json()["data"]["emailVerified"] is True
    me = await client.get("/auth/me", headers=bearer(account))
    assert me.json()["data"]["emailVerified"] is True  # the cached user was dropped
    principal = await gate.service.authenticate(account.access_token)
    assert VERIFIED in scopes_of(principal.user)  # the "verified" scope, at the next request
    again = await verify(client, mail.token)
    assert again.status_code == 400
    assert again.json()["errors"] == [{"field": "token", "message": "is invalid, expired or used"}]
    text = gate.enable_metrics().render().decode()
    assert 'authgate_mails_sent_total{kind="verify-email"} 1.0' in text


async def test_without_a_configured_mailer_registration_sends_nothing(
    make_gate: GateFactory, make_client: ClientFactory
) -> None:
    gate = await make_gate()
    assert isinstance(gate.outbox.mailer, LogMailer)
    client = make_client(gate)
    await register(client)
    await gate.outbox.drain()
    assert gate.outbox.mailer.sent == []


async def test_asking_for_another_link_needs_a_login_and_is_throttled(
    make_gate: GateFactory, make_client: ClientFactory, mailbox: Mailbox
) -> None:
    gate = await mail_gate(make_gate, mailbox, recovery_max_per_address=2)
    client = make_client(gate)
    account = await login(client, await register(client))
    client.cookies.clear()

    anonymous = await client.post("/auth/verify-email/request")
    assert anonymous.status_code == 401
    answers = [
        await client.post("/auth/verify-email/request", headers=bearer(account)) for _ in range(3)
    ]
    assert [answer.status_code for answer in answers] == [202, 202, 429]
    assert int(answers[2].headers["Retry-After"]) > 0
    mails = await verification_mails(gate, mailbox, account.email)
    assert len(mails) == 3  # registration's and the two asked for

    assert (await verify(client, mails[1].token)).status_code == 200
    done = await client.post("/auth/verify-email/request", headers=bearer(account))
    assert done.status_code == 200
    assert done.json()["message"] == "Email already verified"
    # the other links of the same address still work once (nothing more to do)
    assert (await verify(client, mails[2].token)).status_code == 200


async def test_required_verification_refuses_the_login_and_opens_no_session(
    make_gate: GateFactory, make_client: ClientFactory, mailbox: Mailbox
) -> None:
    gate = await mail_gate(make_gate, mailbox, require_verified_email=True)
    client = make_client(gate)
    account = await register(client)
    body = {"username": account.username, "password": PASSWORD}

    refused = await client.post("/auth/login", json=body)

    assert refused.status_code == 403
    assert refused.json()["message"] == "Email not verified"
    assert "set-cookie" not in refused.headers
    assert await gate.service.sessions.list(account.id) == []
    wrong = await client.post("/auth/login", json={**body, "password": "not the password"})
    assert wrong.status_code == 401  # a wrong password still says only that

    [mail] = await verification_mails(gate, mailbox, account.email)
    assert (await verify(client, mail.token)).status_code == 200
    assert (await client.post("/auth/login", json=body)).status_code == 200
