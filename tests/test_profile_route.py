"""``PATCH /auth/me``: the library's profile change (``fullName`` / ``avatarUrl``) on real
PostgreSQL and Redis, through the library's test app; and the example app's
``PATCH /api/settings``, the same endpoint under the page's older path."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from starlette.requests import HTTPConnection
from starlette.responses import JSONResponse, Response

from app_example.app import ADMIN_ROLE
from authgate import AuthGate, AuthgateError, error_headers
from tests.conftest import (
    Account,
    ClientFactory,
    GateFactory,
    bearer,
    login,
    register,
    register_and_login,
)
from tests.envelope import assert_envelope
from tests.test_api import assert_public_user, error_fields

EVIL = {"Origin": "http://evil.example"}


async def bearer_account(client: httpx.AsyncClient) -> Account:
    """A logged-in account whose cookies the client has dropped: it goes by Bearer only."""
    account = await register_and_login(client)
    client.cookies.clear()
    return account


async def me(client: httpx.AsyncClient, account: Account) -> dict[str, Any]:
    data: dict[str, Any] = assert_envelope(
        await client.get("/auth/me", headers=bearer(account)), 200
    )["data"]
    return data


async def patch_without_origin(
    client: httpx.AsyncClient, path: str, body: object, headers: dict[str, str]
) -> httpx.Response:
    """``PATCH path`` with no ``Origin`` (the client sends its own by default)."""
    request = client.build_request("PATCH", path, json=body, headers=headers)
    request.headers.pop("Origin")
    return await client.send(request)


# -- 200 ------------------------------------------------------------------------------------


async def test_a_profile_change_answers_the_public_user_and_me_sees_it(
    client: httpx.AsyncClient,
) -> None:
    account = await bearer_account(client)
    assert (await me(client, account))["fullName"] == f"Test {account.username}"  # cached

    response = await client.patch(
        "/auth/me",
        headers=bearer(account),
        json={"fullName": "  Grace Hopper ", "avatarUrl": "https://example.com/g.png"},
    )

    body = assert_envelope(response, 200)
    assert body["message"] == "Settings saved"
    assert_public_user(body["data"], response.text)
    assert body["data"]["id"] == account.id
    assert body["data"]["fullName"] == "Grace Hopper"
    assert body["data"]["avatarUrl"] == "https://example.com/g.png"
    seen = await me(client, account)
    assert (seen["fullName"], seen["avatarUrl"]) == ("Grace Hopper", "https://example.com/g.png")


@pytest.mark.parametrize("cleared", [None, ""])
async def test_null_or_empty_avatar_removes_it_and_keeps_the_name(
    client: httpx.AsyncClient, cleared: str | None
) -> None:
    account = await bearer_account(client)
    set_avatar = {"avatarUrl": "https://example.com/a.png"}
    assert_envelope(await client.patch("/auth/me", headers=bearer(account), json=set_avatar), 200)

    response = await client.patch("/auth/me", headers=bearer(account), json={"avatarUrl": cleared})

    assert assert_envelope(response, 200)["data"]["avatarUrl"] is None
    seen = await me(client, account)
    assert (seen["fullName"], seen["avatarUrl"]) == (f"Test {account.username}", None)


async def test_another_instance_sees_the_change_at_its_next_request(
    make_gate: GateFactory, make_client: ClientFactory
) -> None:
    client_a, client_b = make_client(await make_gate()), make_client(await make_gate())
    account = await bearer_account(client_a)
    assert (await me(client_b, account))["fullName"] == f"Test {account.username}"  # B caches

    changed = await client_a.patch("/auth/me", headers=bearer(account), json={"fullName": "Ada"})

    assert assert_envelope(changed, 200)["data"]["fullName"] == "Ada"
    assert (await me(client_b, account))["fullName"] == "Ada"


# -- 400 ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, {"fullName"}),  # neither field
        ({"fullName": "   "}, {"fullName"}),  # blank
        ({"fullName": "x" * 101}, {"fullName"}),
        ({"avatarUrl": "ftp://example.com/a.png"}, {"avatarUrl"}),
        ({"avatarUrl": "not a url"}, {"avatarUrl"}),
        ({"fullName": 5}, {"fullName"}),
        ({"fullName": None}, {"fullName"}),
        ({"avatarUrl": ["https://example.com/a.png"]}, {"avatarUrl"}),
        ({"fullName": False, "avatarUrl": 7}, {"fullName", "avatarUrl"}),
        ({"fullName": "Ok", "username": "root"}, {"username"}),  # not a profile field
    ],
)
async def test_every_field_problem_is_a_400_and_changes_nothing(
    client: httpx.AsyncClient, body: dict[str, Any], fields: set[str]
) -> None:
    account = await bearer_account(client)

    response = await client.patch("/auth/me", headers=bearer(account), json=body)

    assert error_fields(assert_envelope(response, 400)) == fields
    seen = await me(client, account)
    assert (seen["fullName"], seen["avatarUrl"]) == (f"Test {account.username}", None)


@pytest.mark.parametrize("raw", [b"[]", b'"Ada"', b"1", b"null", b"", b"{not json"])
async def test_a_body_that_is_not_a_json_object_is_a_400(
    client: httpx.AsyncClient, raw: bytes
) -> None:
    account = await bearer_account(client)
    headers = {**bearer(account), "Content-Type": "application/json"}

    response = await client.patch("/auth/me", headers=headers, content=raw)

    assert assert_envelope(response, 400)["errors"] == []
    assert (await me(client, account))["fullName"] == f"Test {account.username}"


# -- 401, 403, Origin -----------------------------------------------------------------------


async def test_anonymous_is_401(client: httpx.AsyncClient) -> None:
    response = await client.patch("/auth/me", json={"fullName": "Nobody"})

    assert_envelope(response, 401)
    assert response.headers["www-authenticate"] == "Bearer"


async def test_a_cookie_request_from_a_foreign_origin_is_403_and_changes_nothing(
    client: httpx.AsyncClient,
) -> None:
    account = await register_and_login(client)  # the client keeps the cookies

    response = await client.patch("/auth/me", headers=EVIL, json={"fullName": "Hijacked"})

    assert_envelope(response, 403)
    assert (await me(client, account))["fullName"] == f"Test {account.username}"


async def test_a_cookie_request_without_an_origin_is_403(client: httpx.AsyncClient) -> None:
    account = await register_and_login(client)

    response = await patch_without_origin(client, "/auth/me", {"fullName": "Hijacked"}, {})

    assert_envelope(response, 403)
    assert (await me(client, account))["fullName"] == f"Test {account.username}"


async def test_a_cookie_request_from_the_app_itself_is_allowed(client: httpx.AsyncClient) -> None:
    account = await register_and_login(client)  # cookies, and the client's own Origin

    response = await client.patch("/auth/me", json={"fullName": "By Cookie"})

    assert assert_envelope(response, 200)["data"]["fullName"] == "By Cookie"
    assert (await me(client, account))["fullName"] == "By Cookie"


async def test_bearer_needs_no_origin_even_with_the_cookies_there(
    client: httpx.AsyncClient,
) -> None:
    account = await register_and_login(client)  # the cookies stay in the client

    response = await patch_without_origin(
        client, "/auth/me", {"fullName": "By Bearer"}, bearer(account)
    )

    assert assert_envelope(response, 200)["data"]["fullName"] == "By Bearer"


async def test_the_wrong_method_on_me_is_a_405_naming_both_methods(
    client: httpx.AsyncClient,
) -> None:
    account = await bearer_account(client)

    response = await client.post("/auth/me", headers=bearer(account), json={"fullName": "x"})

    assert_envelope(response, 405)
    allowed = {method.strip() for method in response.headers["allow"].split(",")}
    assert {"GET", "PATCH"} <= allowed


# -- the example's /api/settings -----------------------------------------------------------


async def test_api_settings_answers_as_patch_me_does(example_client: httpx.AsyncClient) -> None:
    client = example_client
    account = await bearer_account(client)
    body = {"fullName": "Same Answer", "avatarUrl": "https://example.com/s.png"}

    by_settings = await client.patch("/api/settings", headers=bearer(account), json=body)
    by_me = await client.patch("/auth/me", headers=bearer(account), json=body)

    assert by_settings.status_code == by_me.status_code == 200
    assert by_settings.json() == by_me.json()
    assert by_settings.json()["message"] == "Settings saved"
    profile = await client.get("/api/profile", headers=bearer(account))
    assert assert_envelope(profile, 200)["data"]["fullName"] == "Same Answer"


@pytest.mark.parametrize(
    "body", [{}, {"fullName": " "}, {"avatarUrl": "ftp://x"}, {"fullName": 5}, {"x": 1}]
)
async def test_api_settings_refuses_what_patch_me_refuses(
    example_client: httpx.AsyncClient, body: dict[str, Any]
) -> None:
    client = example_client
    account = await bearer_account(client)

    by_settings = await client.patch("/api/settings", headers=bearer(account), json=body)
    by_me = await client.patch("/auth/me", headers=bearer(account), json=body)

    assert_envelope(by_settings, 400)
    assert by_settings.json() == by_me.json()


async def test_api_settings_guards_as_before(example_client: httpx.AsyncClient) -> None:
    client = example_client
    anonymous = await client.patch("/api/settings", json={"fullName": "Nobody"})
    assert_envelope(anonymous, 401)
    assert anonymous.headers["www-authenticate"] == "Bearer"

    account = await register_and_login(client)  # the client keeps the cookies
    hijack = await client.patch("/api/settings", headers=EVIL, json={"fullName": "Hijacked"})
    assert_envelope(hijack, 403)
    by_bearer = await patch_without_origin(
        client, "/api/settings", {"fullName": "By Bearer"}, bearer(account)
    )
    assert assert_envelope(by_bearer, 200)["data"]["fullName"] == "By Bearer"
    wrong_method = await client.put("/api/settings", headers=bearer(account), json={})
    assert_envelope(wrong_method, 405)
    assert "PATCH" in wrong_method.headers["allow"]


def problem(connection: HTTPConnection, error: AuthgateError) -> Response:
    """A host app's own error format (RFC 9457 problem details)."""
    body = {"type": "about:blank", "status": error.status_code, "detail": error.message}
    return JSONResponse(
        body,
        error.status_code,
        headers=error_headers(error),
        media_type="application/problem+json",
    )


async def test_the_example_renders_every_error_with_the_gates_renderer(
    make_gate: GateFactory, make_example_client: ClientFactory
) -> None:
    custom = AuthGate((await make_gate()).settings, render_error=problem)
    await custom.startup()
    try:
        client = make_example_client(custom)
        account = await bearer_account(client)
        admin = await register(client)
        await custom.accounts.grant_role(admin.id, ADMIN_ROLE)
        admin = await login(client, admin)
        client.cookies.clear()
        answers = {
            "PATCH /auth/me": await client.patch(
                "/auth/me", headers=bearer(account), json={"fullName": " "}
            ),
            "PATCH /api/settings": await client.patch(
                "/api/settings", headers=bearer(account), json={"fullName": " "}
            ),
            "GET /admin/users": await client.get(
                "/admin/users", params={"limit": "0"}, headers=bearer(admin)
            ),
        }
    finally:
        await custom.shutdown()
    for name, response in answers.items():
        assert response.status_code == 400, (name, response.text)
        assert response.headers["content-type"] == "application/problem+json", name
        assert response.json()["status"] == 400, name
