"""Security events: what the hooks receive, what the ``authgate.security`` logger records, and
that neither ever carries a token, a password or a password hash."""

from __future__ import annotations

import logging
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from typing import Any

import httpx
import jwt
import pytest

from authgate import AuthGate, Settings
from authgate.observability.events import (
    CSRF_REJECTED,
    LOGIN_FAILED,
    LOGIN_SUCCEEDED,
    LOGIN_THROTTLED,
    LOGOUT,
    PASSWORD_CHANGED,
    REFRESH_REUSE_DETECTED,
    SESSIONS_REVOKED,
    USER_DEACTIVATED,
    USER_DELETED,
    SecurityEvent,
    SecurityEvents,
    log_value,
)
from tests.conftest import (
    CLIENT_IP,
    PASSWORD,
    Account,
    ClientFactory,
    bearer,
    redis_prefix_for_run,
    register,
    unique_username,
)

NEW_PASSWORD = "another horse entirely"
MAX_FAILURES = 3


class Recorder:
    """An event hook that keeps what it is given."""

    def __init__(self) -> None:
        self.events: list[SecurityEvent] = []

    async def __call__(self, event: SecurityEvent) -> None:
        self.events.append(event)

    def named(self, name: str) -> list[SecurityEvent]:
        return [event for event in self.events if event.name == name]

    def one(self, name: str) -> SecurityEvent:
        found = self.named(name)
        assert len(found) == 1, (name, self.events)
        return found[0]


GateWithHooks = Callable[..., Awaitable[AuthGate]]


@pytest.fixture
async def gate_with_hooks(settings: Settings) -> AsyncIterator[GateWithHooks]:
    """Started gates with ``on_event`` hooks, under a key prefix of the test's own."""
    gates: list[AuthGate] = []

    async def factory(
        *hooks: Callable[[SecurityEvent], Awaitable[None]], **overrides: Any
    ) -> AuthGate:
        own = replace(
            settings,
            redis_prefix=f"{redis_prefix_for_run()}-events-{secrets.token_hex(4)}",
            login_max_failures=MAX_FAILURES,
            **overrides,
        )
        gate = AuthGate(own, on_event=list(hooks))
        gates.append(gate)
        await gate.startup()
        return gate

    yield factory
    for gate in gates:
        await gate.shutdown()


@pytest.fixture
async def recorder() -> Recorder:
    return Recorder()


async def log_in(client: httpx.AsyncClient, account: Account, password: str = "") -> Account:
    response = await client.post(
        "/auth/login",
        json={"username": account.username, "password": password or account.password},
    )
    assert response.status_code == 200, response.text
    client.cookies.clear()
    data = response.json()["data"]
    return replace(account, access_token=data["accessToken"], refresh_token=data["refreshToken"])


async def wrong_login(client: httpx.AsyncClient, username: str) -> int:
    response = await client.post(
        "/auth/login", json={"username": username, "password": "not the password"}
    )
    return response.status_code


async def refresh(client: httpx.AsyncClient, token: str) -> httpx.Response:
    response = await client.post("/auth/refresh-token", json={"refreshToken": token})
    client.cookies.clear()
    return response


def sid_of(account: Account) -> str:
    sid: str = jwt.decode(account.access_token, options={"verify_signature": False})["sid"]
    return sid


def security_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [
        record
        for record in caplog.records
        if record.name == "authgate.security" and hasattr(record, "event")
    ]


# -- what the hooks receive ---------------------------------------------------------------------


async def test_login_events(
    gate_with_hooks: GateWithHooks,
    recorder: Recorder,
    make_client: ClientFactory,
) -> None:
    gate = await gate_with_hooks(recorder)
    client = make_client(gate)
    account = await register(client)
    recorder.events.clear()  # registering is not a security event

    session = await log_in(client, account)
    assert await wrong_login(client, account.username) == 401
    assert await wrong_login(client, f"nobody_{secrets.token_hex(4)}") == 401

    succeeded = recorder.one(LOGIN_SUCCEEDED)
    assert (succeeded.user_id, succeeded.session_id, succeeded.ip) == (
        account.id,
        sid_of(session),
        CLIENT_IP,
    )
    known, unknown = recorder.named(LOGIN_FAILED)
    assert (known.user_id, known.session_id, known.ip) == (account.id, None, CLIENT_IP)
    assert (unknown.user_id, unknown.session_id, unknown.ip) == (None, None, CLIENT_IP)

    for _ in range(MAX_FAILURES - 1):
        assert await wrong_login(client, account.username) == 401
    assert await wrong_login(client, account.username) == 429
    throttled = recorder.one(LOGIN_THROTTLED)
    assert (throttled.user_id, throttled.ip) == (account.id, CLIENT_IP)
    assert 0 < throttled.detail["retry_after"] <= gate.settings.login_window
    assert len(recorder.named(LOGIN_FAILED)) == 2 + MAX_FAILURES - 1  # a 429 is no failure


async def test_refresh_reuse_event(
    gate_with_hooks: GateWithHooks,
    recorder: Recorder,
    make_client: ClientFactory,
) -> None:
    gate = await gate_with_hooks(recorder)
    client = make_client(gate)
    session = await log_in(client, await register(client))
    first = await refresh(client, session.refresh_token)
    second = await refresh(client, first.json()["data"]["refreshToken"])
    assert second.status_code == 200
    assert recorder.named(REFRESH_REUSE_DETECTED) == []

    stolen = await refresh(client, session.refresh_token)  # two generations old

    assert stolen.status_code == 401
    reuse = recorder.one(REFRESH_REUSE_DETECTED)
    assert (reuse.user_id, reuse.session_id, reuse.ip) == (session.id, sid_of(session), CLIENT_IP)


async def test_logout_and_revocation_events(
    gate_with_hooks: GateWithHooks,
    recorder: Recorder,
    make_client: ClientFactory,
) -> None:
    gate = await gate_with_hooks(recorder)
    client = make_client(gate)
    account = await register(client)
    sessions = [await log_in(client, account) for _ in range(4)]

    assert (await client.post("/auth/logout", headers=bearer(sessions[0]))).status_code == 200
    logout = recorder.one(LOGOUT)
    assert (logout.user_id, logout.session_id, logout.ip) == (
        account.id,
        sid_of(sessions[0]),
        CLIENT_IP,
    )

    target = sid_of(sessions[1])
    deleted = await client.delete(f"/auth/sessions/{target}", headers=bearer(sessions[2]))
    assert deleted.status_code == 200
    by_user = recorder.one(SESSIONS_REVOKED)
    assert (by_user.user_id, by_user.session_id, by_user.ip) == (account.id, target, CLIENT_IP)
    assert by_user.detail["revoked"] == 1

    everywhere = await client.post("/auth/logout-all", headers=bearer(sessions[2]))
    assert everywhere.status_code == 200
    all_revoked = recorder.named(SESSIONS_REVOKED)[1]
    assert (all_revoked.user_id, all_revoked.session_id, all_revoked.ip) == (
        account.id,
        sid_of(sessions[2]),
        CLIENT_IP,
    )
    assert all_revoked.detail["revoked"] == 2
    assert all_revoked.detail["reason"] != by_user.detail["reason"]


async def test_password_and_account_events(
    gate_with_hooks: GateWithHooks,
    recorder: Recorder,
    make_client: ClientFactory,
) -> None:
    gate = await gate_with_hooks(recorder)
    client = make_client(gate)
    account = await register(client)
    current, _other = await log_in(client, account), await log_in(client, account)

    changed = await client.post(
        "/auth/change-password",
        json={"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD},
        headers=bearer(current),
    )

    assert changed.status_code == 200, changed.text
    event = recorder.one(PASSWORD_CHANGED)
    assert (event.user_id, event.session_id, event.ip) == (account.id, sid_of(current), CLIENT_IP)
    assert event.detail["revoked"] == 1

    assert await gate.service.set_active(account.id, False)
    deactivated = recorder.one(USER_DEACTIVATED)
    assert deactivated.user_id == account.id
    assert deactivated.detail["revoked"] == 1
    assert await gate.service.delete_user(account.id)
    deleted = recorder.one(USER_DELETED)
    assert deleted.user_id == account.id
    assert deleted.detail["revoked"] == 0


async def test_csrf_rejection_event(
    gate_with_hooks: GateWithHooks,
    recorder: Recorder,
    make_client: ClientFactory,
) -> None:
    gate = await gate_with_hooks(recorder)
    client = make_client(gate)
    await log_in(client, await register(client))
    client.cookies.set("accessToken", "from-a-cookie")

    response = await client.post("/auth/logout", headers={"Origin": "https://evil.example"})

    assert response.status_code == 403
    rejected = recorder.one(CSRF_REJECTED)
    assert rejected.ip == CLIENT_IP
    assert rejected.detail["path"] == "/auth/logout"
    # refused before authentication: the cookie's owner is not looked up for a forged request
    assert rejected.user_id is None


async def test_csrf_rejection_names_the_forwarded_client_behind_a_trusted_proxy(
    gate_with_hooks: GateWithHooks,
    recorder: Recorder,
    make_client: ClientFactory,
) -> None:
    gate = await gate_with_hooks(recorder, trusted_proxies=("203.0.113.0/24",))
    client = make_client(gate)
    client.cookies.set("refreshToken", "from-a-cookie", path="/auth")

    response = await client.post(
        "/auth/refresh-token",
        headers={"Origin": "null", "X-Forwarded-For": "198.51.100.40, 203.0.113.1"},
    )

    assert response.status_code == 403
    assert recorder.one(CSRF_REJECTED).ip == "198.51.100.40"


# -- the security log -------------------------------------------------------------------------


async def test_events_are_logged_with_structured_fields(
    gate_with_hooks: GateWithHooks,
    recorder: Recorder,
    make_client: ClientFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    gate = await gate_with_hooks(recorder)
    client = make_client(gate)
    account = await register(client)
    recorder.events.clear()  # user.registered came before the log was captured
    caplog.set_level(logging.INFO, logger="authgate.security")
    caplog.clear()  # an earlier test's logging set-up (Litestar's, Django's) may have let it in

    session = await log_in(client, account)
    assert await wrong_login(client, account.username) == 401
    assert (await client.post("/auth/logout-all", headers=bearer(session))).status_code == 200

    records = security_records(caplog)
    assert [record.__dict__["event"] for record in records] == [
        event.name for event in recorder.events
    ]
    for record, event in zip(records, recorder.events, strict=True):
        assert {key: record.__dict__[key] for key in event.fields()} == event.fields()
    success, failure, revoked = records
    assert success.levelno == logging.INFO
    assert failure.levelno == logging.WARNING
    assert (success.__dict__["user_id"], success.__dict__["ip"]) == (account.id, CLIENT_IP)
    assert success.__dict__["session_id"] == sid_of(session)
    assert revoked.__dict__["revoked"] == 1
    assert account.id in success.getMessage()


async def test_no_token_password_or_hash_in_any_log_or_event(
    gate_with_hooks: GateWithHooks,
    recorder: Recorder,
    make_client: ClientFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    for name in [*logging.root.manager.loggerDict, "sqlalchemy.engine.Engine"]:
        # SQL statements with their parameters (``echo=True``) but, for the engine, not DEBUG:
        # that adds every result row, a data dump by design that no library keeps a hash out of
        sql = name.startswith("sqlalchemy.engine")
        caplog.set_level(logging.INFO if sql else logging.DEBUG, logger=name)
    gate = await gate_with_hooks(recorder)
    client = make_client(gate)
    account = await register(client, username=unique_username("leak"))
    secrets_seen: list[str] = [PASSWORD, NEW_PASSWORD]

    first = await log_in(client, account)
    assert await wrong_login(client, account.username) == 401
    rotated = await refresh(client, first.refresh_token)
    assert rotated.status_code == 200
    reused = await refresh(client, first.refresh_token)  # replayed within the grace window
    second = await log_in(client, account)
    changed = await client.post(
        "/auth/change-password",
        json={"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD},
        headers=bearer(second),
    )
    assert changed.status_code == 200
    stale = await refresh(client, rotated.json()["data"]["refreshToken"])  # revoked by change
    assert stale.status_code == 401
    third = await log_in(client, account, NEW_PASSWORD)
    assert (await client.post("/auth/logout", headers=bearer(third))).status_code == 200
    await gate.service.set_active(account.id, False)
    await gate.service.delete_user(account.id)

    for session in (first, second, third):
        secrets_seen += [session.access_token, session.refresh_token]
    secrets_seen += list(rotated.json()["data"].values())
    if reused.status_code == 200:
        secrets_seen += list(reused.json()["data"].values())
    names = {event.name for event in recorder.events}
    assert {LOGIN_SUCCEEDED, LOGIN_FAILED, PASSWORD_CHANGED, LOGOUT, USER_DELETED} <= names
    logged_by = {record.name for record in caplog.records}
    assert {"authgate", "authgate.security", "sqlalchemy.engine.Engine"} <= logged_by
    everything = [caplog.text, repr(recorder.events)]
    everything += [repr(record.__dict__) for record in caplog.records]
    everything += [record.getMessage() for record in caplog.records]
    for text in everything:
        assert "$2b$" not in text
        for secret in secrets_seen:
            assert secret not in text


async def test_a_failing_hook_does_not_fail_the_request(
    gate_with_hooks: GateWithHooks,
    recorder: Recorder,
    make_client: ClientFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def broken(event: SecurityEvent) -> None:
        raise RuntimeError("the SIEM is down")

    gate = await gate_with_hooks(broken, recorder)
    client = make_client(gate)
    account = await register(client)
    caplog.clear()  # the hook failed on user.registered too

    session = await log_in(client, account)

    assert (await client.get("/auth/me", headers=bearer(session))).status_code == 200
    assert recorder.one(LOGIN_SUCCEEDED).user_id == account.id  # later hooks still run
    failures = [
        record
        for record in caplog.records
        if record.name == "authgate.security" and record.levelno >= logging.ERROR
    ]
    assert len(failures) == 1
    assert LOGIN_SUCCEEDED in failures[0].getMessage()
    assert failures[0].exc_info is not None
    assert "the SIEM is down" in caplog.text


# -- request-derived values never forge or hide a log line -------------------------------------

CONTROL_CHARACTERS = ["\n", "\r", "\r\n", "\x00", "\x1b[31m", "\t", "\x7f", "\x85", "\u2028"]


@pytest.mark.parametrize(
    ("value", "logged"),
    [
        ("plain", "plain"),
        ("/auth/login", "/auth/login"),
        ("203.0.113.7", "203.0.113.7"),
        (3, "3"),
        ("José", "José"),
        ("", '""'),
        ("two words", '"two words"'),
        ("a=b", '"a=b"'),
        ('say "hi"', '"say \\"hi\\""'),
        ("back\\slash", '"back\\\\slash"'),
        ("x\ny", '"x\\ny"'),
        ("x\r\nevent=login.succeeded", '"x\\r\\nevent=login.succeeded"'),
        ("nul\x00", '"nul\\x00"'),
        ("\x1b[31mred", '"\\x1b[31mred"'),
        ("line\u2028separator", '"line\\u2028separator"'),
        ("next\x85line", '"next\\x85line"'),
    ],
)
def test_log_value_escapes_what_could_break_a_line(value: object, logged: str) -> None:
    assert log_value(value) == logged


@pytest.mark.parametrize("control", CONTROL_CHARACTERS)
async def test_no_logged_value_carries_a_control_character(
    control: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="authgate.security")
    caplog.clear()
    events = SecurityEvents()
    forged = f"x{control}event=login.succeeded user_id=admin"

    await events.emit(
        LOGIN_FAILED, user_id=forged, ip=forged, path=forged, **{f"k{control}": forged}
    )

    (record,) = security_records(caplog)
    line = logging.Formatter("%(levelname)s %(name)s %(message)s %(path)s").format(record)
    assert all(char.isprintable() for char in line), repr(line)
    assert len(line.splitlines()) == 1
    # nothing reads as a second event: the forged "event=" is inside one quoted value
    assert record.getMessage().count(" event=") == 0
    assert record.getMessage().startswith(f"event={LOGIN_FAILED} ")


async def test_a_forged_newline_in_the_path_stays_in_one_log_line(
    gate_with_hooks: GateWithHooks,
    recorder: Recorder,
    make_client: ClientFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    gate = await gate_with_hooks(recorder)
    client = make_client(gate)
    client.cookies.set("accessToken", "from-a-cookie")
    caplog.set_level(logging.INFO, logger="authgate.security")
    caplog.clear()

    response = await client.post(
        "/auth/x%0D%0Aevent=login.succeeded%20user_id=admin",
        headers={"Origin": "https://evil.example"},
    )

    assert response.status_code == 403
    (record,) = security_records(caplog)
    assert record.__dict__["event"] == CSRF_REJECTED
    message = record.getMessage()
    assert "\n" not in message
    assert "\r" not in message
    assert 'path="/auth/x\\r\\nevent=login.succeeded user_id=admin"' in message
    assert "\n" not in record.__dict__["path"]
    assert "\r" not in record.__dict__["path"]
    csrf_lines = [line for line in caplog.text.splitlines() if "event=" in line]
    assert len(csrf_lines) == 1
    assert CSRF_REJECTED in csrf_lines[0]
    # the hooks get the path as it was: escaping is for the log line
    assert recorder.one(CSRF_REJECTED).detail["path"] == (
        "/auth/x\r\nevent=login.succeeded user_id=admin"
    )
