"""The HTTP API over ASGI on real PostgreSQL and Redis: authgate's endpoints on the library's
test app, the example's own routes (``/api/settings``, ``/health``) on the example app."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from authgate import AuthGate
from authgate.recovery import LogMailer
from tests.conftest import (
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
from tests.envelope import assert_envelope

PUBLIC_USER_KEYS = {
    "id",
    "username",
    "email",
    "fullName",
    "avatarUrl",
    "createdAt",
    "roles",
    "emailVerified",
}
# What a browser sends with a same-origin POST; keeps cookie requests honest about CSRF.
SAME_ORIGIN = {"Origin": "http://testserver"}
MAX_BODY = 64 * 1024
MISSING = object()


# -- helpers --------------------------------------------------------------------------------


def assert_public_user(data: dict[str, Any], raw: str) -> None:
    """``data`` is exactly the public user object, and ``raw`` leaks no password or hash."""
    assert set(data) == PUBLIC_USER_KEYS
    created = datetime.fromisoformat(data["createdAt"])
    assert created.utcoffset() == timedelta(0)
    assert abs(datetime.now(UTC) - created) < timedelta(minutes=5)
    assert "$2b$" not in raw
    assert "password" not in raw.lower()


def error_fields(body: dict[str, Any]) -> set[str]:
    for error in body["errors"]:
        assert set(error) == {"field", "message"}
        assert error["message"]
    return {error["field"] for error in body["errors"]}


@dataclass
class SetCookie:
    name: str
    value: str
    attributes: dict[str, str]  # lowercase name -> value ("" for a flag)


def set_cookies(response: httpx.Response) -> dict[str, SetCookie]:
    cookies: dict[str, SetCookie] = {}
    for header in response.headers.get_list("set-cookie"):
        first, *rest = (part.strip() for part in header.split(";"))
        name, _, value = first.partition("=")
        attributes = {}
        for attribute in rest:
            key, _, attribute_value = attribute.partition("=")
            attributes[key.lower()] = attribute_value
        cookies[name] = SetCookie(name, value, attributes)
    return cookies


def cookie_attributes(*, max_age: int, path: str, secure: bool) -> dict[str, str]:
    attributes = {"httponly": "", "samesite": "Strict", "path": path, "max-age": str(max_age)}
    if secure:
        attributes["secure"] = ""
    return attributes


def registration(**overrides: Any) -> dict[str, Any]:
    username = unique_username("reg")
    body: dict[str, Any] = {
        "username": username,
        "email": f"{username}@example.com",
        "fullName": "Ada Lovelace",
        "password": PASSWORD,
    }
    for key, value in overrides.items():
        if value is MISSING:
            body.pop(key, None)
        else:
            body[key] = value
    return body


async def bearer_login(client: httpx.AsyncClient, account: Account) -> Account:
    """Log in, then forget the cookies so only the bearer header authenticates."""
    logged_in = await login(client, account)
    client.cookies.clear()
    return logged_in


# -- register -------------------------------------------------------------------------------


async def test_register_returns_201_and_the_public_user(client: httpx.AsyncClient) -> None:
    body = registration(
        username="Ada.Love-" + unique_username("x")[-10:],
        email="Ada.Lovelace." + unique_username("e")[-10:] + "@Example.COM",
        fullName="  Ada Lovelace  ",
        avatarUrl="https://example.com/ada.png",
    )
    response = await client.post("/auth/register", json=body)

    data = assert_envelope(response, 201)["data"]
    assert_public_user(data, response.text)
    assert data["username"] == body["username"].lower()
    assert data["email"] == body["email"].lower()
    assert data["fullName"] == "Ada Lovelace"
    assert data["avatarUrl"] == "https://example.com/ada.png"
    assert response.cookies.get("accessToken") is None


async def test_register_accepts_the_boundaries_of_the_rules(client: httpx.AsyncClient) -> None:
    stem = unique_username("b")  # 12 characters
    longest = (stem + "_.-" + "z" * 32)[:32]
    shortest_password = "8 chars!"
    response = await client.post(
        "/auth/register",
        json=registration(username=longest, fullName="x", password=shortest_password),
    )
    data = assert_envelope(response, 201)["data"]
    assert data["username"] == longest
    assert data["avatarUrl"] is None

    three = await client.post(
        "/auth/register", json=registration(username="a-c", fullName="y" * 100)
    )
    data = assert_envelope(three, 201)["data"]  # "a-c" is free: each run has its own database
    assert data["username"] == "a-c"
    assert data["fullName"] == "y" * 100


async def test_username_taken_case_insensitively_is_409(client: httpx.AsyncClient) -> None:
    name = unique_username("Bob")
    first = await client.post("/auth/register", json=registration(username=name))
    assert_envelope(first, 201)

    second = await client.post("/auth/register", json=registration(username=name.lower()))

    body = assert_envelope(second, 409)
    assert error_fields(body) == {"username"}


async def test_email_taken_case_insensitively_is_409(client: httpx.AsyncClient) -> None:
    email = unique_username("Carol") + "@Example.com"
    first = await client.post("/auth/register", json=registration(email=email))
    assert_envelope(first, 201)

    second = await client.post("/auth/register", json=registration(email=email.upper()))

    body = assert_envelope(second, 409)
    assert error_fields(body) == {"email"}


async def test_racing_registrations_give_one_201_and_one_409(client: httpx.AsyncClient) -> None:
    name = unique_username("race")
    responses = await asyncio.gather(
        *(
            client.post("/auth/register", json=registration(username=name, email=f"{i}{name}@x.io"))
            for i in range(2)
        )
    )
    assert sorted(response.status_code for response in responses) == [201, 409]


# -- login ----------------------------------------------------------------------------------


async def test_login_returns_user_and_tokens(client: httpx.AsyncClient) -> None:
    account = await register(client)
    response = await client.post(
        "/auth/login", json={"username": account.username, "password": PASSWORD}
    )

    data = assert_envelope(response, 200)["data"]
    assert set(data) == {"user", "accessToken", "refreshToken"}
    assert_public_user(data["user"], response.text)
    assert data["user"]["id"] == account.id
    assert data["accessToken"] != data["refreshToken"]
    me = await client.get("/auth/me", headers={"Authorization": f"Bearer {data['accessToken']}"})
    assert assert_envelope(me, 200)["data"]["id"] == account.id


@pytest.mark.parametrize("field", ["username", "email"])
async def test_login_is_case_insensitive(client: httpx.AsyncClient, field: str) -> None:
    name = unique_username("Dora")
    email = f"{name}@Example.org"
    created = await client.post("/auth/register", json=registration(username=name, email=email))
    assert_envelope(created, 201)
    login_value = name.upper() if field == "username" else email.swapcase()

    response = await client.post("/auth/login", json={field: login_value, "password": PASSWORD})

    assert assert_envelope(response, 200)["data"]["user"]["username"] == name.lower()


async def test_unknown_user_and_wrong_password_get_the_same_401(
    client: httpx.AsyncClient,
) -> None:
    account = await register(client)
    attempts = [
        {"username": account.username, "password": PASSWORD + "!"},
        {"username": unique_username("ghost"), "password": PASSWORD},
        {"email": "ghost-" + account.email, "password": PASSWORD},
        {"username": account.username, "password": PASSWORD + "x" * 80},  # over 72 bytes
    ]
    responses = [await client.post("/auth/login", json=attempt) for attempt in attempts]

    bodies = [assert_envelope(response, 401) for response in responses]
    assert bodies[0]["message"] == "Invalid user credentials"
    assert all(body == bodies[0] for body in bodies)
    assert {response.headers.get("www-authenticate") for response in responses} == {"Bearer"}
    assert all("set-cookie" not in response.headers for response in responses)


async def test_a_72_byte_password_is_never_truncated(client: httpx.AsyncClient) -> None:
    password = "é" * 36  # 36 characters, exactly 72 UTF-8 bytes
    account = await register(client, password=password)
    await login(client, account)

    longer = await client.post(
        "/auth/login", json={"username": account.username, "password": password + "é"}
    )

    assert assert_envelope(longer, 401)["message"] == "Invalid user credentials"


# the production minimum bcrypt cost, and the mailer and public URL production asks for
PRODUCTION: dict[str, Any] = {
    "bcrypt_rounds": 10,
    "mailer": LogMailer(),
    "public_url": "https://app.example.com",
}


# -- cookies --------------------------------------------------------------------------------


@pytest.mark.parametrize("env", ["development", "production"])
async def test_login_and_refresh_set_the_token_cookies(
    make_gate: GateFactory, make_client: ClientFactory, env: str
) -> None:
    overrides: dict[str, Any] = {"access_token_expiry": 123, "refresh_token_expiry": 4567}
    if env == "production":
        overrides.update(PRODUCTION)
    gate = await make_gate(env=env, **overrides)
    client = make_client(gate)
    secure = env == "production"
    account = await register(client)

    logged_in = await client.post(
        "/auth/login", json={"username": account.username, "password": PASSWORD}
    )
    tokens = assert_envelope(logged_in, 200)["data"]
    refreshed = await client.post(
        "/auth/refresh-token", json={"refreshToken": tokens["refreshToken"]}
    )
    new_tokens = assert_envelope(refreshed, 200)["data"]

    for response, data in ((logged_in, tokens), (refreshed, new_tokens)):
        cookies = set_cookies(response)
        assert set(cookies) == {"accessToken", "refreshToken"}
        assert cookies["accessToken"].value == data["accessToken"]
        assert cookies["accessToken"].attributes == cookie_attributes(
            max_age=123, path="/", secure=secure
        )
        assert cookies["refreshToken"].value == data["refreshToken"]
        assert cookies["refreshToken"].attributes == cookie_attributes(
            max_age=4567, path="/auth", secure=secure
        )


@pytest.mark.parametrize("env", ["development", "production"])
async def test_logout_clears_both_cookies_with_their_paths(
    make_gate: GateFactory, make_client: ClientFactory, env: str
) -> None:
    gate = await make_gate(env=env, **PRODUCTION) if env == "production" else await make_gate()
    client = make_client(gate)
    account = await bearer_login(client, await register(client))

    response = await client.post("/auth/logout", headers=bearer(account))

    assert_envelope(response, 200)
    cookies = set_cookies(response)
    assert set(cookies) == {"accessToken", "refreshToken"}
    for name, path in (("accessToken", "/"), ("refreshToken", "/auth")):
        cookie = cookies[name]
        assert cookie.value in ("", '""')
        assert cookie.attributes["path"] == path
        assert cookie.attributes["max-age"] == "0"
        assert ("secure" in cookie.attributes) is (env == "production")


async def test_cookies_alone_carry_a_browser_session(client: httpx.AsyncClient) -> None:
    account = await register(client)
    await login(client, account)  # the client keeps the cookies, as a browser would
    assert client.cookies.get("accessToken")

    me = await client.get("/auth/me")
    assert assert_envelope(me, 200)["data"]["id"] == account.id

    logout = await client.post("/auth/logout", headers=SAME_ORIGIN)
    assert_envelope(logout, 200)
    assert not client.cookies.get("accessToken")
    assert not client.cookies.get("refreshToken")
    assert_envelope(await client.get("/auth/me"), 401)


# -- refresh --------------------------------------------------------------------------------


async def test_refresh_from_the_cookie(client: httpx.AsyncClient) -> None:
    account = await register_and_login(client)

    response = await client.post("/auth/refresh-token", headers=SAME_ORIGIN)

    data = assert_envelope(response, 200)["data"]
    assert set(data) == {"accessToken", "refreshToken"}
    assert data["refreshToken"] != account.refresh_token
    assert client.cookies.get("refreshToken") == data["refreshToken"]
    client.cookies.clear()
    me = await client.get("/auth/me", headers={"Authorization": f"Bearer {data['accessToken']}"})
    assert assert_envelope(me, 200)["data"]["id"] == account.id


async def test_refresh_from_the_body(client: httpx.AsyncClient) -> None:
    account = await bearer_login(client, await register(client))

    response = await client.post(
        "/auth/refresh-token", json={"refreshToken": account.refresh_token}
    )

    data = assert_envelope(response, 200)["data"]
    assert data["refreshToken"] != account.refresh_token
    again = await client.post("/auth/refresh-token", json={"refreshToken": data["refreshToken"]})
    assert_envelope(again, 200)


@pytest.mark.parametrize(
    "body",
    [None, {}, {"refreshToken": ""}, {"refreshToken": "not-a-jwt"}, "access token"],
    ids=["no-body", "empty-object", "empty-token", "garbage", "access-token"],
)
async def test_refresh_without_a_valid_refresh_token_is_401(
    client: httpx.AsyncClient, body: object
) -> None:
    account = await bearer_login(client, await register(client))
    if body == "access token":
        body = {"refreshToken": account.access_token}

    response = await client.post("/auth/refresh-token", json=body)

    assert_envelope(response, 401)
    assert response.headers["www-authenticate"] == "Bearer"


async def test_a_logged_out_refresh_token_is_401(client: httpx.AsyncClient) -> None:
    account = await bearer_login(client, await register(client))
    assert_envelope(await client.post("/auth/logout", headers=bearer(account)), 200)

    response = await client.post(
        "/auth/refresh-token", json={"refreshToken": account.refresh_token}
    )

    assert_envelope(response, 401)


# -- logout, logout-all, me -----------------------------------------------------------------


async def test_logout_revokes_the_session_only(client: httpx.AsyncClient) -> None:
    account = await register(client)
    first = await bearer_login(client, account)
    second = await bearer_login(client, account)

    assert_envelope(await client.post("/auth/logout", headers=bearer(first)), 200)

    assert_envelope(await client.get("/auth/me", headers=bearer(first)), 401)
    assert_envelope(await client.get("/auth/me", headers=bearer(second)), 200)


async def test_logout_with_only_the_refresh_cookie_ends_the_session(
    client: httpx.AsyncClient,
) -> None:
    account = await register_and_login(client)  # the client keeps both cookies
    client.cookies.delete("accessToken")  # the short-lived access cookie has expired

    response = await client.post("/auth/logout", headers=SAME_ORIGIN)

    assert_envelope(response, 200)
    assert set(set_cookies(response)) == {"accessToken", "refreshToken"}  # both cleared
    again = await client.post("/auth/refresh-token", json={"refreshToken": account.refresh_token})
    assert_envelope(again, 401)


async def test_logout_with_the_refresh_token_in_the_body_and_a_dead_access_token(
    client: httpx.AsyncClient,
) -> None:
    account = await bearer_login(client, await register(client))

    response = await client.post(
        "/auth/logout",
        json={"refreshToken": account.refresh_token},
        headers={"Authorization": "Bearer expired.or.garbage"},
    )

    assert_envelope(response, 200)
    assert_envelope(await client.get("/auth/me", headers=bearer(account)), 401)
    gone = await client.post("/auth/refresh-token", json={"refreshToken": account.refresh_token})
    assert_envelope(gone, 401)


@pytest.mark.parametrize(
    "body",
    [None, {"refreshToken": "not-a-jwt"}, {"refreshToken": 42}, "access token", "spent"],
    ids=["nothing", "garbage", "not-a-string", "access-token", "already-logged-out"],
)
async def test_logout_without_a_live_session_is_401_and_clears_the_cookies(
    client: httpx.AsyncClient, body: object
) -> None:
    account = await bearer_login(client, await register(client))
    if body == "access token":
        body = {"refreshToken": account.access_token}
    if body == "spent":
        assert_envelope(await client.post("/auth/logout", headers=bearer(account)), 200)
        body = {"refreshToken": account.refresh_token}

    response = await client.post("/auth/logout", json=body)

    assert_envelope(response, 401)
    assert set(set_cookies(response)) == {"accessToken", "refreshToken"}
    if body != {"refreshToken": account.refresh_token}:
        assert_envelope(await client.get("/auth/me", headers=bearer(account)), 200)


async def test_logout_all_returns_the_count_and_kills_every_session(
    client: httpx.AsyncClient,
) -> None:
    account = await register(client)
    sessions = [await bearer_login(client, account) for _ in range(3)]

    response = await client.post("/auth/logout-all", headers=bearer(sessions[0]))

    assert assert_envelope(response, 200)["data"] == {"revoked": 3}
    for session in sessions:
        assert_envelope(await client.get("/auth/me", headers=bearer(session)), 401)
        refreshed = await client.post(
            "/auth/refresh-token", json={"refreshToken": session.refresh_token}
        )
        assert_envelope(refreshed, 401)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/auth/me"),
        ("POST", "/auth/logout"),
        ("POST", "/auth/logout-all"),
        ("GET", "/api/profile"),
        ("PATCH", "/auth/me"),
    ],
)
async def test_authenticated_endpoints_need_a_token(
    client: httpx.AsyncClient, method: str, path: str
) -> None:
    response = await client.request(method, path, json={"fullName": "x"})

    assert_envelope(response, 401)
    assert response.headers["www-authenticate"] == "Bearer"


async def test_me_and_profile_return_the_public_user(client: httpx.AsyncClient) -> None:
    account = await bearer_login(client, await register(client))

    for path in ("/auth/me", "/api/profile"):
        response = await client.get(path, headers=bearer(account))
        data = assert_envelope(response, 200)["data"]
        assert_public_user(data, response.text)
        assert data["id"] == account.id
        assert data["username"] == account.username


# -- settings -------------------------------------------------------------------------------


async def test_settings_change_is_visible_in_me_at_once(example_client: httpx.AsyncClient) -> None:
    account = await bearer_login(example_client, await register(example_client))
    before = await example_client.get("/auth/me", headers=bearer(account))  # fills the user cache
    assert assert_envelope(before, 200)["data"]["fullName"] == f"Test {account.username}"

    response = await example_client.patch(
        "/api/settings",
        headers=bearer(account),
        json={"fullName": "  Grace Hopper ", "avatarUrl": "https://example.com/g.png"},
    )

    data = assert_envelope(response, 200)["data"]
    assert_public_user(data, response.text)
    assert data["fullName"] == "Grace Hopper"
    me = assert_envelope(await example_client.get("/auth/me", headers=bearer(account)), 200)["data"]
    assert me["fullName"] == "Grace Hopper"
    assert me["avatarUrl"] == "https://example.com/g.png"

    cleared = await example_client.patch(
        "/api/settings", headers=bearer(account), json={"avatarUrl": None}
    )
    assert assert_envelope(cleared, 200)["data"]["avatarUrl"] is None
    profile = await example_client.get("/api/profile", headers=bearer(account))
    me = assert_envelope(profile, 200)["data"]
    assert me["avatarUrl"] is None
    assert me["fullName"] == "Grace Hopper"


# -- health, 404, 405 -----------------------------------------------------------------------


async def test_health(example_client: httpx.AsyncClient) -> None:
    response = await example_client.get("/health")

    assert assert_envelope(response, 200)["data"] == {"redis": "ok", "database": "ok"}


async def test_unknown_path_is_404_in_the_envelope(client: httpx.AsyncClient) -> None:
    assert_envelope(await client.get("/no-such-page"), 404)
    assert_envelope(await client.post("/auth/no-such-endpoint", json={}), 404)


async def test_unknown_api_path_with_a_token_is_404(client: httpx.AsyncClient) -> None:
    account = await bearer_login(client, await register(client))

    assert_envelope(await client.get("/api/nothing-here", headers=bearer(account)), 404)


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("GET", "/auth/login", "POST"),
        ("PUT", "/auth/register", "POST"),
        ("POST", "/auth/me", "GET"),
        ("DELETE", "/api/profile", "GET"),
    ],
)
async def test_wrong_method_is_405_in_the_envelope(
    client: httpx.AsyncClient, method: str, path: str, allowed: str
) -> None:
    account = await bearer_login(client, await register(client))

    response = await client.request(method, path, headers=bearer(account))

    assert_envelope(response, 405)
    assert allowed in response.headers["allow"]


# -- bad input ------------------------------------------------------------------------------

REGISTRATION_ERRORS: list[tuple[str, dict[str, Any], set[str]]] = [
    (
        "all-missing",
        {"username": MISSING, "email": MISSING, "fullName": MISSING, "password": MISSING},
        {"username", "email", "fullName", "password"},
    ),
    (
        "all-blank",
        {"username": " ", "email": "", "fullName": "   ", "password": "  "},
        {"username", "email", "fullName", "password"},
    ),
    (
        "all-invalid",
        {"username": "ab", "email": "not-an-email", "fullName": "x" * 101, "password": "short"},
        {"username", "email", "fullName", "password"},
    ),
    (
        "wrong-types",
        {"username": 123, "email": ["a@b.io"], "fullName": None, "password": {"a": 1}},
        {"username", "email", "fullName", "password"},
    ),
    ("username-chars", {"username": "bad name!"}, {"username"}),
    ("username-too-long", {"username": "a" * 33}, {"username"}),
    ("username-bool", {"username": True}, {"username"}),
    ("email-no-domain-dot", {"email": "someone@localhost"}, {"email"}),
    ("email-number", {"email": 42}, {"email"}),
    ("full-name-control", {"fullName": "Ada\nLovelace"}, {"fullName"}),
    ("password-7-chars", {"password": "1234567"}, {"password"}),
    ("password-nul", {"password": "correct\x00horse battery"}, {"password"}),
    ("password-73-bytes", {"password": "p" * 73}, {"password"}),
    ("password-74-bytes-37-chars", {"password": "é" * 37}, {"password"}),
    ("password-number", {"password": 12345678}, {"password"}),
    ("avatar-not-http", {"avatarUrl": "javascript:alert(1)"}, {"avatarUrl"}),
    ("avatar-number", {"avatarUrl": 7}, {"avatarUrl"}),
    ("unknown-field", {"isAdmin": True}, {"isAdmin"}),
    ("username-and-password", {"username": "a", "password": "b"}, {"username", "password"}),
]


@pytest.mark.parametrize(
    ("overrides", "fields"),
    [case[1:] for case in REGISTRATION_ERRORS],
    ids=[case[0] for case in REGISTRATION_ERRORS],
)
async def test_register_lists_every_field_problem(
    client: httpx.AsyncClient, overrides: dict[str, Any], fields: set[str]
) -> None:
    body = registration(**overrides)

    response = await client.post("/auth/register", json=body)

    assert error_fields(assert_envelope(response, 400)) == fields
    assert "$2b$" not in response.text


async def test_an_over_long_password_is_refused_saying_72_bytes(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post("/auth/register", json=registration(password="p" * 73))

    errors = assert_envelope(response, 400)["errors"]
    assert len(errors) == 1
    assert errors[0]["field"] == "password"
    assert "72 bytes" in errors[0]["message"]


LOGIN_ERRORS: list[tuple[str, dict[str, Any], set[str]]] = [
    ("empty-object", {}, {"username", "password"}),
    ("no-password", {"username": "someone"}, {"password"}),
    ("no-login", {"password": PASSWORD}, {"username"}),
    ("blank", {"username": " ", "password": ""}, {"username", "password"}),
    ("wrong-types", {"username": 5, "password": ["x"]}, {"username", "password"}),
    ("nulls", {"email": None, "password": None}, {"email", "password"}),
    ("both-logins", {"username": "a", "email": "a@b.io", "password": "x"}, {"username"}),
    ("unknown-field", {"username": "a", "password": "x", "remember": True}, {"remember"}),
]


@pytest.mark.parametrize(
    ("body", "fields"),
    [case[1:] for case in LOGIN_ERRORS],
    ids=[case[0] for case in LOGIN_ERRORS],
)
async def test_login_lists_every_field_problem(
    client: httpx.AsyncClient, body: dict[str, Any], fields: set[str]
) -> None:
    response = await client.post("/auth/login", json=body)

    assert error_fields(assert_envelope(response, 400)) == fields


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"refreshToken": 123}, {"refreshToken"}),
        ({"refreshToken": None}, {"refreshToken"}),
        ({"token": "x"}, {"token"}),
    ],
)
async def test_refresh_body_problems_are_400(
    client: httpx.AsyncClient, body: dict[str, Any], fields: set[str]
) -> None:
    response = await client.post("/auth/refresh-token", json=body)

    assert error_fields(assert_envelope(response, 400)) == fields


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, {"fullName"}),
        ({"fullName": "   "}, {"fullName"}),
        ({"fullName": 5}, {"fullName"}),
        (
            {"fullName": "x" * 101, "avatarUrl": "ftp://example.com/a.png"},
            {"fullName", "avatarUrl"},
        ),
        ({"fullName": "Ok", "username": "root"}, {"username"}),
    ],
)
async def test_settings_body_problems_are_400(
    example_client: httpx.AsyncClient, body: dict[str, Any], fields: set[str]
) -> None:
    account = await bearer_login(example_client, await register(example_client))

    response = await example_client.patch("/api/settings", headers=bearer(account), json=body)

    assert error_fields(assert_envelope(response, 400)) == fields
    me = assert_envelope(await example_client.get("/auth/me", headers=bearer(account)), 200)["data"]
    assert me["fullName"] == f"Test {account.username}"


BODY_ENDPOINTS = [
    ("POST", "/auth/register"),
    ("POST", "/auth/login"),
    ("POST", "/auth/refresh-token"),
    ("PATCH", "/auth/me"),
]
RAW_BODIES: list[tuple[str, bytes, str, int]] = [
    ("list", b"[]", "application/json", 400),
    ("string", b'"x"', "application/json", 400),
    ("number", b"1", "application/json", 400),
    ("null", b"null", "application/json", 400),
    ("true", b"true", "application/json", 400),
    ("truncated-json", b'{"username": ', "application/json", 400),
    ("nan", b'{"username": NaN}', "application/json", 400),
    ("single-quotes", b"{'username': 'x'}", "application/json", 400),
    ("invalid-utf8", b'{"username": "\xff\xfe"}', "application/json", 400),
    ("lone-surrogate", b'{"username": "\\ud800", "password": "\\udfff"}', "application/json", 400),
    ("deeply-nested", b"[" * 60_000, "application/json", 400),
    ("huge-number", b'{"username": 1' + b"0" * 5000 + b"}", "application/json", 400),
    ("text-plain", b'{"username": "x"}', "text/plain", 415),
    ("form", b"username=x&password=y", "application/x-www-form-urlencoded", 415),
    ("over-64-kib", b'{"username": "' + b"a" * MAX_BODY + b'"}', "application/json", 413),
]


@pytest.fixture
async def api_token(client: httpx.AsyncClient) -> dict[str, str]:
    account = await bearer_login(client, await register(client))
    return bearer(account)


@pytest.mark.parametrize(("method", "path"), BODY_ENDPOINTS)
@pytest.mark.parametrize(
    ("raw", "content_type", "status"),
    [case[1:] for case in RAW_BODIES],
    ids=[case[0] for case in RAW_BODIES],
)
async def test_malformed_bodies_are_4xx_in_the_envelope(
    client: httpx.AsyncClient,
    api_token: dict[str, str],
    method: str,
    path: str,
    raw: bytes,
    content_type: str,
    status: int,
) -> None:
    headers = {"Content-Type": content_type, **api_token}

    response = await client.request(method, path, content=raw, headers=headers)

    assert_envelope(response, status)


@pytest.mark.parametrize(("method", "path"), BODY_ENDPOINTS)
async def test_a_streamed_body_over_64_kib_is_413(
    client: httpx.AsyncClient, api_token: dict[str, str], method: str, path: str
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"username": "'
        for _ in range(9):
            yield b"a" * 8192  # no Content-Length: the limit holds while streaming
        yield b'"}'

    headers = {"Content-Type": "application/json", **api_token}
    response = await client.request(method, path, content=chunks(), headers=headers)

    assert_envelope(response, 413)


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/auth/register", registration(password="abcdefgh\ud800")),
        ("/auth/register", registration(fullName="Ada \udc00")),
        ("/auth/register", registration(avatarUrl="https://example.com/\ud800.png")),
        ("/auth/login", {"username": "someone", "password": "abcdefgh\ud800"}),
        ("/auth/login", {"username": "some\ud800one", "password": PASSWORD}),
    ],
    ids=["register-password", "register-full-name", "register-avatar", "login-password", "login"],
)
async def test_an_unpaired_surrogate_escape_is_400_not_an_outage(
    client: httpx.AsyncClient, path: str, body: dict[str, Any]
) -> None:
    # json.dumps writes "\ud800" as the escape, which is valid JSON but no UTF-8 text
    raw = json.dumps(body).encode("ascii")

    response = await client.post(path, content=raw, headers={"Content-Type": "application/json"})

    assert_envelope(response, 400)


@pytest.mark.parametrize("path", ["/auth/register", "/auth/login"])
async def test_an_empty_body_is_400(client: httpx.AsyncClient, path: str) -> None:
    response = await client.post(path, headers={"Content-Type": "application/json"})

    assert_envelope(response, 400)


async def test_a_body_of_exactly_64_kib_is_read(gate: AuthGate, client: httpx.AsyncClient) -> None:
    assert gate.settings.max_body_bytes == MAX_BODY
    prefix, suffix = b'{"username": "', b'", "password": "x"}'
    raw = prefix + b"a" * (MAX_BODY - len(prefix) - len(suffix)) + suffix
    assert len(raw) == MAX_BODY

    response = await client.post(
        "/auth/login", content=raw, headers={"Content-Type": "application/json"}
    )

    assert_envelope(response, 401)  # read and judged: an unknown user, not a size problem
