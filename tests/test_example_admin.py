"""The example app's ``/admin`` group: ``GET /admin/users`` for the admin role only (the
middleware's ``protect``), paginated by a username cursor, with bad query parameters a 400
in the envelope; and the page's "Users" section, shown to an admin only, in a browser."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.async_api import Browser, Request, async_playwright, expect

from app_example.app import ADMIN_ROLE, MAX_USERS_PAGE, USERS_PAGE
from authgate import AuthGate
from tests.conftest import (
    Account,
    ClientFactory,
    GateFactory,
    bearer,
    redis_prefix_for_run,
    register,
)
from tests.processes import stop_process
from tests.test_browser import (
    ARTIFACTS,
    CHROMIUM,
    CHROMIUM_ARGS,
    DESKTOP,
    PHONE,
    Device,
    open_screen,
)
from tests.test_instances import (
    Instance,
    instance_logs_on_failure,  # noqa: F401  (autouse: the server's output when a test fails)
    start_instance,
)


@pytest.fixture
def client(example_client: httpx.AsyncClient) -> httpx.AsyncClient:
    """Every test here is about the example app: its ``client`` is one of the example."""
    return example_client


@pytest.fixture
def make_client(make_example_client: ClientFactory) -> ClientFactory:
    """Clients of the example app, like ``client``."""
    return make_example_client


PUBLIC_FIELDS = {
    "id",
    "username",
    "email",
    "fullName",
    "avatarUrl",
    "createdAt",
    "roles",
    "emailVerified",
}


async def logged_in(client: httpx.AsyncClient, account: Account) -> Account:
    """``account`` with a new session, used by Bearer (the client keeps no cookie)."""
    response = await client.post(
        "/auth/login", json={"username": account.username, "password": account.password}
    )
    assert response.status_code == 200, response.text
    client.cookies.clear()
    data = response.json()["data"]
    return replace(account, access_token=data["accessToken"], refresh_token=data["refreshToken"])


async def admin_account(gate: AuthGate, client: httpx.AsyncClient) -> Account:
    """A new user with the admin role, logged in (Bearer): what a scraper of ``/metrics``
    or a caller of ``/admin`` uses."""
    account = await register(client)
    await gate.accounts.grant_role(account.id, ADMIN_ROLE)
    return await logged_in(client, account)


async def users_page(
    client: httpx.AsyncClient, admin: Account, **query: str | int
) -> dict[str, Any]:
    response = await client.get("/admin/users", params=query, headers=bearer(admin))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["success"] is True
    data: dict[str, Any] = body["data"]
    assert set(data) == {"users", "next"}
    return data


async def register_many(client: httpx.AsyncClient, count: int) -> tuple[str, list[str]]:
    """``count`` users whose usernames share a new prefix; (the prefix, their usernames)."""
    prefix = f"pg{secrets.token_hex(4)}"
    names = [f"{prefix}_{index:02d}" for index in range(count)]
    for name in names:
        await register(client, username=name)
    return prefix, sorted(names)


# -- who may list ---------------------------------------------------------------------------


async def test_nobody_logged_in_gets_401(client: httpx.AsyncClient) -> None:
    for headers in ({}, {"Authorization": "Bearer not.a.token"}):
        response = await client.get("/admin/users", headers=headers)

        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
        body = response.json()
        assert body["success"] is False
        assert body["data"] is None


async def test_a_user_without_the_admin_role_gets_403(
    gate: AuthGate, client: httpx.AsyncClient
) -> None:
    account = await logged_in(client, await register(client))
    await gate.accounts.grant_role(account.id, "billing:read")  # another role is not enough

    response = await client.get("/admin/users", headers=bearer(account))

    assert response.status_code == 403
    assert response.headers["www-authenticate"] == 'Bearer error="insufficient_scope"'
    assert response.json()["message"] == "Requires the scope admin"
    # the guard refuses before the endpoint: a bad query is still a 403, never a 400
    bad = await client.get("/admin/users?limit=0", headers=bearer(account))
    assert bad.status_code == 403


async def test_an_admin_lists_public_users_with_their_roles(
    gate: AuthGate, client: httpx.AsyncClient
) -> None:
    admin = await admin_account(gate, client)
    other = await register(client)
    await gate.accounts.grant_role(other.id, "billing:read")

    users: dict[str, dict[str, Any]] = {}
    data = await users_page(client, admin, limit=MAX_USERS_PAGE)
    while True:
        users |= {user["username"]: user for user in data["users"]}
        if data["next"] is None:
            break
        data = await users_page(client, admin, limit=MAX_USERS_PAGE, after=data["next"])

    assert users[admin.username]["roles"] == [ADMIN_ROLE]
    assert users[other.username]["roles"] == ["billing:read"]
    assert users[other.username]["id"] == other.id
    for user in users.values():
        assert set(user) == PUBLIC_FIELDS  # never a password hash


async def test_the_role_counts_at_the_next_request(
    gate: AuthGate, client: httpx.AsyncClient
) -> None:
    account = await logged_in(client, await register(client))
    assert (await client.get("/admin/users", headers=bearer(account))).status_code == 403

    await gate.accounts.grant_role(account.id, ADMIN_ROLE)
    assert (await client.get("/admin/users", headers=bearer(account))).status_code == 200

    await gate.accounts.revoke_role(account.id, ADMIN_ROLE)
    assert (await client.get("/admin/users", headers=bearer(account))).status_code == 403


async def test_an_admin_logged_in_by_cookie_lists_users(
    gate: AuthGate, client: httpx.AsyncClient
) -> None:
    """What the page does: the access cookie alone."""
    account = await register(client)
    await gate.accounts.grant_role(account.id, ADMIN_ROLE)
    response = await client.post(
        "/auth/login", json={"username": account.username, "password": account.password}
    )
    assert response.status_code == 200

    listed = await client.get("/admin/users")

    assert listed.status_code == 200, listed.text
    assert listed.headers["cache-control"] == "no-store"
    assert "default-src 'self'" in listed.headers["content-security-policy"]


async def test_only_get_is_served(gate: AuthGate, client: httpx.AsyncClient) -> None:
    admin = await admin_account(gate, client)

    response = await client.post("/admin/users", headers=bearer(admin))

    assert response.status_code == 405


# -- pages --------------------------------------------------------------------------------


async def test_the_default_page_has_20_users_and_a_cursor(
    gate: AuthGate, client: httpx.AsyncClient
) -> None:
    admin = await admin_account(gate, client)
    prefix, names = await register_many(client, USERS_PAGE + 1)

    data = await users_page(client, admin, after=prefix)

    assert [user["username"] for user in data["users"]] == names[:USERS_PAGE]
    assert data["next"] == names[USERS_PAGE - 1]
    following = await users_page(client, admin, after=data["next"], limit=1)
    assert [user["username"] for user in following["users"]] == [names[USERS_PAGE]]


async def test_the_next_cursor_walks_every_user_once_in_username_order(
    gate: AuthGate, client: httpx.AsyncClient
) -> None:
    admin = await admin_account(gate, client)
    prefix, names = await register_many(client, 7)

    # a small page through the new users: each page has at most `limit`, and its cursor
    # is its last username
    walked: list[str] = []
    data = await users_page(client, admin, limit=2, after=prefix)
    while True:
        page = [user["username"] for user in data["users"]]
        assert len(page) <= 2
        walked += page
        if data["next"] is None or not data["next"].startswith(prefix):
            break
        assert data["next"] == page[-1]
        data = await users_page(client, admin, limit=2, after=data["next"])
    assert [name for name in walked if name.startswith(prefix)] == names

    # every user, from the start to the end (next: null)
    everyone: list[str] = []
    data = await users_page(client, admin, limit=MAX_USERS_PAGE)
    while True:
        assert len(data["users"]) <= MAX_USERS_PAGE
        everyone += [user["username"] for user in data["users"]]
        if data["next"] is None:
            break
        data = await users_page(client, admin, limit=MAX_USERS_PAGE, after=data["next"])
    assert len(everyone) == len(set(everyone))
    assert {admin.username, *names} <= set(everyone)
    expected: list[str] = []
    after = None
    while True:
        listed = await gate.accounts.list_users(limit=1000, after=after)
        expected += [user.username for user in listed.users]
        if listed.next_after is None:
            break
        after = listed.next_after
    assert everyone == expected


async def test_a_cursor_past_everyone_is_an_empty_last_page(
    gate: AuthGate, client: httpx.AsyncClient
) -> None:
    admin = await admin_account(gate, client)

    # longer than any username, of the letter every username sorts before
    data = await users_page(client, admin, after="z" * 33)

    assert data == {"users": [], "next": None}


@pytest.mark.parametrize("limit", [1, 2, MAX_USERS_PAGE, "007"])
async def test_good_limits(gate: AuthGate, client: httpx.AsyncClient, limit: int | str) -> None:
    admin = await admin_account(gate, client)
    await register(client)

    data = await users_page(client, admin, limit=limit)

    assert 1 <= len(data["users"]) <= int(limit)


@pytest.mark.parametrize(
    "query",
    [
        "limit=0",
        "limit=101",
        "limit=-1",
        "limit=abc",
        "limit=",
        "limit=1.5",
        "limit=1e2",
        "limit=%205",
        "limit=" + "9" * 40,
        "limit=%00",
        "limit=%EF%BC%95",  # a full-width digit: int() would take it
    ],
)
async def test_a_bad_limit_is_a_400_with_a_field_error(
    gate: AuthGate, client: httpx.AsyncClient, query: str
) -> None:
    admin = await admin_account(gate, client)

    response = await client.get(f"/admin/users?{query}", headers=bearer(admin))

    assert response.status_code == 400, response.text
    body = response.json()
    assert body["success"] is False
    assert body["data"] is None
    assert [error["field"] for error in body["errors"]] == ["limit"]


@pytest.mark.parametrize("after", ["%00", "a%00b", "%1B%5B31m", "x" * 321, "%0A"])
async def test_a_bad_cursor_is_a_400_with_a_field_error(
    gate: AuthGate, client: httpx.AsyncClient, after: str
) -> None:
    admin = await admin_account(gate, client)

    response = await client.get(f"/admin/users?after={after}", headers=bearer(admin))

    assert response.status_code == 400, response.text
    assert [error["field"] for error in response.json()["errors"]] == ["after"]


async def test_both_bad_are_both_named(gate: AuthGate, client: httpx.AsyncClient) -> None:
    admin = await admin_account(gate, client)

    response = await client.get("/admin/users?limit=0&after=%00", headers=bearer(admin))

    assert response.status_code == 400
    assert [error["field"] for error in response.json()["errors"]] == ["limit", "after"]


async def test_an_empty_cursor_starts_at_the_beginning(
    gate: AuthGate, client: httpx.AsyncClient
) -> None:
    admin = await admin_account(gate, client)

    assert await users_page(client, admin, after="", limit=5) == await users_page(
        client, admin, limit=5
    )


async def test_the_group_is_guarded_on_other_paths_too(
    make_gate: GateFactory, make_client: ClientFactory
) -> None:
    """``/admin`` and everything under it needs the role; ``/administrator`` is not in it."""
    gate = await make_gate()
    client = make_client(gate)
    account = await logged_in(client, await register(client))
    for path in ("/admin", "/admin/", "/admin/nothing-here"):
        assert (await client.get(path)).status_code == 401, path
        assert (await client.get(path, headers=bearer(account))).status_code == 403, path
    assert (await client.get("/administrator")).status_code == 404


# -- the page ------------------------------------------------------------------------------

SERVER_PREFIX = f"{redis_prefix_for_run()}-admin-page"


@pytest.fixture(scope="module")
def server(
    database_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Instance]:
    """The example app under uvicorn, with a Redis prefix of its own."""
    instance = start_instance(
        "admin-page",
        tmp_path_factory.mktemp("admin-page"),
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        AUTHGATE_REDIS_PREFIX=SERVER_PREFIX,
    )
    try:
        instance.wait_until_serving()
        yield instance
    finally:
        stop_process(instance.process)


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """Debian's chromium (as in ``test_browser``); without it the test fails, never skips."""
    assert CHROMIUM.is_file(), f"no browser at {CHROMIUM} (apt-get install chromium)"
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            await launched.close()


async def register_on(server: Instance, username: str) -> Account:
    async with httpx.AsyncClient(base_url=server.url) as client:
        return await register(client, username=username)


@pytest.mark.parametrize("device", [DESKTOP, PHONE], ids=lambda device: device.name)
async def test_the_page_shows_users_to_an_admin_only(
    server: Instance, browser: Browser, make_gate: GateFactory, device: Device
) -> None:
    # the server's own Redis prefix: a role change drops its cached user
    gate = await make_gate(redis_prefix=SERVER_PREFIX)
    prefix = f"pa{secrets.token_hex(4)}"
    admin = await register_on(server, f"{prefix}_admin")
    plain = await register_on(server, f"{prefix}_plain")
    await gate.accounts.grant_role(admin.id, ADMIN_ROLE)
    for index in range(USERS_PAGE):  # the list has more than one page
        await register_on(server, f"{prefix}_user{index:02d}")
    shots = ARTIFACTS / "admin-page" / device.name

    for account, is_admin in ((plain, False), (admin, True)):
        label = account.username.rpartition("_")[2]
        screen = await open_screen(browser, device, shots, label)
        admin_calls: list[str] = []

        def on_request(request: Request, calls: list[str] = admin_calls) -> None:
            if urlsplit(request.url).path.startswith("/admin"):
                calls.append(request.url)

        screen.page.on("request", on_request)
        page = screen.page
        try:
            await page.goto(server.url)
            form = page.locator("#login-form")
            await form.get_by_label("Username or email").fill(account.username)
            await form.get_by_label("Password").fill(account.password)
            await form.get_by_role("button", name="Log in").click()
            await expect(page.locator("#sessions-message")).to_contain_text("active session")
            section = page.locator("#users-section")
            if not is_admin:
                await expect(section).to_be_hidden()
                await screen.step("not-an-admin")
                assert admin_calls == []  # the page never asks for what it may not see
                continue

            await expect(section).to_be_visible()
            rows = page.locator("#users-body tr")
            await expect(rows).to_have_count(USERS_PAGE)
            await expect(page.locator("#users-message")).to_have_text(f"{USERS_PAGE} users so far.")
            await screen.step("users")
            await page.locator("#users-more").click()  # the next page, after the first
            await expect(rows).not_to_have_count(USERS_PAGE)
            names = await page.locator("#users-body td:first-child").all_text_contents()
            assert len(names) > USERS_PAGE
            assert len(set(names)) == len(names)  # appended after the first page, not again
            assert len(admin_calls) == 2
            assert "after=" not in admin_calls[0]
            assert "after=" in admin_calls[1]  # the cursor of the first page
            await screen.step("more-users")
            # the admin's own row, on whichever page it came
            while not await rows.filter(has_text=admin.username).count():
                await page.locator("#users-more").click()
                await expect(page.locator("#users-more")).to_be_enabled()
            await expect(rows.filter(has_text=admin.username)).to_contain_text(ADMIN_ROLE)

            # logged out: nothing of the list stays for the next person
            await page.locator("#logout-button").click()
            await expect(page.locator("#logged-out-view")).to_be_visible()
            await expect(section).to_be_hidden()
            assert await rows.count() == 0
            await screen.step("logged-out")
        finally:
            await screen.context.close()
