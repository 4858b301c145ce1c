"""The example page used as a person would, in a real browser: Debian's chromium driven by
Playwright, against the example app served by uvicorn on the test PostgreSQL and Redis.

The journey runs twice, on a desktop (1280 px) and on a phone (390 px), with a second
"device" (another browser context) that logs in, is revoked, and logs in again. After
every step: no horizontal overflow, at most one banner, no error shown twice, no console
error or CSP violation, and no token within reach of page scripts. Each step leaves a
screenshot under ``$AUTHGATE_TEST_ARTIFACTS/browser/`` (default ``tests/artifacts/``).
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.async_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    Response,
    async_playwright,
    expect,
)

from tests.conftest import PASSWORD, redis_prefix_for_run, unique_username
from tests.processes import stop_process
from tests.test_devices import FIREFOX_WINDOWS, SAFARI_IPHONE
from tests.test_instances import (
    PROJECT_ROOT,
    Instance,
    instance_logs_on_failure,  # noqa: F401  (autouse: the server's output when a test fails)
    start_instance,
)

CHROMIUM = Path(os.environ.get("AUTHGATE_TEST_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",  # the tests run as root in CI
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(os.environ.get("AUTHGATE_TEST_ARTIFACTS", PROJECT_ROOT / "tests" / "artifacts"))
TOKEN_COOKIES = ("accessToken", "refreshToken")
# Two cores are shared with other work: give the page time, rather than flake.
expect.set_options(timeout=15_000)
# The API answers 4xx on purpose in the journey (logged out, a form error, a revoked
# session); any other path must not, and nothing may answer 5xx.
API_PREFIXES = ("/auth/", "/api/")


@dataclass(frozen=True)
class Device:
    name: str
    width: int
    height: int
    user_agent: str
    readable: str  # what the sessions list should call it
    mobile: bool


DESKTOP = Device("desktop", 1280, 800, FIREFOX_WINDOWS, "Firefox 133 on Windows", mobile=False)
PHONE = Device("phone", 390, 844, SAFARI_IPHONE, "Safari 17 on iPhone", mobile=True)


@pytest.fixture(scope="module")
def chromium() -> Path:
    """Debian's chromium; without it the browser tests fail (they never skip)."""
    if not CHROMIUM.is_file() or not os.access(CHROMIUM, os.X_OK):
        pytest.fail(
            f"no browser at {CHROMIUM}: the browser tests drive Debian's chromium "
            "(apt-get install chromium; .ci/run installs it when missing)",
            pytrace=False,
        )
    return CHROMIUM


@pytest.fixture(scope="module")
def server(
    database_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Instance]:
    """The example app under uvicorn, with a Redis prefix of its own (its own throttles)."""
    instance = start_instance(
        "browser",
        tmp_path_factory.mktemp("browser"),
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        AUTHGATE_REDIS_PREFIX=f"{redis_prefix_for_run()}-browser",
    )
    try:
        instance.wait_until_serving()
        yield instance
    finally:
        stop_process(instance.process)


@pytest.fixture
async def browser(chromium: Path) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            await launched.close()


@dataclass
class Screen:
    """One device's browser context and page, watched for problems, with its screenshots."""

    device: Device
    context: BrowserContext
    page: Page
    shots: Path
    problems: list[str] = field(default_factory=list)
    steps: int = 0

    def on_console(self, message: ConsoleMessage) -> None:
        # Chrome logs every 4xx as "Failed to load resource"; on_response judges those.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self.problems.append(f"console error: {message.text}")

    def on_response(self, response: Response) -> None:
        path = urlsplit(response.url).path
        if response.status >= 500 or (response.status >= 400 and not path.startswith(API_PREFIXES)):
            self.problems.append(f"HTTP {response.status} from {path}")

    async def step(self, name: str) -> None:
        """Check the page as it is now, and keep a screenshot of it."""
        self.steps += 1
        await self.page.screenshot(path=self.shots / f"{self.steps:02d}-{name}.png", full_page=True)
        assert self.problems == [], f"{self.device.name}, {name}: {self.problems}"
        await assert_fits_the_screen(self.page, self.device, name)
        await assert_one_banner_and_each_error_once(self.page, name)
        await assert_no_token_within_reach(self.context, self.page, name)


async def open_screen(browser: Browser, device: Device, shots: Path, label: str) -> Screen:
    context = await browser.new_context(
        viewport={"width": device.width, "height": device.height},
        user_agent=device.user_agent,
        is_mobile=device.mobile,
        has_touch=device.mobile,
    )
    directory = shots / label
    directory.mkdir(parents=True, exist_ok=True)
    screen = Screen(device, context, await context.new_page(), directory)
    # The listener is added by the browser, not by the page: the page's CSP does not apply.
    await context.expose_binding(
        "reportCspViolation", lambda _source, text: screen.problems.append(f"CSP: {text}")
    )
    await context.add_init_script(
        "document.addEventListener('securitypolicyviolation', (event) =>"
        " window.reportCspViolation(`${event.violatedDirective} blocked ${event.blockedURI}`));"
    )
    screen.page.on("console", screen.on_console)
    screen.page.on("pageerror", lambda error: screen.problems.append(f"page error: {error}"))
    screen.page.on("response", screen.on_response)
    return screen


# -- what must hold after every step ----------------------------------------------------------


async def assert_fits_the_screen(page: Page, device: Device, step: str) -> None:
    widths = await page.evaluate(
        "() => ({scroll: document.documentElement.scrollWidth, inner: window.innerWidth})"
    )
    # A phone zooms out to show a page wider than the screen: innerWidth grows with it.
    fits = widths["scroll"] <= widths["inner"] == device.width
    assert fits, f"{device.name}, {step}: the page does not fit the screen, {widths}"


async def assert_one_banner_and_each_error_once(page: Page, step: str) -> None:
    shown = await page.evaluate(
        """() => {
            const visible = (node) => node.offsetParent !== null && node.textContent.trim();
            const texts = (selector) =>
                [...document.querySelectorAll(selector)].filter(visible).map((n) => n.textContent);
            return {banners: texts('.banner'), fieldErrors: texts('.field-error'),
                    page: document.body.innerText};
        }"""
    )
    assert len(shown["banners"]) <= 1, f"{step}: several banners {shown['banners']}"
    for error in shown["fieldErrors"]:
        assert shown["page"].count(error) == 1, f"{step}: {error!r} shown more than once"
    assert "Invalid fields" not in shown["page"], f"{step}: API wording on the page"


async def assert_no_token_within_reach(context: BrowserContext, page: Page, step: str) -> None:
    reach = await page.evaluate(
        """() => ({cookie: document.cookie, html: document.documentElement.outerHTML,
                   stored: [...Object.entries(localStorage), ...Object.entries(sessionStorage)]
                           .map(([key, value]) => key + '=' + value)})"""
    )
    assert reach["stored"] == [], f"{step}: browser storage holds {reach['stored']}"
    for cookie in await context.cookies():
        if cookie["name"] in TOKEN_COOKIES:
            assert cookie.get("httpOnly") is True, f"{step}: {cookie['name']} is not HttpOnly"
            assert cookie["name"] not in reach["cookie"], f"{step}: document.cookie has it"
            assert cookie["value"] not in reach["html"], f"{step}: a token is in the page"


# -- the person's actions -----------------------------------------------------------------


async def log_in(screen: Screen, username: str, password: str = PASSWORD) -> None:
    form = screen.page.locator("#login-form")
    await form.get_by_label("Username or email").fill(username)
    await form.get_by_label("Password").fill(password)
    await form.get_by_role("button", name="Log in").click()


async def assert_logged_in(screen: Screen, username: str) -> None:
    page = screen.page
    await expect(page.locator("#logged-in-view")).to_be_visible()
    await expect(page.locator('[data-profile="username"]')).to_have_text(username)
    await expect(page.locator("#sessions-message")).to_contain_text("active session")


async def session_rows(page: Page) -> dict[str, dict[str, object]]:
    """The sessions list as shown: readable device -> its tooltip and whether it is this one."""
    rows = await page.locator("#sessions-body tr").evaluate_all(
        """(rows) => rows.map((row) => ({
            device: row.querySelector('.device').firstChild.textContent.trim(),
            title: row.querySelector('.device').title,
            current: row.classList.contains('current'),
        }))"""
    )
    return {row["device"]: row for row in rows}


async def test_a_person_uses_the_page_on_desktop_and_phone(
    server: Instance, browser: Browser
) -> None:
    shots = ARTIFACTS / "browser"
    shutil.rmtree(shots, ignore_errors=True)
    for device, other_device in ((DESKTOP, PHONE), (PHONE, DESKTOP)):
        me = await open_screen(browser, device, shots, device.name)
        other = await open_screen(browser, other_device, shots, f"{device.name}-other-device")
        try:
            await journey(server.url, me, other)
        finally:
            await me.context.close()
            await other.context.close()


async def journey(url: str, me: Screen, other: Screen) -> None:
    page = me.page
    username = unique_username("page")

    await page.goto(url)
    await expect(page.locator("#logged-out-view")).to_be_visible()
    await me.step("logged-out")

    # Registering with mistakes: each field's error once, under the field, in words.
    register = page.locator("#register-form")
    await register.get_by_label("Username").fill("a!")
    await register.get_by_label("Email").fill(f"{username}@example.com")
    await register.get_by_label("Full name").fill("Ada Lovelace")
    await register.get_by_label("Password").fill("short")
    await register.get_by_role("button", name="Register").click()
    await expect(register.locator('[data-error-for="username"]')).to_have_text(
        "Username must be 3 to 32 letters, digits, '_', '.' or '-'."
    )
    await expect(register.locator('[data-error-for="password"]')).to_have_text(
        "Password must be at least 8 characters."
    )
    await expect(register.locator(".form-message")).to_be_hidden()
    await me.step("register-errors")

    await register.get_by_label("Username").fill(username)
    await register.get_by_label("Password").fill(PASSWORD)
    await register.get_by_role("button", name="Register").click()
    login_banner = page.locator("#login-form .form-message")
    await expect(login_banner).to_have_text(f"Registered as {username}. You can log in now.")
    await expect(register.locator(".field-error:visible")).to_have_count(0)
    await me.step("registered")

    # A wrong password: one banner, which replaces the "Registered" one.
    await log_in(me, username, "not the password")
    await expect(login_banner).to_have_text("Invalid user credentials")
    await me.step("wrong-password")

    await log_in(me, username)
    await assert_logged_in(me, username)
    await expect(page.locator("#status")).to_have_text("Logged in")
    rows = await session_rows(page)
    assert rows == {me.device.readable: {**rows[me.device.readable], "current": True}}
    assert rows[me.device.readable]["title"] == ""  # a session keeps the device, not the agent
    assert me.device.user_agent not in await page.locator("body").inner_text()
    await me.step("logged-in")

    # Settings: an invalid URL is explained under its field; the old banner goes.
    settings = page.locator("#settings-form")
    await settings.get_by_label("Avatar URL").fill("not a url")
    await settings.get_by_role("button", name="Save settings").click()
    await expect(settings.locator('[data-error-for="avatarUrl"]')).to_contain_text(
        "Avatar URL must be an http(s) URL"
    )
    await expect(page.locator("#status")).to_be_hidden()
    await me.step("settings-error")

    await settings.get_by_label("Full name").fill("Ada King")
    await settings.get_by_label("Avatar URL").fill("https://example.com/ada.png")
    await settings.get_by_role("button", name="Save settings").click()
    await expect(settings.locator(".form-message")).to_have_text("Settings saved")
    await expect(page.locator('[data-profile="fullName"]')).to_have_text("Ada King")
    await expect(settings.locator(".field-error:visible")).to_have_count(0)
    await me.step("settings-saved")

    # A second device logs in; both are listed by readable names.
    await other.page.goto(url)
    await log_in(other, username)
    await assert_logged_in(other, username)
    await other.step("logged-in")

    await page.get_by_role("button", name="Reload").click()
    await expect(page.locator("#sessions-body tr")).to_have_count(2)
    rows = await session_rows(page)
    assert set(rows) == {me.device.readable, other.device.readable}
    assert rows[me.device.readable]["current"] is True
    assert rows[other.device.readable]["current"] is False
    assert rows[other.device.readable]["title"] == ""
    await me.step("two-sessions")

    # Revoking the other device: its very next request finds itself logged out.
    other_row = page.locator("#sessions-body tr", has_text=other.device.readable)
    await other_row.get_by_role("button", name="Revoke").click()
    await expect(page.locator("#sessions-body tr")).to_have_count(1)
    await expect(page.locator("#sessions-message")).to_have_text(
        f"Session on {other.device.readable} revoked. 1 active session."
    )
    await me.step("revoked-other")

    await other.page.get_by_role("button", name="Reload").click()
    await expect(other.page.locator("#logged-out-view")).to_be_visible()
    await expect(other.page.locator("#status")).to_have_text(
        "Your session has ended. Please log in again."
    )
    await other.step("revoked")

    # Log out everywhere ends both sessions.
    await log_in(other, username)
    await assert_logged_in(other, username)
    await page.get_by_role("button", name="Log out everywhere").click()
    await expect(page.locator("#logged-out-view")).to_be_visible()
    await expect(page.locator("#status")).to_have_text("Logged out everywhere (2 sessions ended)")
    assert [c for c in await me.context.cookies() if c["name"] in TOKEN_COOKIES] == []
    await me.step("logged-out-everywhere")

    await other.page.get_by_role("button", name="Reload").click()
    await expect(other.page.locator("#logged-out-view")).to_be_visible()
    await other.step("logged-out-everywhere")

    await page.reload()
    await expect(page.locator("#logged-out-view")).to_be_visible()
    await me.step("reloaded")


async def test_the_watchers_catch_what_the_page_must_not_do(
    server: Instance, browser: Browser, tmp_path: Path
) -> None:
    """The checks above can fail: an inline script (refused by the CSP) and an overflow."""
    screen = await open_screen(browser, PHONE, tmp_path, "watchers")
    try:
        await screen.page.goto(server.url)
        await expect(screen.page.locator("#logged-out-view")).to_be_visible()
        await screen.page.evaluate(
            """() => {
                const script = document.createElement('script');
                script.textContent = 'window.ranInline = true';
                document.head.append(script);
                const wide = document.createElement('div');
                wide.className = 'mono';
                wide.textContent = 'x'.repeat(400);
                document.querySelector('main').append(wide);
            }"""
        )
        for _ in range(50):  # the violation event comes back from the browser asynchronously
            if screen.problems:
                break
            await asyncio.sleep(0.1)
        assert await screen.page.evaluate("() => window.ranInline === undefined")
        assert any("CSP: script-src" in problem for problem in screen.problems), screen.problems
        with pytest.raises(AssertionError, match="does not fit the screen"):
            await assert_fits_the_screen(screen.page, PHONE, "watchers")
    finally:
        await screen.context.close()
