"""Changing the e-mail address over HTTP with a real SMTP server: nothing changes until the
new address's link is used, the old address is told, and a taken address is a 409."""

from __future__ import annotations

import asyncio

import httpx

from authgate import AuthGate
from tests.conftest import PASSWORD, Account, ClientFactory, GateFactory, bearer, login, register
from tests.mailbox import Mailbox, Received

PUBLIC_URL = "https://app.example.com"
CONFIRM_SUBJECT = "Confirm your new e-mail address"
NOTICE_SUBJECT = "Your e-mail address is being changed"
VERIFY_SUBJECT = "Confirm your e-mail address"


async def signed_in(gate: AuthGate, client: httpx.AsyncClient) -> Account:
    account = await login(client, await register(client))
    client.cookies.clear()
    return account


async def change(
    client: httpx.AsyncClient, account: Account, new_email: str, password: str = PASSWORD
) -> httpx.Response:
    return await client.post(
        "/auth/change-email",
        json={"newEmail": new_email, "currentPassword": password},
        headers=bearer(account),
    )


async def confirm(
    client: httpx.AsyncClient, token: str, account: Account | None = None
) -> httpx.Response:
    """Use a confirmation link, from ``account``'s session (which the change then keeps) or
    from none."""
    headers = bearer(account) if account is not None else None
    return await client.post("/auth/change-email/confirm", json={"token": token}, headers=headers)


async def mail(gate: AuthGate, mailbox: Mailbox, address: str, subject: str) -> Received:
    await gate.outbox.drain()
    [found] = [mail for mail in mailbox.to(address) if mail.subject == subject]
    return found


async def test_the_address_changes_only_when_the_new_addresss_link_is_used(
    make_gate: GateFactory, make_client: ClientFactory, mailbox: Mailbox
) -> None:
    gate = await make_gate(smtp_url=mailbox.url, public_url=PUBLIC_URL)
    client = make_client(gate)
    account = await signed_in(gate, client)
    new_email = f"New.{account.username}@Example.org"

    answer = await change(client, account, new_email)

    assert answer.status_code == 202, answer.text
    normalized = new_email.lower()
    confirmation = await mail(gate, mailbox, normalized, CONFIRM_SUBJECT)
    notice = await mail(gate, mailbox, account.email, NOTICE_SUBJECT)
    assert confirmation.link.startswith(f"{PUBLIC_URL}/#confirm-email=")
    assert normalized in notice.text
    assert "#" not in notice.text  # the old address gets no link that changes anything
    me = await client.get("/auth/me", headers=bearer(account))
    assert me.json()["data"]["email"] == account.email  # nothing changed yet
    elsewhere = await login(client, account)
    client.cookies.clear()

    confirmed = await confirm(client, confirmation.token, account)

    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["data"]["email"] == normalized
    assert confirmed.json()["data"]["emailVerified"] is True
    # a credential change: the confirming session is kept, every other one ended
    me = await client.get("/auth/me", headers=bearer(account))
    assert me.json()["data"]["email"] == normalized
    assert (await client.get("/auth/me", headers=bearer(elsewhere))).status_code == 401
    assert (await confirm(client, confirmation.token)).status_code == 400
    # the registration's verification link was for the old address: it verifies nothing now
    [old_link] = [m for m in mailbox.to(account.email) if m.subject == VERIFY_SUBJECT]
    stale = await client.post("/auth/verify-email", json={"token": old_link.token})
    assert stale.status_code == 400
    by_new = await client.post("/auth/login", json={"email": new_email, "password": PASSWORD})
    assert by_new.status_code == 200
    by_old = await client.post("/auth/login", json={"email": account.email, "password": PASSWORD})
    assert by_old.status_code == 401


async def test_a_taken_address_is_a_409_when_the_change_is_confirmed(
    make_gate: GateFactory, make_client: ClientFactory, mailbox: Mailbox
) -> None:
    gate = await make_gate(smtp_url=mailbox.url, public_url=PUBLIC_URL)
    client = make_client(gate)
    account = await signed_in(gate, client)
    other = await register(client)
    late = f"late-{account.username}@example.org"

    # the request itself reveals nothing about the address
    assert (await change(client, account, other.email)).status_code == 202
    assert (await change(client, account, late)).status_code == 202
    taken = await mail(gate, mailbox, other.email, CONFIRM_SUBJECT)
    raced = await mail(gate, mailbox, late, CONFIRM_SUBJECT)
    await client.post(  # someone registers the second address before the link is used
        "/auth/register",
        json={
            "username": f"x{account.username}",
            "email": late,
            "fullName": "X",
            "password": PASSWORD,
        },
    )

    for token in (taken.token, raced.token):
        conflict = await confirm(client, token)
        assert conflict.status_code == 409, conflict.text
        assert conflict.json()["errors"] == [{"field": "email", "message": "is already registered"}]
    me = await client.get("/auth/me", headers=bearer(account))
    assert me.json()["data"]["email"] == account.email


async def test_two_confirmations_of_one_link_change_the_address_once(
    make_gate: GateFactory, make_client: ClientFactory, mailbox: Mailbox
) -> None:
    gate = await make_gate(smtp_url=mailbox.url, public_url=PUBLIC_URL)
    client = make_client(gate)
    account = await signed_in(gate, client)
    new_email = f"twice-{account.username}@example.org"
    assert (await change(client, account, new_email)).status_code == 202
    token = (await mail(gate, mailbox, new_email, CONFIRM_SUBJECT)).token

    answers = await asyncio.gather(*(confirm(client, token) for _ in range(5)))

    assert sorted(answer.status_code for answer in answers) == [200, 400, 400, 400, 400]


async def test_the_current_password_is_checked_behind_the_login_throttle(
    make_gate: GateFactory, make_client: ClientFactory, mailbox: Mailbox
) -> None:
    gate = await make_gate(smtp_url=mailbox.url, public_url=PUBLIC_URL, login_max_failures=3)
    client = make_client(gate)
    account = await signed_in(gate, client)
    target = f"elsewhere-{account.username}@example.org"

    wrong = [await change(client, account, target, "not the password") for _ in range(3)]
    assert {answer.status_code for answer in wrong} == {400}
    assert wrong[0].json()["errors"] == [{"field": "currentPassword", "message": "is incorrect"}]
    locked = await change(client, account, target)  # even the right one, now
    assert locked.status_code == 429
    await gate.outbox.drain()
    assert mailbox.to(target) == []


async def test_bad_change_requests(
    make_gate: GateFactory, make_client: ClientFactory, mailbox: Mailbox
) -> None:
    gate = await make_gate(smtp_url=mailbox.url, public_url=PUBLIC_URL)
    client = make_client(gate)
    account = await signed_in(gate, client)

    anonymous = await client.post(
        "/auth/change-email", json={"newEmail": "a@example.org", "currentPassword": PASSWORD}
    )
    assert anonymous.status_code == 401
    same = await change(client, account, account.email.upper())
    assert same.status_code == 400
    assert same.json()["errors"] == [{"field": "newEmail", "message": "is already your address"}]
    invalid = await client.post(
        "/auth/change-email", json={"newEmail": "nope"}, headers=bearer(account)
    )
    assert invalid.status_code == 400
    assert {error["field"] for error in invalid.json()["errors"]} == {
        "newEmail",
        "currentPassword",
    }
    assert (await confirm(client, "forged.token")).status_code == 400
