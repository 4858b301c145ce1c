"""Property tests: whatever JSON a client sends to an auth endpoint, the answer is a 2xx or
4xx in the envelope of contract §6, never a 5xx.

Hypothesis generates arbitrary JSON values, and objects biased towards the real field
names, and throws them at every endpoint as a logged-in browser on the app's own origin
(so the requests get past the CSRF check and authentication to the body handling).
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from authgate import AuthGate
from tests.conftest import (
    PASSWORD,
    Account,
    ClientFactory,
    GateFactory,
    redis_prefix_for_run,
    register,
)
from tests.envelope import assert_envelope

FIELD_NAMES = [
    "username",
    "email",
    "fullName",
    "password",
    "avatarUrl",
    "refreshToken",
    "currentPassword",
    "newPassword",
]
# Values that pass some rules, so the generated bodies also reach the service.
PLAUSIBLE = [
    PASSWORD,
    "",
    " ",
    "user_abc",
    "someone@example.com",
    "Some One",
    "https://img.example/a.png",
    "x" * 73,
    "é" * 40,
]
# Strings that have broken parsers, drivers and hashers before.
NASTY = [
    "\x00",
    "a\x00b",
    "someone\x00@example.com",
    "\x1b[31m\r\n",
    "' OR '1'='1",
    "%00%ff",
    "\u202e\ufeff\u200b",
    "😀" * 30,
    "x" * 5000,
]
ENDPOINTS = {
    "register": ("POST", "/auth/register"),
    "login": ("POST", "/auth/login"),
    "refresh-token": ("POST", "/auth/refresh-token"),
    "logout": ("POST", "/auth/logout"),
    "logout-all": ("POST", "/auth/logout-all"),
    "change-password": ("POST", "/auth/change-password"),
    "settings": ("PATCH", "/auth/me"),
    "delete-session": ("DELETE", "/auth/sessions/x"),
}
# Each endpoint's own fields: (always present, sometimes present), so that many generated
# bodies get past the field checks to the service.
OWN_FIELDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "register": (("username", "email", "fullName", "password"), ("avatarUrl",)),
    "login": (("password",), ("username", "email")),
    "refresh-token": ((), ("refreshToken",)),
    "change-password": (("currentPassword", "newPassword"), ()),
    "settings": ((), ("fullName", "avatarUrl")),
}

scalars = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40)
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)
nasty = st.sampled_from(NASTY)
field_values = st.sampled_from(PLAUSIBLE) | nasty | st.text(max_size=80) | json_values
any_fields = st.dictionaries(st.sampled_from(FIELD_NAMES), field_values, max_size=5)
# Stand-ins for the logged-in account's own username and password, filled in when sent.
SELF_USERNAME, SELF_PASSWORD = "<self:username>", "<self:password>"
# Values of each field that often pass its rules, so bodies also reach the service (201s,
# 409s, logins with a wrong or the right password, real password changes).
LIKELY_VALID: dict[str, st.SearchStrategy[Any]] = {
    "username": st.from_regex(r"[a-z][a-z0-9_.\-]{2,20}", fullmatch=True) | st.just(SELF_USERNAME),
    "email": st.from_regex(r"[a-z0-9]{1,12}@example\.(com|org)", fullmatch=True),
    "fullName": st.text(min_size=1, max_size=110),
    "password": st.just(SELF_PASSWORD) | st.text(min_size=6, max_size=80),
    "avatarUrl": st.none() | st.sampled_from(["", "https://img.example/a.png", "javascript:x"]),
    "refreshToken": st.text(max_size=100),
    "currentPassword": st.just(SELF_PASSWORD) | st.text(max_size=80),
    "newPassword": st.text(min_size=6, max_size=80),
}


def own_field(name: str) -> st.SearchStrategy[Any]:
    return LIKELY_VALID[name] | nasty | field_values


def bodies_for(endpoint: str) -> st.SearchStrategy[Any]:
    """Objects of the endpoint's own fields, objects of any real field names, any JSON."""
    required, optional = OWN_FIELDS.get(endpoint, ((), ()))
    own_fields = st.fixed_dictionaries(
        {name: own_field(name) for name in required},
        optional={name: own_field(name) for name in optional},
    )
    # own_fields twice: half of the bodies are shaped like the endpoint's, half anything
    return st.one_of(own_fields, own_fields, any_fields, json_values)


# A path segment for DELETE /auth/sessions/{id}: anything but "/" (a "/" makes it another
# path, and a trailing one Starlette's slash redirect) and the dot segments URLs resolve.
session_ids = st.text(
    alphabet=st.characters(codec="utf-8", exclude_characters="/"), min_size=1, max_size=80
).filter(lambda text: text not in (".", ".."))

HYPOTHESIS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    database=None,  # nothing written to the work tree
)


@dataclass
class Browser:
    """A logged-in browser on the app's page; logs in again when an example logged it out
    or changed its password."""

    client: httpx.AsyncClient
    account: Account

    async def log_in(self) -> None:
        response = await self.client.post(
            "/auth/login",
            json={"username": self.account.username, "password": self.account.password},
        )
        assert response.status_code == 200, response.text

    def fill_in(self, body: Any) -> Any:
        """The body with the stand-ins for this account's username and password filled in."""
        if not isinstance(body, dict):
            return body
        own = {SELF_USERNAME: self.account.username, SELF_PASSWORD: self.account.password}
        return {
            key: own[value] if isinstance(value, str) and value in own else value
            for key, value in body.items()
        }

    async def send(self, method: str, path: str, body: Any) -> httpx.Response:
        await self.log_in()
        body = self.fill_in(body)
        response = await self.client.request(
            method,
            path,
            content=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )
        if path == "/auth/change-password" and response.status_code == 200:
            self.account.password = body["newPassword"]
        return response


@pytest.fixture
async def visitor(make_gate: GateFactory, make_client: ClientFactory) -> Browser:
    """A logged-in ``Browser``: an HTTP client in process, not chromium."""
    gate: AuthGate = await make_gate(
        login_max_failures=100_000,
        login_max_failures_per_ip=100_000,
        # own throttle counters: generated failures must not lock the IP for other tests
        redis_prefix=f"{redis_prefix_for_run()}-properties-{secrets.token_hex(4)}",
    )
    client = make_client(gate)  # sends Origin: http://testserver, as the page does
    return Browser(client, await register(client))


@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
@HYPOTHESIS
@given(data=st.data())
async def test_any_json_body_gets_a_non_5xx_envelope(
    visitor: Browser, endpoint: str, data: st.DataObject
) -> None:
    method, path = ENDPOINTS[endpoint]
    body = data.draw(bodies_for(endpoint), label="body")

    response = await visitor.send(method, path, body)

    event(f"HTTP {response.status_code}")  # --hypothesis-show-statistics shows the mix
    assert_envelope(response)


@HYPOTHESIS
@given(session_id=session_ids)
async def test_any_session_id_to_revoke_gets_a_404_envelope(
    visitor: Browser, session_id: str
) -> None:
    response = await visitor.send("DELETE", f"/auth/sessions/{quote(session_id, safe='')}", None)

    assert_envelope(response)
    assert response.status_code == 404
