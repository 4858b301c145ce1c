"""A session's readable device: real user agents, junk, and the field in the sessions API."""

from __future__ import annotations

import httpx
import pytest

from authgate.devices import MAX_DESCRIPTION, UNKNOWN, _describe, describe_device
from tests.conftest import register

FIREFOX_WINDOWS = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"
SAFARI_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)
CHROME_ANDROID = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36"
)
SAFARI_MAC = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/18.1 Safari/605.1.15"
)
EDGE_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0"
)


@pytest.mark.parametrize(
    ("user_agent", "device"),
    [
        (FIREFOX_WINDOWS, "Firefox 133 on Windows"),
        (SAFARI_IPHONE, "Safari 17 on iPhone"),
        (CHROME_ANDROID, "Chrome 131 on Android"),
        (SAFARI_MAC, "Safari 18 on macOS"),
        (EDGE_WINDOWS, "Edge 131 on Windows"),
        ("curl/8.5.0", "curl 8"),
        ("Mozilla/5.0 (Windows NT 10.0)", "A browser on Windows"),
        ("", UNKNOWN),
        ("   ", UNKNOWN),
        ("python-httpx/0.28.1", UNKNOWN),
    ],
)
def test_real_user_agents_get_readable_names(user_agent: str, device: str) -> None:
    assert describe_device(user_agent) == device


@pytest.mark.parametrize(
    "junk",
    [
        "x" * 10_000,
        "\x00\xff\u2603 <script>alert(1)</script> " * 400,
        "Mozilla/5.0 (" + "Windows; " * 1200 + ")",
        "Firefox/" + "9" * 10_000,
    ],
)
def test_junk_gives_a_short_name(junk: str) -> None:
    device = describe_device(junk)

    assert 0 < len(device) <= MAX_DESCRIPTION
    assert "<script>" not in device


def test_a_repeated_agent_is_parsed_once() -> None:
    describe_device(FIREFOX_WINDOWS)
    before = _cache_hits()

    for _ in range(5):
        assert describe_device(FIREFOX_WINDOWS) == "Firefox 133 on Windows"

    assert _cache_hits() == before + 5


def _cache_hits() -> int:
    return _describe.cache_info().hits


async def test_the_sessions_api_names_each_device(client: httpx.AsyncClient) -> None:
    account = await register(client)
    agents = {SAFARI_IPHONE: "Safari 17 on iPhone", "y" * 10_000: UNKNOWN}
    tokens = []
    for agent in agents:
        response = await client.post(
            "/auth/login",
            json={"username": account.username, "password": account.password},
            headers={"User-Agent": agent},
        )
        assert response.status_code == 200, response.text
        tokens.append(response.json()["data"]["accessToken"])
        client.cookies.clear()

    response = await client.get("/auth/sessions", headers={"Authorization": f"Bearer {tokens[0]}"})

    assert response.status_code == 200, response.text
    sessions = response.json()["data"]
    # A session keeps the device, never the raw agent (it would not fit a lean session).
    assert sorted(session["device"] for session in sessions) == sorted(agents.values())
    assert all(session["userAgent"] == session["device"] for session in sessions)
