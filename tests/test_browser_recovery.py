"""The example page's recovery journey in a real browser (chromium, Playwright), with the
example app under uvicorn mailing through a real SMTP server: forgot password, the mailed
reset link (its token read from the fragment and removed from the address bar), a used
link refused, and the verification landing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from playwright.async_api import Browser, Route, async_playwright, expect

from tests.conftest import PASSWORD, redis_prefix_for_run, unique_username
from tests.mailbox import Mailbox
from tests.processes import stop_process
from tests.test_browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, DESKTOP, open_screen
from tests.test_instances import (
    Instance,
    instance_logs_on_failure,  # noqa: F401  (autouse: the server's output when a test fails)
    start_instance,
)

NEW_PASSWORD = "a fresh passphrase"


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


@pytest.fixture(scope="module")
def mailbox_server() -> Iterator[Mailbox]:
    box = Mailbox()
    box.controller.start()
    yield box
    box.controller.stop()


@pytest.fixture(scope="module")
def server(
    database_url: str,
    redis_url: str,
    mailbox_server: Mailbox,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Instance]:
    instance = start_instance(
        "browser-recovery",
        tmp_path_factory.mktemp("browser-recovery"),
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        AUTHGATE_REDIS_PREFIX=f"{redis_prefix_for_run()}-browser-recovery",
        AUTHGATE_SMTP_URL=mailbox_server.url,
        AUTHGATE_PUBLIC_URL="https://app.example.com",
    )
    try:
        instance.wait_until_serving()
        yield instance
    finally:
        stop_process(instance.process)


def register(server: Instance) -> tuple[str, str]:
    username = unique_username("page")
    email = f"{username}@example.com"
    response = httpx.post(
        f"{server.url}/auth/register",
        json={"username": username, "email": email, "fullName": "Page User", "password": PASSWORD},
    )
    assert response.status_code == 201, response.text
    return username, email


async def test_forgot_reset_and_verify_from_the_mailed_links(
    browser: Browser, server: Instance, mailbox_server: Mailbox
) -> None:
    username, email = register(server)
    screen = await open_screen(browser, DESKTOP, ARTIFACTS / "browser-recovery", "journey")
    page = screen.page
    await page.goto(server.url)
    await expect(page.locator("#login-form")).to_be_visible()

    await page.get_by_text("Forgot your password?").click()
    await page.get_by_label("Your account's email").fill(email)
    await page.get_by_role("button", name="Mail me a reset link").click()
    await expect(page.locator("#forgot-form .form-message")).to_contain_text("on its way")
    await screen.step("forgot-sent")

    mail = await mailbox_server.wait_for(email, count=2)  # after the verification mail
    assert mail.subject == "Reset your password"
    assert mail.link.startswith("https://app.example.com/#reset=")
    link = f"{server.url}/#reset={mail.token}"
    await page.goto(link)
    await expect(page.locator("#reset-view")).to_be_visible()
    assert "#" not in page.url  # the token left the address bar
    await screen.step("reset-form")

    await page.get_by_role("textbox", name="New password").fill(NEW_PASSWORD)
    await page.get_by_role("button", name="Set the new password").click()
    await expect(page.locator("#status")).to_contain_text("Log in with the new password")
    await expect(page.locator("#reset-view")).to_be_hidden()
    await screen.step("reset-done")

    await page.locator("#login-login").fill(username)
    await page.locator("#login-password").fill(NEW_PASSWORD)
    await page.locator("#login-form").get_by_role("button", name="Log in").click()
    await expect(page.locator("#logged-in-view")).to_be_visible()
    # the reset link proved the mailbox: the address counts as verified
    await expect(page.locator('[data-profile="emailVerified"]')).to_have_text("Yes")
    await screen.step("logged-in")

    await page.goto(link)  # the same link again
    await page.get_by_role("textbox", name="New password").fill("yet another passphrase")
    await page.get_by_role("button", name="Set the new password").click()
    await expect(page.locator("#status")).to_contain_text("invalid, has expired or was already")
    await expect(page.locator("#reset-view")).to_be_hidden()
    await screen.step("link-used")
    await screen.context.close()


@pytest.mark.parametrize("recovery_script_delay", [0.0, 0.5])
async def test_the_verification_landing(
    browser: Browser, server: Instance, mailbox_server: Mailbox, recovery_script_delay: float
) -> None:
    """Also with ``recovery.js`` arriving after the page already knows who is logged in:
    the landing must not depend on which of the two comes first."""
    _, email = register(server)
    mail = await mailbox_server.wait_for(email)
    assert mail.subject == "Confirm your e-mail address"
    screen = await open_screen(
        browser, DESKTOP, ARTIFACTS / "browser-recovery", f"verify-{recovery_script_delay:g}"
    )
    page = screen.page

    async def late(route: Route) -> None:
        await asyncio.sleep(recovery_script_delay)
        await route.continue_()

    await page.route("**/static/recovery.js", late)
    await page.goto(f"{server.url}/#verify-email={mail.token}")

    await expect(page.locator("#status")).to_contain_text("your email address is verified")
    assert "#" not in page.url
    await screen.step("verified")
    await screen.context.close()
