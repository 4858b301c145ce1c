"""The credential epoch, tried as an attacker would, over HTTP on real Redis, PostgreSQL
and SMTP: every credential change ends what the old credentials allowed — other sessions,
one-time links mailed before it, and logins with the old password that raced it."""

from __future__ import annotations

import asyncio
import dataclasses
import secrets
from collections.abc import Awaitable, Callable

import httpx
import jwt
import pytest

from authgate import AuthGate, InvalidCredentials
from authgate.passwords import BcryptPasswordHasher
from authgate.service import AuthService
from authgate.service.validation import Credentials
from authgate.sessions.layout import sessions_key, user_key
from authgate.sessions.protocol import ClientInfo
from authgate.users.protocol import CredentialChange
from tests.conftest import (
    PASSWORD,
    Account,
    ClientFactory,
    GateFactory,
    bearer,
    login,
    register,
)
from tests.mailbox import Mailbox, Received
from tests.test_service import registration

PUBLIC_URL = "https://app.example.com"
NEW_PASSWORD = "a brand new passphrase"
CONFIRM_SUBJECT = "Confirm your new e-mail address"
RESET_SUBJECT = "Reset your password"


async def mail_gate(make_gate: GateFactory, mailbox: Mailbox) -> AuthGate:
    return await make_gate(smtp_url=mailbox.url, public_url=PUBLIC_URL)


async def last_mail(gate: AuthGate, mailbox: Mailbox, address: str, subject: str) -> Received:
    await gate.outbox.drain()
    return [mail for mail in mailbox.to(address) if mail.subject == subject][-1]


async def signed_in(client: httpx.AsyncClient) -> Account:
    account = await login(client, await register(client))
    client.cookies.clear()  # every request below says which session it comes from
    return account


async def alive(client: httpx.AsyncClient, account: Account) -> bool:
    response = await client.get("/auth/me", headers=bearer(account))
    assert response.status_code in (200, 401), response.text
    return response.status_code == 200


async def refreshes(client: httpx.AsyncClient, account: Account) -> bool:
    response = await client.post(
        "/auth/refresh-token", json={"refreshToken": account.refresh_token}
    )
    client.cookies.clear()
    return response.status_code == 200


async def ask_email_change(client: httpx.AsyncClient, account: Account, new_email: str) -> None:
    answer = await client.post(
        "/auth/change-email",
        json={"newEmail": new_email, "currentPassword": account.password},
        headers=bearer(account),
    )
    assert answer.status_code == 202, answer.text


async def confirm(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.post("/auth/change-email/confirm", json={"token": token})


async def forgot_and_reset_link(
    gate: AuthGate, mailbox: Mailbox, client: httpx.AsyncClient, address: str
) -> Received:
    answer = await client.post("/auth/forgot-password", json={"email": address})
    assert answer.status_code == 202
    return await last_mail(gate, mailbox, address, RESET_SUBJECT)


async def reset(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.post(
        "/auth/reset-password", json={"token": token, "newPassword": NEW_PASSWORD}
    )


async def change_password(client: httpx.AsyncClient, account: Account) -> httpx.Response:
    return await client.post(
        "/auth/change-password",
        json={"currentPassword": account.password, "newPassword": NEW_PASSWORD},
        headers=bearer(account),
    )


def assert_invalid_link(answer: httpx.Response) -> None:
    """The one 400 of an unknown, expired, used — or older-epoch — link."""
    assert answer.status_code == 400, answer.text
    assert answer.json()["errors"] == [{"field": "token", "message": "is invalid, expired or used"}]


# -- the audit's scenarios ----------------------------------------------------------------


async def test_a_pending_email_change_dies_with_a_password_reset(
    make_gate: GateFactory, make_client: ClientFactory, mailbox: Mailbox
) -> None:
    gate = await mail_gate(make_gate, mailbox)
    client = make_client(gate)
    owner = await signed_in(client)
    intruder = await login(client, owner)  # knows the password
    client.cookies.clear()
    stolen = f"intruder-{owner.username}@example.org"
    await ask_email_change(client, intruder, stolen)
    link = await last_mail(gate, mailbox, stolen, CONFIRM_SUBJECT)

    reset_link = await forgot_and_reset_link(gate, mailbox, client, owner.email)
    assert (await reset(client, reset_link.token)).status_code == 200

    assert_invalid_link(await confirm(client, link.token))
    assert not await alive(client, intruder)
    me = await login(client, dataclasses.replace(owner, password=NEW_PASSWORD))
    assert (await client.get("/auth/me", headers=bearer(me))).json()["data"]["email"] == (
        owner.email
    )


async def test_a_pending_email_change_dies_with_a_password_change(
    make_gate: GateFactory, make_client: ClientFactory, mailbox: Mailbox
) -> None:
    gate = await mail_gate(make_gate, mailbox)
    client = make_client(gate)
    owner = await signed_in(client)
    intruder = await login(client, owner)
    client.cookies.clear()
    stolen = f"intruder-{owner.username}@example.org"
    await ask_email_change(client, intruder, stolen)
    link = await last_mail(gate, mailbox, stolen, CONFIRM_SUBJECT)

    assert (await change_password(client, owner)).status_code == 200

    assert_invalid_link(await confirm(client, link.token))
    assert not await alive(client, intruder)
    assert await alive(client, owner)  # the session that changed it moved to the new epoch
    assert await refreshes(client, owner)


async def test_a_reset_link_dies_with_an_email_change(
    make_gate: GateFactory, make_client: ClientFactory, mailbox: Mailbox
) -> None:
    gate = await mail_gate(make_gate, mailbox)
    client = make_client(gate)
    owner = await signed_in(client)
    old_address_link = await forgot_and_reset_link(gate, mailbox, client, owner.email)
    moved = f"moved-{owner.username}@example.org"
    await ask_email_change(client, owner, moved)
    confirmation = await last_mail(gate, mailbox, moved, CONFIRM_SUBJECT)
    assert (await confirm(client, confirmation.token)).status_code == 200

    assert_invalid_link(await reset(client, old_address_link.token))
    assert (
        await client.post("/auth/login", json={"email": moved, "password": PASSWORD})
    ).status_code == 200


async def test_a_reset_link_dies_with_a_password_change(
    make_gate: GateFactory, make_client: ClientFactory, mailbox: Mailbox
) -> None:
    gate = await mail_gate(make_gate, mailbox)
    client = make_client(gate)
    owner = await signed_in(client)
    link = await forgot_and_reset_link(gate, mailbox, client, owner.email)

    assert (await change_password(client, owner)).status_code == 200

    assert_invalid_link(await reset(client, link.token))


async def test_a_deactivation_ends_every_link_and_reactivation_brings_none_back(
    make_gate: GateFactory, make_client: ClientFactory, mailbox: Mailbox
) -> None:
    gate = await mail_gate(make_gate, mailbox)
    client = make_client(gate)
    owner = await signed_in(client)
    link = await forgot_and_reset_link(gate, mailbox, client, owner.email)

    assert await gate.service.set_active(owner.id, False)
    assert await gate.service.set_active(owner.id, True)

    assert_invalid_link(await reset(client, link.token))
    assert not await alive(client, owner)
    assert not await refreshes(client, owner)
    assert await gate.service.sessions.list(owner.id) == []


async def test_an_email_change_confirmed_without_a_session_ends_every_session(
    make_gate: GateFactory, make_client: ClientFactory, mailbox: Mailbox
) -> None:
    gate = await mail_gate(make_gate, mailbox)
    client = make_client(gate)
    owner = await signed_in(client)
    moved = f"moved-{owner.username}@example.org"
    await ask_email_change(client, owner, moved)
    confirmation = await last_mail(gate, mailbox, moved, CONFIRM_SUBJECT)

    assert (await confirm(client, confirmation.token)).status_code == 200

    assert not await alive(client, owner)
    assert not await refreshes(client, owner)


# -- logins that race a change ------------------------------------------------------------


class PausingHasher(BcryptPasswordHasher):
    """Real bcrypt; the first login's check, once it has passed, waits for ``go``."""

    def __init__(self, rounds: int) -> None:
        super().__init__(rounds)
        self.checked = asyncio.Event()
        self.go = asyncio.Event()
        self.armed = True

    async def verify_and_update(self, password: str, password_hash: str) -> tuple[bool, str | None]:
        result = await super().verify_and_update(password, password_hash)
        if self.armed:
            self.armed = False
            self.checked.set()
            await self.go.wait()
        return result


Change = Callable[[AuthService, str], Awaitable[object]]


async def change_by_password(service: AuthService, user_id: str) -> object:
    stored = await service.users.get_by_id(user_id)
    assert stored is not None
    return await service.replace_password(user_id, NEW_PASSWORD, epoch=stored.credential_epoch)


async def change_by_deactivation(service: AuthService, user_id: str) -> object:
    return await service.set_active(user_id, False)


@pytest.mark.parametrize("change", [change_by_password, change_by_deactivation])
async def test_a_login_whose_password_check_straddles_a_change_opens_nothing(
    make_gate: GateFactory, change: Change
) -> None:
    """Deterministic: the login reads the user and checks the old password, then the change
    completes, then the login tries to open its session."""
    gate = await make_gate()
    hasher = PausingHasher(gate.settings.bcrypt_rounds)
    racing = AuthGate(gate.settings, hasher=hasher)
    await racing.startup()
    try:
        user = await racing.service.register(registration())
        hasher.armed = True
        credentials = Credentials(user.username, PASSWORD)
        attempt = asyncio.create_task(racing.service.login(credentials, ClientInfo()))
        await hasher.checked.wait()
        await change(gate.service, user.id)
        hasher.go.set()
        with pytest.raises(InvalidCredentials):
            await attempt
        assert await gate.service.sessions.list(user.id) == []
    finally:
        await racing.shutdown()


@pytest.mark.parametrize("flow", ["change-password", "reset-password"])
async def test_parallel_logins_with_the_old_password_during_a_change_leave_no_session(
    make_gate: GateFactory, make_client: ClientFactory, mailbox: Mailbox, flow: str
) -> None:
    # seven checks of one account at once: above the default limit of 5, the throttle (not
    # the epoch) would refuse some of them
    gate = await make_gate(smtp_url=mailbox.url, public_url=PUBLIC_URL, login_max_failures=50)
    client = make_client(gate)
    owner = await signed_in(client)
    link = await forgot_and_reset_link(gate, mailbox, client, owner.email)
    racers = [make_client(gate, ip=f"198.51.100.{i}") for i in range(1, 7)]

    async def old_password_login(racer: httpx.AsyncClient) -> Account | None:
        answer = await racer.post(
            "/auth/login", json={"username": owner.username, "password": PASSWORD}
        )
        if answer.status_code != 200:
            return None
        data = answer.json()["data"]
        return dataclasses.replace(
            owner, access_token=data["accessToken"], refresh_token=data["refreshToken"]
        )

    async def the_change() -> httpx.Response:
        await asyncio.sleep(0)
        if flow == "change-password":
            return await change_password(client, owner)
        return await reset(client, link.token)

    *logins, changed = await asyncio.gather(
        *(old_password_login(racer) for racer in racers), the_change()
    )

    assert isinstance(changed, httpx.Response)
    assert changed.status_code == 200, changed.text
    kept = {owner.access_token} if flow == "change-password" else set()
    sessions = await gate.service.sessions.list(owner.id)
    assert len(sessions) == len(kept)
    for racer in logins:
        if isinstance(racer, Account):
            assert not await alive(client, racer)
            assert not await refreshes(client, racer)


async def test_the_epoch_is_kept_in_postgresql_and_in_redis(gate: AuthGate) -> None:
    user = await gate.service.register(registration())
    stored = await gate.service.users.get_by_id(user.id)
    assert stored is not None
    assert stored.credential_epoch == 0

    await gate.service.change_credentials(user.id, CredentialChange(email_verified=True), epoch=0)
    # an older epoch changes nothing
    assert (
        await gate.service.change_credentials(
            user.id, CredentialChange(email_verified=False), epoch=0
        )
        is None
    )

    stored = await gate.service.users.get_by_id(user.id)
    assert stored is not None
    assert stored.credential_epoch == 1
    assert stored.email_verified
    key = sessions_key(gate.settings.redis_prefix, user.id)
    assert await gate.redis.hget(key, "@") == "1"
    assert await gate.redis.pttl(key) > 0  # every key has a TTL


# -- one path for every change --------------------------------------------------------------


async def test_a_new_flow_on_the_one_path_forgets_nothing(
    make_gate: GateFactory, make_client: ClientFactory, mailbox: Mailbox
) -> None:
    """A credential change written the way a new flow (a factor removed, say) would write
    it: one call, and every other session, every link and the cached user are gone."""
    gate = await mail_gate(make_gate, mailbox)
    client = make_client(gate)
    owner = await signed_in(client)
    other = await login(client, owner)
    client.cookies.clear()
    assert await alive(client, owner)  # fills the shared user cache
    link = await forgot_and_reset_link(gate, mailbox, client, owner.email)
    stored = await gate.service.users.get_by_id(owner.id)
    assert stored is not None
    cache_key = user_key(gate.settings.redis_prefix, owner.id)
    assert await gate.redis.exists(cache_key)

    ended = await gate.service.change_credentials(
        owner.id,
        CredentialChange(),  # nothing but the epoch: a factor's change lives elsewhere
        epoch=stored.credential_epoch,
        keep_sid=owner_sid(owner),
    )

    assert ended == 1
    assert not await gate.redis.exists(cache_key)
    assert await alive(client, owner)
    assert not await alive(client, other)
    assert_invalid_link(await reset(client, link.token))


def owner_sid(account: Account) -> str:
    claims = jwt.decode(account.access_token, options={"verify_signature": False})
    return str(claims["sid"])


async def test_every_credential_change_goes_through_the_one_path(
    make_gate: GateFactory,
    make_client: ClientFactory,
    mailbox: Mailbox,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    gate = await mail_gate(make_gate, mailbox)
    client = make_client(gate)
    seen: list[CredentialChange] = []
    one_path = gate.service.change_credentials

    async def watched(user_id: str, change: CredentialChange, **kwargs: object) -> int | None:
        seen.append(change)
        return await one_path(user_id, change, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(gate.service, "change_credentials", watched)
    owner = await signed_in(client)

    assert (await change_password(client, owner)).status_code == 200
    owner = dataclasses.replace(owner, password=NEW_PASSWORD)
    link = await forgot_and_reset_link(gate, mailbox, client, owner.email)
    assert (await reset(client, link.token)).status_code == 200
    owner = await login(client, owner)
    client.cookies.clear()
    moved = f"moved-{owner.username}@example.org"
    await ask_email_change(client, owner, moved)
    confirmation = await last_mail(gate, mailbox, moved, CONFIRM_SUBJECT)
    assert (await confirm(client, confirmation.token)).status_code == 200
    assert await gate.service.set_active(owner.id, False)
    assert await gate.service.set_active(owner.id, True)

    assert [
        (c.password_hash is not None, c.email, c.email_verified, c.is_active) for c in seen
    ] == [
        (True, None, None, None),  # change-password
        (True, None, True, None),  # reset: the mailed link proved the address
        (False, moved, True, None),  # change-email
        (False, None, None, False),  # deactivation
        (False, None, None, True),  # re-activation
    ]


# -- the audit's smaller findings -----------------------------------------------------------


async def test_a_session_id_outside_its_alphabet_is_a_404_and_touches_nothing(
    gate: AuthGate, client: httpx.AsyncClient
) -> None:
    owner = await signed_in(client)
    sid = owner_sid(owner)
    before = await gate.service.sessions.list(owner.id)

    for bad in (f"{sid}.", f"{sid}@", "@", "a" * 65, "%00"):
        answer = await client.delete(f"/auth/sessions/{bad}", headers=bearer(owner))
        assert answer.status_code == 404, (bad, answer.text)

    assert await gate.service.sessions.list(owner.id) == before
    assert await alive(client, owner)


async def test_change_email_mails_are_limited_per_destination_and_per_client(
    make_gate: GateFactory, make_client: ClientFactory, mailbox: Mailbox
) -> None:
    gate = await make_gate(
        smtp_url=mailbox.url,
        public_url=PUBLIC_URL,
        recovery_max_per_address=2,
        recovery_max_per_ip=4,
    )
    client = make_client(gate)
    target = f"victim-{owner_suffix()}@example.org"
    first, second = await signed_in(client), await signed_in(client)
    answers = []
    for account in (first, first, second):
        answers.append(
            await client.post(
                "/auth/change-email",
                json={"newEmail": target, "currentPassword": PASSWORD},
                headers=bearer(account),
            )
        )
    # two accounts, one destination: the address's limit holds across accounts
    assert [answer.status_code for answer in answers] == [202, 202, 429]
    await gate.outbox.drain()
    assert len([m for m in mailbox.to(target) if m.subject == CONFIRM_SUBJECT]) == 2
    # and one client cannot spread its mails over many addresses either
    third = await signed_in(client)
    statuses = [
        (
            await client.post(
                "/auth/change-email",
                json={
                    "newEmail": f"n{i}-{owner_suffix()}@example.org",
                    "currentPassword": PASSWORD,
                },
                headers=bearer(third),
            )
        ).status_code
        for i in range(3)
    ]
    assert statuses == [202, 429, 429]


def owner_suffix() -> str:
    return secrets.token_hex(4)


async def test_forgot_password_moves_the_mail_counter_alike_for_unknown_addresses(
    make_gate: GateFactory, make_client: ClientFactory, mailbox: Mailbox
) -> None:
    gate = await mail_gate(make_gate, mailbox)
    metrics = gate.enable_metrics()
    client = make_client(gate)
    owner = await signed_in(client)

    def resets_counted() -> float:
        value = metrics.registry.get_sample_value(
            "authgate_mails_sent_total", {"kind": "reset-password"}
        )
        return value or 0.0

    start = resets_counted()
    for address in (owner.email, f"nobody-{owner_suffix()}@example.org"):
        assert (
            await client.post("/auth/forgot-password", json={"email": address})
        ).status_code == 202
        await gate.outbox.drain()
        start, counted = resets_counted(), start
        assert start - counted == 1, address
    assert len(mailbox.to(owner.email)) >= 1
