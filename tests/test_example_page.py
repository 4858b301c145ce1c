"""The example app's web page (contract §7): served under a strict CSP, cookie-only JavaScript."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import httpx
import pytest

from tests.conftest import register

# What a browser sends with the page's same-origin fetch() calls.
SAME_ORIGIN = {"Origin": "http://testserver"}


@pytest.fixture
def client(example_client: httpx.AsyncClient) -> httpx.AsyncClient:
    """Every test here is about the example app: its ``client`` is one of the example."""
    return example_client


class PageParts(HTMLParser):
    """Collects what the CSP and the script care about: scripts, styles, links, ids."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[str | None] = []
        self.stylesheets: list[str | None] = []
        self.style_elements = 0
        self.inline_handlers: list[str] = []
        self.style_attributes = 0
        self.ids: set[str] = set()
        self._in_script = False
        self.inline_script_text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "script":
            self.scripts.append(values.get("src"))
            self._in_script = True
        if tag == "style":
            self.style_elements += 1
        if tag == "link" and values.get("rel") == "stylesheet":
            self.stylesheets.append(values.get("href"))
        if "style" in values:
            self.style_attributes += 1
        self.inline_handlers += [name for name in values if name.startswith("on")]
        if values.get("id"):
            self.ids.add(str(values["id"]))

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.inline_script_text += data


async def page_parts(client: httpx.AsyncClient) -> PageParts:
    response = await client.get("/")
    assert response.status_code == 200
    parts = PageParts()
    parts.feed(response.text)
    return parts


async def test_page_is_served_with_a_strict_csp(client: httpx.AsyncClient) -> None:
    response = await client.get("/")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    csp = response.headers["content-security-policy"]
    assert "default-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert '<script src="/static/app.js"' in response.text


async def test_page_needs_nothing_the_csp_would_block(client: httpx.AsyncClient) -> None:
    parts = await page_parts(client)

    # default-src 'self' refuses inline scripts, inline handlers and inline styles.
    assert parts.scripts == ["/static/app.js", "/static/recovery.js"]
    assert parts.inline_script_text.strip() == ""
    assert parts.inline_handlers == []
    assert parts.style_elements == 0
    assert parts.style_attributes == 0
    assert parts.stylesheets == ["/static/style.css"]
    # Every resource comes from this origin and is actually served.
    for path in [*parts.scripts, *parts.stylesheets]:
        assert path is not None
        assert path.startswith("/")
        served = await client.get(path)
        assert served.status_code == 200, path


async def test_script_is_served_as_javascript(client: httpx.AsyncClient) -> None:
    response = await client.get("/static/app.js")

    assert response.status_code == 200
    assert "javascript" in response.headers["content-type"]
    assert "credentials: 'same-origin'" in response.text


async def test_script_never_touches_tokens_or_browser_storage(client: httpx.AsyncClient) -> None:
    script = (await client.get("/static/app.js")).text
    script += (await client.get("/static/recovery.js")).text

    for forbidden in ("localStorage", "sessionStorage", "document.cookie", "indexedDB"):
        assert forbidden not in script, forbidden
    # It ignores the tokens in the login body: the HttpOnly cookies carry them.
    assert not re.search(r"\b(accessToken|refreshToken)\b", script)
    # Server data goes in with textContent, never parsed as HTML.
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert sink not in script, sink


async def test_script_calls_the_contract_endpoints(client: httpx.AsyncClient) -> None:
    script = (await client.get("/static/app.js")).text

    for path in [
        "/auth/register",
        "/auth/login",
        "/auth/refresh-token",
        "/auth/logout",
        "/auth/logout-all",
        "/api/profile",
        "/api/settings",
        "/auth/sessions",
        "/auth/sessions/",
    ]:
        assert re.search(rf"[`']{re.escape(path)}[`'$]", script), path
    assert "'PATCH', '/api/settings'" in script
    assert "'DELETE', `/auth/sessions/" in script


async def test_every_element_the_script_looks_up_is_on_the_page(
    client: httpx.AsyncClient,
) -> None:
    script = (await client.get("/static/app.js")).text
    parts = await page_parts(client)

    wanted = set(re.findall(r"""\$\('#([A-Za-z0-9_-]+)'""", script))
    assert {"login-form", "register-form", "settings-form", "sessions-message"} <= wanted
    assert wanted - parts.ids == set()


async def test_the_pages_cookie_only_flow_works(client: httpx.AsyncClient) -> None:
    """What the page does: log in, call the API on cookies alone, refresh on 401, log out."""
    account = await register(client)
    logged_in = await client.post(
        "/auth/login",
        json={"email": account.email.upper(), "password": account.password},
        headers=SAME_ORIGIN,
    )
    assert logged_in.status_code == 200

    profile = await client.get("/api/profile")
    assert profile.status_code == 200
    assert profile.json()["data"]["username"] == account.username

    # The access cookie is gone (expired): the API says 401; the refresh cookie,
    # sent only to /auth, brings a new one without the script seeing any token.
    client.cookies.delete("accessToken")
    assert (await client.get("/api/profile")).status_code == 401
    refreshed = await client.post("/auth/refresh-token", headers=SAME_ORIGIN)
    assert refreshed.status_code == 200
    saved = await client.patch(
        "/api/settings", json={"fullName": "Renamed Person"}, headers=SAME_ORIGIN
    )
    assert saved.status_code == 200
    assert saved.json()["data"]["fullName"] == "Renamed Person"

    logged_out = await client.post("/auth/logout", headers=SAME_ORIGIN)
    assert logged_out.status_code == 200
    assert (await client.get("/api/profile")).status_code == 401
    assert (await client.post("/auth/refresh-token", headers=SAME_ORIGIN)).status_code == 401


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/static/index.html",
        "/static/app.js",
        "/static/style.css",
        "/static/missing.js",
        "/nope",
    ],
)
async def test_every_path_of_the_page_and_its_files_has_the_security_headers(
    client: httpx.AsyncClient, path: str
) -> None:
    response = await client.get(path)

    csp = response.headers["content-security-policy"]
    assert "default-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["x-content-type-options"] == "nosniff"
