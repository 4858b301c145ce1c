"""The CSRF origin check, through the library's test app over ASGI.

An unsafe request (POST, PUT, PATCH, DELETE) authenticated by authgate's cookies must come
from the app's own origin (``http://testserver`` here) or a trusted one; anything else gets
the 403 envelope and changes nothing. The check follows the credential the request is
authenticated by, not the cookies' presence: Bearer requests (the header wins over the
cookie), refreshes and logouts with the refresh token in the body (the body wins over the
cookie), and safe methods are not subject to it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount, WebSocketRoute
from starlette.websockets import WebSocket

from authgate import AuthGate
from authgate.errors import CsrfRejected
from authgate.observability.events import CSRF_REJECTED, SecurityEvent
from authgate.tokens import TokenKind
from tests.asgi import websocket_handshake
from tests.conftest import (
    CLIENT_IP,
    PASSWORD,
    Account,
    ClientFactory,
    GateFactory,
    bearer,
    login,
    register,
    register_and_login,
    unique_username,
)

OWN_ORIGIN = "http://testserver"
EVIL_ORIGIN = "https://evil.example.net"
TRUSTED_ORIGIN = "https://app.example.com"
ORIGINAL_NAME_PREFIX = "Test "


@dataclass
class Victim:
    """A logged-in browser: its client (with both cookies in the jar), account and session."""

    gate: AuthGate
    client: httpx.AsyncClient
    account: Account
    session_id: str
    events: list[SecurityEvent]


async def send(
    client: httpx.AsyncClient,
    method: str,
    path: str,
    *,
    headers: Mapping[str, str] | None = None,
    drop: tuple[str, ...] = (),
    json: Any = None,
) -> httpx.Response:
    """Send a request, with ``headers`` set and the client's default headers in ``drop``
    removed (the test client sends ``Origin: http://testserver`` by default)."""
    request = client.build_request(method, path, headers=dict(headers or {}), json=json)
    for name in drop:
        request.headers.pop(name, None)
    return await client.send(request)


def assert_refused(response: httpx.Response) -> None:
    """The 403 envelope, and no cookie was touched."""
    assert response.status_code == 403, response.text
    body = response.json()
    assert body == {
        "statusCode": 403,
        "data": None,
        "message": CsrfRejected.default_message,
        "success": False,
        "errors": [],
    }
    assert "set-cookie" not in response.headers


async def current_session_id(client: httpx.AsyncClient) -> str:
    response = await client.get("/auth/sessions")
    assert response.status_code == 200, response.text
    (current,) = [item["id"] for item in response.json()["data"] if item["current"]]
    return str(current)


@pytest.fixture
async def victim(make_gate: GateFactory, make_client: ClientFactory) -> Victim:
    """A logged-in user on a gate without a refresh grace window, so a refresh that slipped
    through the check would make the original refresh token a reused one."""
    gate = await make_gate(refresh_grace_seconds=0)
    events: list[SecurityEvent] = []

    async def record(event: SecurityEvent) -> None:
        events.append(event)

    gate.events.add_hook(record)
    client = make_client(gate)
    account = await register_and_login(client)
    return Victim(gate, client, account, await current_session_id(client), events)


async def assert_nothing_changed(victim: Victim, make_client: ClientFactory) -> None:
    """The profile, the session, the refresh token and the password are all as before."""
    client, account = victim.client, victim.account
    profile = await client.get("/api/profile")
    assert profile.status_code == 200, profile.text
    assert profile.json()["data"]["fullName"] == f"{ORIGINAL_NAME_PREFIX}{account.username}"
    sessions = await client.get("/auth/sessions")
    assert [item["id"] for item in sessions.json()["data"]] == [victim.session_id]
    # Not rotated: with no grace window a rotated-away token would be refused as reused.
    refreshed = await make_client(victim.gate).post(
        "/auth/refresh-token", json={"refreshToken": account.refresh_token}
    )
    assert refreshed.status_code == 200, refreshed.text
    # The password is unchanged.
    again = await make_client(victim.gate).post(
        "/auth/login", json={"username": account.username, "password": PASSWORD}
    )
    assert again.status_code == 200, again.text


@dataclass(frozen=True)
class Unsafe:
    """An unsafe request a cross-site page would love to make with the victim's cookies."""

    method: str
    path: str
    body: dict[str, str] | None = None
    refresh_cookie_only: bool = False


UNSAFE_REQUESTS = {
    "patch-settings": Unsafe("PATCH", "/auth/me", {"fullName": "Hijacked"}),
    "logout": Unsafe("POST", "/auth/logout"),
    "logout-all": Unsafe("POST", "/auth/logout-all"),
    "delete-session": Unsafe("DELETE", "/auth/sessions/{sid}"),
    "change-password": Unsafe(
        "POST",
        "/auth/change-password",
        {"currentPassword": PASSWORD, "newPassword": "attacker chosen pw"},
    ),
    "refresh-token": Unsafe("POST", "/auth/refresh-token", refresh_cookie_only=True),
}


async def send_unsafe(
    victim: Victim, make_client: ClientFactory, unsafe: Unsafe, headers: Mapping[str, str]
) -> httpx.Response:
    path = unsafe.path.format(sid=victim.session_id)
    if unsafe.refresh_cookie_only:
        # What a browser sends to /auth/refresh-token: only the refresh cookie (Path=/auth).
        client = make_client(victim.gate)
        cookie = {"Cookie": f"refreshToken={victim.account.refresh_token}"}
        return await send(client, unsafe.method, path, headers={**headers, **cookie})
    return await send(victim.client, unsafe.method, path, headers=headers, json=unsafe.body)


@pytest.mark.parametrize("name", list(UNSAFE_REQUESTS))
async def test_cross_site_cookie_request_is_refused_and_changes_nothing(
    victim: Victim, make_client: ClientFactory, name: str
) -> None:
    response = await send_unsafe(
        victim, make_client, UNSAFE_REQUESTS[name], {"Origin": EVIL_ORIGIN}
    )

    assert_refused(response)
    await assert_nothing_changed(victim, make_client)
    rejected = [event for event in victim.events if event.name == CSRF_REJECTED]
    assert len(rejected) == 1
    assert rejected[0].ip == "203.0.113.7"


@pytest.mark.parametrize("name", list(UNSAFE_REQUESTS))
async def test_same_origin_cookie_request_is_allowed(
    victim: Victim, make_client: ClientFactory, name: str
) -> None:
    response = await send_unsafe(victim, make_client, UNSAFE_REQUESTS[name], {"Origin": OWN_ORIGIN})

    assert response.status_code == 200, response.text
    assert response.json()["success"] is True
    assert not [event for event in victim.events if event.name == CSRF_REJECTED]


# How the origin of a PATCH /auth/me is presented: (headers to set, defaults to drop).
ALLOWED_ORIGINS: dict[str, tuple[dict[str, str], tuple[str, ...]]] = {
    "same-origin": ({"Origin": OWN_ORIGIN}, ()),
    "same-origin-mixed-case": ({"Origin": "HTTP://TestServer"}, ()),
    "referer-same-origin": ({"Referer": f"{OWN_ORIGIN}/settings?tab=1"}, ("Origin",)),
}
REFUSED_ORIGINS: dict[str, tuple[dict[str, str], tuple[str, ...]]] = {
    "foreign-origin": ({"Origin": EVIL_ORIGIN}, ()),
    "foreign-origin-same-origin-referer": (
        {"Origin": EVIL_ORIGIN, "Referer": f"{OWN_ORIGIN}/"},
        (),
    ),
    "other-scheme": ({"Origin": "https://testserver"}, ()),
    "other-port": ({"Origin": "http://testserver:8080"}, ()),
    "suffix-host": ({"Origin": "http://testserver.evil.example"}, ()),
    "sibling-subdomain": ({"Origin": "http://api.testserver"}, ()),
    "userinfo-trick": ({"Origin": "http://testserver@evil.example"}, ()),
    "origin-null": ({"Origin": "null"}, ()),
    "origin-empty": ({"Origin": ""}, ()),
    "origin-not-a-url": ({"Origin": "testserver"}, ()),
    "origin-javascript": ({"Origin": "javascript:alert(1)"}, ()),
    "foreign-referer": ({"Referer": f"{EVIL_ORIGIN}/page"}, ("Origin",)),
    "relative-referer": ({"Referer": "/settings"}, ("Origin",)),
    "neither-header": ({}, ("Origin",)),
}


@pytest.mark.parametrize("case", list(ALLOWED_ORIGINS))
async def test_settings_change_from_own_origin_is_allowed(victim: Victim, case: str) -> None:
    headers, drop = ALLOWED_ORIGINS[case]
    response = await send(
        victim.client,
        "PATCH",
        "/auth/me",
        headers=headers,
        drop=drop,
        json={"fullName": "Changed On Purpose"},
    )

    assert response.status_code == 200, response.text
    profile = await victim.client.get("/api/profile")
    assert profile.json()["data"]["fullName"] == "Changed On Purpose"


@pytest.mark.parametrize("case", list(REFUSED_ORIGINS))
async def test_settings_change_from_elsewhere_is_refused(
    victim: Victim, make_client: ClientFactory, case: str
) -> None:
    headers, drop = REFUSED_ORIGINS[case]
    response = await send(
        victim.client,
        "PATCH",
        "/auth/me",
        headers=headers,
        drop=drop,
        json={"fullName": "Hijacked"},
    )

    assert_refused(response)
    await assert_nothing_changed(victim, make_client)


async def test_trusted_origin_is_allowed_and_lookalikes_are_not(
    make_gate: GateFactory, make_client: ClientFactory
) -> None:
    gate = await make_gate(trusted_origins=(TRUSTED_ORIGIN,))
    client = make_client(gate)
    await register_and_login(client)

    trusted = await client.patch(
        "/auth/me", json={"fullName": "From The App"}, headers={"Origin": TRUSTED_ORIGIN}
    )
    lookalike = await client.patch(
        "/auth/me",
        json={"fullName": "Hijacked"},
        headers={"Origin": f"{TRUSTED_ORIGIN}.evil.example"},
    )
    other_scheme = await client.patch(
        "/auth/me", json={"fullName": "Hijacked"}, headers={"Origin": "http://app.example.com"}
    )

    assert trusted.status_code == 200, trusted.text
    assert_refused(lookalike)
    assert_refused(other_scheme)
    profile = await client.get("/api/profile")
    assert profile.json()["data"]["fullName"] == "From The App"


async def test_cross_site_bearer_request_without_cookies_is_allowed(
    victim: Victim, make_client: ClientFactory
) -> None:
    # A token in a header is never sent by a browser on its own: no CSRF risk.
    api = make_client(victim.gate)
    bearer = {"Origin": EVIL_ORIGIN, "Authorization": f"Bearer {victim.account.access_token}"}

    changed = await send(api, "PATCH", "/auth/me", headers=bearer, json={"fullName": "Api"})
    listed = await send(api, "GET", "/auth/sessions", headers=bearer)
    revoked = await send(api, "DELETE", f"/auth/sessions/{victim.session_id}", headers=bearer)

    assert changed.status_code == 200, changed.text
    assert changed.json()["data"]["fullName"] == "Api"
    assert listed.status_code == 200, listed.text
    assert revoked.status_code == 200, revoked.text
    assert (await victim.client.get("/api/profile")).status_code == 401


async def test_bearer_wins_over_the_cookie_and_is_not_checked(
    victim: Victim, make_client: ClientFactory
) -> None:
    # The header is the credential: the request acts as the Bearer token's owner, never as
    # the cookie's, so the victim's cookie riding along gives a cross-site page nothing.
    other = await register_and_login(make_client(victim.gate))

    response = await send(
        victim.client,
        "PATCH",
        "/auth/me",
        headers={"Origin": EVIL_ORIGIN, **bearer(other)},
        json={"fullName": "Bearer Owner"},
    )

    assert response.status_code == 200, response.text
    assert response.json()["data"]["id"] == other.id
    assert not [event for event in victim.events if event.name == CSRF_REJECTED]
    await assert_nothing_changed(victim, make_client)


async def test_a_refused_bearer_token_does_not_fall_back_to_the_cookie(
    victim: Victim, make_client: ClientFactory
) -> None:
    broken = {"Authorization": "Bearer not.a.token"}

    protected = await send(
        victim.client, "PATCH", "/auth/me", headers=broken, json={"fullName": "Hijacked"}
    )
    # nothing authenticates this logout but the cookies: it is checked like a cookie request
    logout = await send(
        victim.client, "POST", "/auth/logout", headers={**broken, "Origin": EVIL_ORIGIN}
    )

    assert protected.status_code == 401, protected.text
    assert_refused(logout)
    await assert_nothing_changed(victim, make_client)


# -- the motivating cases: a generated API client that kept the cookies ------------------------


async def test_a_bearer_logout_that_also_sends_the_cookie_needs_no_origin(
    victim: Victim, make_client: ClientFactory
) -> None:
    # what a client generated from the OpenAPI document sends: Bearer, the cookies it kept
    # from the login response, and no Origin
    response = await send(
        victim.client, "POST", "/auth/logout", headers=bearer(victim.account), drop=("Origin",)
    )

    assert response.status_code == 200, response.text
    assert response.json()["success"] is True
    assert not [event for event in victim.events if event.name == CSRF_REJECTED]
    after = await make_client(victim.gate).get("/auth/me", headers=bearer(victim.account))
    assert after.status_code == 401, after.text  # the session has ended


@pytest.mark.parametrize("origin", [None, EVIL_ORIGIN], ids=["no-origin", "foreign-origin"])
async def test_a_refresh_with_the_token_in_the_body_needs_no_origin_even_with_the_cookies(
    victim: Victim, make_client: ClientFactory, origin: str | None
) -> None:
    # a cross-site page can neither put the victim's token in a body nor send JSON unasked
    headers = {"Origin": origin} if origin else {}
    response = await send(
        victim.client,
        "POST",
        "/auth/refresh-token",
        headers=headers,
        drop=() if origin else ("Origin",),
        json={"refreshToken": victim.account.refresh_token},
    )

    assert response.status_code == 200, response.text
    assert response.json()["data"]["refreshToken"] != victim.account.refresh_token
    assert not [event for event in victim.events if event.name == CSRF_REJECTED]


async def test_the_body_refresh_token_wins_over_the_cookie(
    victim: Victim, make_client: ClientFactory
) -> None:
    second = await login(make_client(victim.gate), victim.account)  # another session

    response = await send(
        victim.client,
        "POST",
        "/auth/refresh-token",
        drop=("Origin",),
        json={"refreshToken": second.refresh_token},
    )

    assert response.status_code == 200, response.text
    access_token = response.json()["data"]["accessToken"]
    claims = victim.gate.service.tokens.verify(TokenKind.ACCESS, access_token)
    assert claims.sid != victim.session_id
    # the cookie's refresh token was not used: with no grace window it would now be refused
    cookie_session = await make_client(victim.gate).post(
        "/auth/refresh-token", json={"refreshToken": victim.account.refresh_token}
    )
    assert cookie_session.status_code == 200, cookie_session.text


async def test_a_logout_with_the_token_in_the_body_needs_no_origin_and_ends_that_session(
    victim: Victim, make_client: ClientFactory
) -> None:
    second = await login(make_client(victim.gate), victim.account)

    response = await send(
        victim.client,
        "POST",
        "/auth/logout",
        drop=("Origin",),
        json={"refreshToken": second.refresh_token},
    )

    assert response.status_code == 200, response.text
    assert not [event for event in victim.events if event.name == CSRF_REJECTED]
    # the body's session ended, not the one of the cookies (the body wins)
    listed = await make_client(victim.gate).get("/auth/sessions", headers=bearer(victim.account))
    assert [item["id"] for item in listed.json()["data"]] == [victim.session_id]


# -- going by the cookies: still checked ---------------------------------------------------


COOKIE_ONLY = {
    "logout": ("POST", "/auth/logout", None),
    "logout-body-without-token": ("POST", "/auth/logout", {}),
    "logout-empty-body-token": ("POST", "/auth/logout", {"refreshToken": ""}),
    "refresh": ("POST", "/auth/refresh-token", None),
    "refresh-body-without-token": ("POST", "/auth/refresh-token", {}),
    "patch-settings": ("PATCH", "/auth/me", {"fullName": "Hijacked"}),
}


@pytest.mark.parametrize("origin", [EVIL_ORIGIN, None], ids=["foreign-origin", "no-origin"])
@pytest.mark.parametrize("name", list(COOKIE_ONLY))
async def test_a_request_going_by_the_cookies_is_checked(
    victim: Victim, make_client: ClientFactory, name: str, origin: str | None
) -> None:
    method, path, body = COOKIE_ONLY[name]
    response = await send(
        victim.client,
        method,
        path,
        headers={"Origin": origin} if origin else {},
        drop=() if origin else ("Origin",),
        json=body,
    )

    assert_refused(response)
    await assert_nothing_changed(victim, make_client)
    rejected = [event for event in victim.events if event.name == CSRF_REJECTED]
    assert [(event.ip, event.detail["path"]) for event in rejected] == [(CLIENT_IP, path)]


async def test_a_logout_with_only_the_refresh_cookie_from_a_foreign_origin_is_refused(
    victim: Victim, make_client: ClientFactory
) -> None:
    # what a browser sends once the access cookie has expired
    response = await send(
        make_client(victim.gate),
        "POST",
        "/auth/logout",
        headers={"Origin": EVIL_ORIGIN, "Cookie": f"refreshToken={victim.account.refresh_token}"},
    )

    assert_refused(response)
    await assert_nothing_changed(victim, make_client)


async def test_the_endpoints_check_the_refresh_cookie_without_the_middleware(
    gate: AuthGate, make_client: ClientFactory
) -> None:
    account = await register_and_login(make_client(gate))
    app = Starlette(routes=[Mount("/auth", app=gate.router())])
    transport = httpx.ASGITransport(app=app, client=(CLIENT_IP, 4711))
    cookie = {"Cookie": f"refreshToken={account.refresh_token}"}
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        refused = await client.post(
            "/auth/refresh-token", headers={**cookie, "Origin": EVIL_ORIGIN}
        )
        allowed = await client.post("/auth/refresh-token", headers={**cookie, "Origin": OWN_ORIGIN})

    assert_refused(refused)
    assert allowed.status_code == 200, allowed.text


async def test_away_from_the_refresh_cookie_path_the_middleware_checks_the_access_cookie(
    victim: Victim,
) -> None:
    # Only at the refresh cookie's path does the middleware leave refresh and logout to the
    # endpoints; a router mounted elsewhere gets the plain cookie check (fail closed).
    app = Starlette(
        routes=[Mount("/elsewhere", app=victim.gate.router())],
        middleware=[victim.gate.middleware()],
    )
    transport = httpx.ASGITransport(app=app, client=(CLIENT_IP, 4711))
    cookie = {"Cookie": f"accessToken={victim.account.access_token}"}
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        response = await client.post(
            "/elsewhere/refresh-token",
            headers={**cookie, "Origin": EVIL_ORIGIN},
            json={"refreshToken": victim.account.refresh_token},
        )

    assert_refused(response)


@pytest.mark.parametrize("path", ["/api/profile", "/auth/me", "/auth/sessions"])
async def test_safe_methods_from_a_foreign_origin_are_allowed(victim: Victim, path: str) -> None:
    response = await send(victim.client, "GET", path, headers={"Origin": EVIL_ORIGIN})

    assert response.status_code == 200, response.text
    assert not [event for event in victim.events if event.name == CSRF_REJECTED]


async def test_login_and_register_without_cookies_are_not_blocked(
    gate: AuthGate, make_client: ClientFactory
) -> None:
    # No cookie, no session to ride on: the origin check does not apply.
    client = make_client(gate)
    foreign = {"Origin": EVIL_ORIGIN}
    username = unique_username()
    registered = await client.post(
        "/auth/register",
        json={
            "username": username,
            "email": f"{username}@example.com",
            "fullName": "Far Away",
            "password": PASSWORD,
        },
        headers=foreign,
    )
    logged_in = await client.post(
        "/auth/login", json={"username": username, "password": PASSWORD}, headers=foreign
    )

    assert registered.status_code == 201, registered.text
    assert logged_in.status_code == 200, logged_in.text
    assert "accessToken" in logged_in.cookies


async def test_login_from_a_foreign_origin_while_holding_cookies_is_refused(
    victim: Victim, make_client: ClientFactory
) -> None:
    other = await register(make_client(victim.gate))

    response = await send(
        victim.client,
        "POST",
        "/auth/login",
        headers={"Origin": EVIL_ORIGIN},
        json={"username": other.username, "password": PASSWORD},
    )

    # The cookies would otherwise be swapped for the attacker's account (login CSRF).
    assert_refused(response)
    me = await victim.client.get("/auth/me")
    assert me.json()["data"]["username"] == victim.account.username


# -- WebSocket handshakes ---------------------------------------------------------------------


def websocket_app(gate: AuthGate) -> Starlette:
    """An app with one socket that greets its user: authenticated by the gate's middleware."""

    async def greet(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_text(
            websocket.user.identity if websocket.user.is_authenticated else ""
        )
        await websocket.close()

    return Starlette(
        routes=[WebSocketRoute("/ws", greet)], middleware=[gate.middleware(protect=["/ws"])]
    )


async def handshake(app: Starlette, *, cookie: str, origin: str | None) -> list[dict[str, Any]]:
    """Open ``/ws`` as a browser would, with the access cookie; what the app sent back."""
    headers = [(b"cookie", f"accessToken={cookie}".encode())]
    if origin is not None:
        headers.append((b"origin", origin.encode()))
    return await websocket_handshake(app, "/ws", headers)


@pytest.mark.parametrize("origin", [EVIL_ORIGIN, "null", None], ids=["foreign", "null", "none"])
async def test_a_cookie_websocket_from_another_origin_is_closed_before_accept(
    gate: AuthGate, make_client: ClientFactory, origin: str | None
) -> None:
    client = make_client(gate)
    account = await register_and_login(client)

    sent = await handshake(websocket_app(gate), cookie=account.access_token, origin=origin)

    assert sent == [{"type": "websocket.close", "code": 1008, "reason": ""}]


async def test_a_cookie_websocket_from_the_apps_own_origin_is_authenticated(
    gate: AuthGate, make_client: ClientFactory
) -> None:
    client = make_client(gate)
    account = await register_and_login(client)

    sent = await handshake(websocket_app(gate), cookie=account.access_token, origin=OWN_ORIGIN)

    assert [message["type"] for message in sent][:2] == ["websocket.accept", "websocket.send"]
    assert sent[1]["text"] == account.id


async def test_a_bearer_websocket_is_not_checked_and_is_its_owner_s_not_the_cookie_s(
    gate: AuthGate, make_client: ClientFactory
) -> None:
    cookie_owner = await register_and_login(make_client(gate))
    bearer_owner = await register_and_login(make_client(gate))
    headers = [
        (b"cookie", f"accessToken={cookie_owner.access_token}".encode()),
        (b"authorization", f"Bearer {bearer_owner.access_token}".encode()),
        (b"origin", EVIL_ORIGIN.encode()),
    ]

    sent = await websocket_handshake(websocket_app(gate), "/ws", headers)

    assert [message["type"] for message in sent][:2] == ["websocket.accept", "websocket.send"]
    assert sent[1]["text"] == bearer_owner.id
