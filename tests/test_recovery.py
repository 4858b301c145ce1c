"""Forgot and reset password over HTTP, with a real SMTP server catching the mail: the
journey, raced and reused tokens, two instances, account probing and forged hosts."""

from __future__ import annotations

import asyncio
import statistics
import time
from typing import Any

import httpx
import pytest

from authgate import AuthGate
from authgate.observability.events import PASSWORD_RESET, PASSWORD_RESET_REQUESTED, SecurityEvent
from tests.conftest import (
    PASSWORD,
    Account,
    ClientFactory,
    GateFactory,
    bearer,
    login,
    register,
    register_and_login,
)
from tests.mailbox import Mailbox, Received

PUBLIC_URL = "https://app.example.com"
NEW_PASSWORD = "a brand new passphrase"
RESET_SUBJECT = "Reset your password"


async def mail_gate(make_gate: GateFactory, mailbox: Mailbox, **overrides: Any) -> AuthGate:
    return await make_gate(smtp_url=mailbox.url, public_url=PUBLIC_URL, **overrides)


async def forgot(client: httpx.AsyncClient, email: str, **kwargs: Any) -> httpx.Response:
    return await client.post("/auth/forgot-password", json={"email": email}, **kwargs)


async def reset(
    client: httpx.AsyncClient, token: str, password: str = NEW_PASSWORD
) -> httpx.Response:
    return await client.post("/auth/reset-password", json={"token": token, "newPassword": password})


def resets(mailbox: Mailbox, address: str) -> list[Received]:
    return [mail for mail in mailbox.to(address) if mail.subject == RESET_SUBJECT]


async def reset_mail(
    gate: AuthGate, mailbox: Mailbox, client: httpx.AsyncClient, address: str
) -> Received:
    before = len(resets(mailbox, address))
    assert (await forgot(client, address)).status_code == 202
    await gate.outbox.drain()
    mails = resets(mailbox, address)
    assert len(mails) == before + 1
    return mails[-1]


async def test_forgot_then_reset_from_the_mailed_link_ends_every_session(
    make_gate: GateFactory, make_client: ClientFactory, mailbox: Mailbox
) -> None:
    gate = await mail_gate(make_gate, mailbox)
    gate.enable_metrics()  # counting from the start, as an app serving them does
    events: list[SecurityEvent] = []

    async def record(event: SecurityEvent) -> None:
        events.append(event)

    gate.events.add_hook(record)
    client = make_client(gate)
    account = await register_and_login(client)
    laptop = await login(client, account)
    client.cookies.clear()

    answer = await forgot(client, account.email.upper())  # the address, however written
    assert answer.status_code == 202
    await gate.outbox.drain()
    mail = resets(mailbox, account.email)[0]
    assert mail.link.startswith(f"{PUBLIC_URL}/#reset=")
    assert "?" not in mail.link  # the token travels in the fragment only
    assert account.username in mail.text
    assert mail.link in mail.part("html")

    response = await reset(client, mail.token)

    assert response.status_code == 200, response.text
    assert response.json()["data"] == {"revoked": 2}
    for session in (account, laptop):
        assert (await client.get("/auth/me", headers=bearer(session))).status_code == 401
    refused = await client.post(
        "/auth/login", json={"username": account.username, "password": PASSWORD}
    )
    assert refused.status_code == 401
    await login(client, Account(account.id, account.username, account.email, NEW_PASSWORD))
    names = [event.name for event in events]
    assert PASSWORD_RESET_REQUESTED in names
    reset_event = next(event for event in events if event.name == PASSWORD_RESET)
    assert (reset_event.user_id, reset_event.detail["revoked"]) == (account.id, 2)
    assert mail.token not in str([event.fields() for event in events])
    metrics = gate.enable_metrics().render().decode()
    assert 'authgate_sessions_revoked_total{reason="password-reset"} 2.0' in metrics
    assert 'authgate_mails_sent_total{kind="reset-password"} 1.0' in metrics


async def test_one_token_raced_ten_times_resets_once_and_every_refusal_is_identical(
    make_gate: GateFactory, make_client: ClientFactory, mailbox: Mailbox
) -> None:
    gate = await mail_gate(make_gate, mailbox, reset_token_ttl=2)
    client = make_client(gate)
    account = await register(client)
    token = (await reset_mail(gate, mailbox, client, account.email)).token

    answers = await asyncio.gather(*(reset(client, token) for _ in range(10)))

    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [200] + [400] * 9
    refusals = {answer.text for answer in answers if answer.status_code == 400}
    again = await reset(client, token, "yet another passphrase")
    expiring = (await reset_mail(gate, mailbox, client, account.email)).token
    await asyncio.sleep(2.2)
    expired = await reset(client, expiring)
    unknown = await reset(client, "not-a-token")
    for refusal in (again, expired, unknown):
        assert refusal.status_code == 400
        refusals.add(refusal.text)
    assert len(refusals) == 1  # used, expired and forged: one and the same answer
    body = answers[[a.status_code for a in answers].index(400)].json()
    assert body["errors"] == [{"field": "token", "message": "is invalid, expired or used"}]


async def test_a_reset_invalidates_the_other_reset_links(
    make_gate: GateFactory, make_client: ClientFactory, mailbox: Mailbox
) -> None:
    gate = await mail_gate(make_gate, mailbox)
    client = make_client(gate)
    account = await register(client)
    first = (await reset_mail(gate, mailbox, client, account.email)).token
    second = (await reset_mail(gate, mailbox, client, account.email)).token

    assert (await reset(client, second)).status_code == 200
    assert (await reset(client, first, "third passphrase here")).status_code == 400


async def test_a_reset_on_one_instance_ends_sessions_on_another_at_the_next_request(
    make_gate: GateFactory, make_client: ClientFactory, mailbox: Mailbox
) -> None:
    first = await mail_gate(make_gate, mailbox)
    second = await mail_gate(make_gate, mailbox)  # same database, Redis and prefix
    on_first, on_second = make_client(first), make_client(second)
    account = await register_and_login(on_second)
    on_second.cookies.clear()
    assert (await on_second.get("/auth/me", headers=bearer(account))).status_code == 200

    token = (await reset_mail(first, mailbox, on_first, account.email)).token
    assert (await reset(on_first, token)).status_code == 200

    assert (await on_second.get("/auth/me", headers=bearer(account))).status_code == 401
    refreshed = await on_second.post(
        "/auth/refresh-token", json={"refreshToken": account.refresh_token}
    )
    assert refreshed.status_code == 401


async def test_a_too_short_password_keeps_the_token_usable(
    make_gate: GateFactory, make_client: ClientFactory, mailbox: Mailbox
) -> None:
    gate = await mail_gate(make_gate, mailbox)
    client = make_client(gate)
    account = await register(client)
    token = (await reset_mail(gate, mailbox, client, account.email)).token

    short = await reset(client, token, "short")
    assert short.status_code == 400
    assert [error["field"] for error in short.json()["errors"]] == ["newPassword"]
    too_long = await reset(client, token, "é" * 40)
    assert too_long.status_code == 400
    assert (await reset(client, token)).status_code == 200


@pytest.mark.parametrize(
    ("body", "field"),
    [({}, "email"), ({"email": "not an address"}, "email"), ({"email": 7}, "email")],
)
async def test_forgot_password_refuses_a_malformed_body(
    client: httpx.AsyncClient, body: dict[str, Any], field: str
) -> None:
    response = await client.post("/auth/forgot-password", json=body)
    assert response.status_code == 400
    assert [error["field"] for error in response.json()["errors"]] == [field]


async def test_the_link_uses_the_public_url_whatever_host_the_request_names(
    make_gate: GateFactory, make_client: ClientFactory, mailbox: Mailbox
) -> None:
    gate = await mail_gate(make_gate, mailbox, trusted_proxies=("203.0.113.0/24",))
    client = make_client(gate)
    account = await register(client)

    answer = await forgot(
        client,
        account.email,
        headers={
            "Host": "evil.example",
            "X-Forwarded-Host": "evil.example",
            "X-Forwarded-Proto": "http",
            "Forwarded": "host=evil.example",
        },
    )

    assert answer.status_code == 202
    await gate.outbox.drain()
    mail = resets(mailbox, account.email)[0]
    assert mail.link.startswith(f"{PUBLIC_URL}/#reset=")
    assert "evil" not in mail.text
    assert "evil" not in mail.part("html")


async def test_per_address_limit_answers_the_same_and_sends_nothing_more(
    make_gate: GateFactory, make_client: ClientFactory, mailbox: Mailbox
) -> None:
    gate = await mail_gate(make_gate, mailbox, recovery_max_per_address=3)
    client = make_client(gate)
    account = await register(client)
    inactive = await register(client)
    await gate.service.set_active(inactive.id, False)

    answers = [await forgot(client, account.email) for _ in range(5)]
    answers += [await forgot(client, inactive.email), await forgot(client, "nobody@example.org")]
    await gate.outbox.drain()

    assert {answer.status_code for answer in answers} == {202}
    assert len({answer.text for answer in answers}) == 1
    assert len(resets(mailbox, account.email)) == 3
    assert resets(mailbox, inactive.email) == []
    assert mailbox.to("nobody@example.org") == []


async def test_per_client_limit_answers_429_for_any_address(
    make_gate: GateFactory, make_client: ClientFactory, mailbox: Mailbox
) -> None:
    gate = await mail_gate(make_gate, mailbox, recovery_max_per_ip=2)
    client = make_client(gate, ip="198.51.100.9")
    other = make_client(gate, ip="198.51.100.10")

    assert (await forgot(client, "a@example.org")).status_code == 202
    assert (await forgot(client, "b@example.org")).status_code == 202
    limited = await forgot(client, "c@example.org")

    assert limited.status_code == 429
    assert int(limited.headers["Retry-After"]) > 0
    assert (await forgot(other, "c@example.org")).status_code == 202


async def timed(client: httpx.AsyncClient, email: str) -> tuple[float, httpx.Response]:
    started = time.perf_counter()
    response = await forgot(client, email)
    return time.perf_counter() - started, response


async def compare(client: httpx.AsyncClient, real: str, unknown: str, rounds: int) -> float:
    """Interleaved requests for both addresses: same answers; the ratio of the medians."""
    times: dict[str, list[float]] = {real: [], unknown: []}
    bodies: set[tuple[int, str]] = set()
    for index in range(rounds * 2):
        email = (real, unknown)[index % 2]
        seconds, response = await timed(client, email)
        times[email].append(seconds)
        bodies.add((response.status_code, response.text))
    assert bodies == {(202, bodies.copy().pop()[1])}  # one status, one body for both
    medians = [statistics.median(values) for values in times.values()]
    print("medians (real, unknown) ms:", [round(m * 1000, 2) for m in medians])
    return max(medians) / min(medians)


async def test_forgot_password_answers_the_same_and_as_fast_for_unknown_addresses(
    make_gate: GateFactory, make_client: ClientFactory, mailbox: Mailbox
) -> None:
    roomy = await mail_gate(
        make_gate, mailbox, recovery_max_per_ip=10_000, recovery_max_per_address=10_000
    )
    client = make_client(roomy)
    account = await register(client)
    unknown = "nobody-here@example.com"
    await compare(client, account.email, unknown, 5)  # warm-up
    under_limit = await compare(client, account.email, unknown, 100)
    await roomy.outbox.drain()
    assert len(resets(mailbox, account.email)) == 105  # every real request sent a mail

    # the same counters under the default limit (3 an hour): both addresses are past it
    strict = await mail_gate(make_gate, mailbox, recovery_max_per_ip=10_000)
    client = make_client(strict)
    over_limit = await compare(client, account.email, unknown, 100)
    await strict.outbox.drain()
    assert len(resets(mailbox, account.email)) == 105  # and nothing more was sent

    print(f"forgot-password median ratio: {under_limit=:.3f} {over_limit=:.3f}")
    assert under_limit <= 1.25, under_limit
    assert over_limit <= 1.25, over_limit
