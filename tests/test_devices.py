"""A session's readable device: real user agents, API clients named by their own product
token, junk, and the field in the sessions API."""

from __future__ import annotations

import string
import unicodedata

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from authgate.sessions.devices import (
    MAX_DESCRIPTION,
    MAX_PRODUCT,
    UNKNOWN,
    _describe,
    describe_device,
    product_of,
)
from authgate.sessions.layout import MAX_DEVICE_BYTES, device_of
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
        ("python-httpx/0.28.1", "python-httpx 0.28.1"),
    ],
)
def test_real_user_agents_get_readable_names(user_agent: str, device: str) -> None:
    assert describe_device(user_agent) == device


@pytest.mark.parametrize(
    ("user_agent", "device"),
    [
        ("acme-sync/4.2", "acme-sync 4.2"),
        ("python-httpx/0.28", "python-httpx 0.28"),
        ("acme-sync/4.2 (Linux x86_64)", "acme-sync 4.2 on Linux"),
        ("acme-sync/4.2 extra/1.0 (more; details)", "acme-sync 4.2"),
        ("acme-sync", "acme-sync"),
        ("acme-sync/", "acme-sync"),
        ("c++/2", "c++ 2"),
        ("  acme-sync/4.2  ", "acme-sync 4.2"),
        ("Mozilla/5.0", "Mozilla 5.0"),
        # what is not a letter, a digit or one of .-_+ is dropped
        ("acme\x00sync/4.2\x1b[31m", "acmesync 4.231m"),
        ("acme<script>/1;DROP TABLE", "acmescript 1DROP"),
        ("--acme/..9", "acme 9"),
        # a name cut to fit the session's device field whole
        ("a" * 60 + "/1.0", "a" * MAX_PRODUCT),
        ("acme/" + "9" * 60, "acme " + "9" * (MAX_PRODUCT - 5)),
        ("acme-sync-" + "x" * 20 + "/4.2 (Linux x86_64)", "acme-sync-" + "x" * 20 + " 4.2"),
        # nothing usable in the first word: no name
        ("...", UNKNOWN),
        ("/1.0", UNKNOWN),
        ("\x00\x01\x7f", UNKNOWN),
        ("\u2603\u2603/1", UNKNOWN),
        ("<>!@#$%^&*() acme/1", UNKNOWN),
    ],
)
def test_an_agent_ua_parser_does_not_know_is_named_by_its_product_token(
    user_agent: str, device: str
) -> None:
    assert describe_device(user_agent) == device


def test_two_api_clients_are_told_apart() -> None:
    first, second = describe_device("python-httpx/0.28"), describe_device("acme-sync/4.2")

    assert first != second
    assert UNKNOWN not in (first, second)


def test_a_product_name_fits_the_sessions_device_field_whole() -> None:
    assert MAX_PRODUCT <= MAX_DEVICE_BYTES
    for agent in ("a" * 300, "acme/" + "1." * 100, "x-" * 100 + "/9 (Windows NT 10.0)"):
        assert device_of(agent) == describe_device(agent)


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
    agents = {
        SAFARI_IPHONE: "Safari 17 on iPhone",
        "y" * 10_000: "y" * MAX_PRODUCT,
        "python-httpx/0.28": "python-httpx 0.28",
        "acme-sync/4.2": "acme-sync 4.2",
        "\x01\x02": UNKNOWN,
    }
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


# -- properties: whatever the agent, a short name of safe characters ----------------------

SAFE = set(string.ascii_letters + string.digits + " .-_+…")
PROPERTIES = settings(max_examples=300, deadline=None, database=None)

any_agent = st.text(max_size=400) | st.binary(max_size=400).map(
    lambda raw: raw.decode("latin-1")  # what a header's raw bytes come in as
)
# agents that look like a client's: a product token among junk
token_chars = st.characters(codec="utf-8")
product_agent = st.builds(
    "{}/{}{}".format,
    st.text(token_chars, min_size=1, max_size=60),
    st.text(token_chars, max_size=60),
    st.text(max_size=100),
)


def assert_safe(device: str) -> None:
    assert 0 < len(device) <= MAX_DESCRIPTION
    assert device.isprintable()
    assert not any(unicodedata.category(char).startswith("C") for char in device)
    assert set(device) <= SAFE, device
    assert device == device.strip()


@PROPERTIES
@given(any_agent | product_agent)
def test_any_agent_gets_a_short_printable_name(user_agent: str) -> None:
    device = describe_device(user_agent)

    assert_safe(device)
    stored = device_of(user_agent)
    assert len(stored.encode()) <= MAX_DEVICE_BYTES
    assert device.startswith(stored)


@PROPERTIES
@given(any_agent | product_agent)
def test_a_product_token_is_cleaned_and_bounded(user_agent: str) -> None:
    product = product_of(user_agent)

    assert len(product) <= MAX_PRODUCT
    assert set(product) <= SAFE - {"…"}
    if product:
        assert product[0].isalnum()
        assert describe_device(user_agent) != UNKNOWN or not user_agent.strip()


@PROPERTIES
@given(
    st.from_regex(r"acme-[a-z]{1,12}", fullmatch=True),
    st.from_regex(r"[0-9]{1,3}(\.[0-9]{1,3}){0,2}", fullmatch=True),
)
def test_an_unknown_client_is_named_by_its_name_and_version(name: str, version: str) -> None:
    device = describe_device(f"{name}/{version}")

    assert device == f"{name} {version}"[:MAX_PRODUCT]
    assert device_of(f"{name}/{version}") == device


@PROPERTIES
@given(st.text(alphabet=st.characters(categories=["Cc", "Cf", "Zs", "P", "S"]), max_size=50))
def test_an_agent_of_only_punctuation_or_controls_is_an_unknown_device(user_agent: str) -> None:
    assert describe_device(user_agent) == UNKNOWN
