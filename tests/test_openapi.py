"""The OpenAPI 3.1 document of the auth endpoints: valid, complete, and true.

The document is validated with ``openapi-spec-validator``; then every endpoint is driven
through the example app on real PostgreSQL and Redis (and a real SMTP server for the
recovery tokens) until it has answered every status it documents, and every response seen
must be documented and match its schema.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate

from authgate import AuthGate
from authgate.http.openapi import ENDPOINTS, auth_openapi, auth_operations, route_keys
from tests.conftest import (
    CLIENT_IP,
    PASSWORD,
    Account,
    ClientFactory,
    GateFactory,
    login,
    register,
    register_and_login,
    unique_username,
)
from tests.mailbox import Mailbox
from tests.processes import closed_port

EVIL = {"Origin": "http://evil.example"}
PUBLIC_URL = "https://app.example.com"
NEW_PASSWORD = "a brand new passphrase"
TOO_LARGE = b'{"x": "' + b"a" * (64 * 1024) + b'"}'
JSON = {"Content-Type": "application/json"}
TEXT = {"Content-Type": "text/plain"}


@dataclass
class Seen:
    method: str
    path: str
    status: int
    body: Any
    headers: httpx.Headers


@dataclass
class Recorder:
    """Every response the example app gave during the test."""

    seen: list[Seen] = field(default_factory=list)

    async def __call__(self, response: httpx.Response) -> None:
        await response.aread()
        request = response.request
        self.seen.append(
            Seen(
                request.method,
                request.url.path,
                response.status_code,
                response.json(),
                response.headers,
            )
        )


def template_matcher(document: dict[str, Any]) -> Callable[[str], str | None]:
    """Maps a concrete path to its template in the document's ``paths``."""
    patterns = [
        (re.compile("^" + re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(template)) + "$"), template)
        for template in document["paths"]
    ]

    def match(path: str) -> str | None:
        return next((template for pattern, template in patterns if pattern.match(path)), None)

    return match


def response_schema(document: dict[str, Any], operation: dict[str, Any], status: int) -> Any:
    response = operation["responses"][str(status)]
    if "$ref" in response:
        response = document["components"]["responses"][response["$ref"].rsplit("/", 1)[-1]]
    return response


async def fetch_document(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    document: dict[str, Any] = response.json()
    return document


async def test_the_example_serves_a_valid_openapi_31_document(
    example_client: httpx.AsyncClient,
) -> None:
    document = await fetch_document(example_client)
    validate(document)  # raises on any violation of the OpenAPI 3.1 schema
    assert document["openapi"] == "3.1.0"
    schemes = document["components"]["securitySchemes"]
    assert schemes["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": schemes["bearerAuth"]["description"],
    }
    assert schemes["accessTokenCookie"]["type"] == "apiKey"
    assert schemes["accessTokenCookie"]["in"] == "cookie"
    assert schemes["accessTokenCookie"]["name"] == "accessToken"
    assert document["paths"]["/auth/me"]["get"]["security"] == [
        {"bearerAuth": []},
        {"accessTokenCookie": []},
    ]
    assert document["paths"]["/auth/login"]["post"]["security"] == []
    login_body = document["paths"]["/auth/login"]["post"]["requestBody"]
    assert login_body["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/AuthLoginRequest"
    }


ACCESS: list[dict[str, list[str]]] = [{"bearerAuth": []}, {"accessTokenCookie": []}]
# {}: no scheme, the refresh token in the body
REFRESH: list[dict[str, list[str]]] = [{"refreshTokenCookie": []}, {}]


def test_every_operation_lists_the_credentials_it_accepts(gate: AuthGate) -> None:
    document = auth_openapi(gate.router().routes)
    validate(document)
    paths = document["paths"]
    scheme = document["components"]["securitySchemes"]["refreshTokenCookie"]
    assert (scheme["type"], scheme["in"], scheme["name"]) == ("apiKey", "cookie", "refreshToken")
    assert paths["/auth/refresh-token"]["post"]["security"] == REFRESH
    assert paths["/auth/logout"]["post"]["security"] == [*ACCESS, *REFRESH]
    for endpoint in auth_operations(gate.router().routes):
        op = endpoint.operation
        operation = paths["/auth" + endpoint.path][endpoint.method.lower()]
        if op.authenticated:
            assert operation["security"] == ACCESS, op.operation_id
        elif op.operation_id not in ("refreshToken", "logout"):
            assert operation["security"] == [], op.operation_id  # public
        every_scheme = {name for entry in operation["security"] for name in entry}
        assert every_scheme <= set(document["components"]["securitySchemes"])


def test_the_descriptions_say_which_requests_need_an_origin(gate: AuthGate) -> None:
    document = auth_openapi(gate.router().routes)
    for endpoint in auth_operations(gate.router().routes):
        op = endpoint.operation
        operation = document["paths"]["/auth" + endpoint.path][endpoint.method.lower()]
        description = operation.get("description", "")
        if "403" not in operation["responses"]:
            continue
        assert "origin" in description, op.operation_id
        if op.authenticated or op.operation_id == "logout":
            assert "`Authorization: Bearer`" in description, op.operation_id
            assert "needs no `Origin`" in description, op.operation_id
        if op.operation_id in ("refreshToken", "logout"):
            assert "A refresh token in the body" in description, op.operation_id
    bearer_scheme = document["components"]["securitySchemes"]["bearerAuth"]
    assert "needs no `Origin`" in bearer_scheme["description"]


async def test_what_the_descriptions_promise_about_origin_holds(
    gate: AuthGate, make_client: ClientFactory
) -> None:
    # every unsafe endpoint taking an access token, with Bearer, the kept cookies, no Origin:
    # never the 403 of the origin check
    for endpoint in auth_operations(gate.router().routes):
        op = endpoint.operation
        if endpoint.method == "GET" or not (op.authenticated or op.operation_id == "logout"):
            continue
        client = make_client(gate)
        account = await register_and_login(client)  # the client keeps the cookies
        request = client.build_request(
            endpoint.method,
            "/auth" + endpoint.path.replace("{session_id}", "x"),
            headers={"Authorization": f"Bearer {account.access_token}"},
            json={},
        )
        request.headers.pop("Origin")
        response = await client.send(request)
        assert response.status_code != 403, (op.operation_id, response.text)


def test_every_route_of_the_router_is_documented(gate: AuthGate) -> None:
    documented = {(endpoint.method, endpoint.path) for endpoint in ENDPOINTS}
    served = route_keys(gate.router().routes)
    assert served - documented == set(), "router routes missing from authgate/http/table"
    # and nothing is documented that the router does not serve
    document = auth_openapi(gate.router().routes)
    in_document = {
        (method.upper(), path.removeprefix("/auth"))
        for path, item in document["paths"].items()
        for method in item
    }
    assert in_document == served


def test_the_document_follows_the_mount_prefix(gate: AuthGate) -> None:
    document = auth_openapi(gate.router().routes, prefix="/api/v1/auth/")
    validate(document)
    assert "/api/v1/auth/login" in document["paths"]
    assert "/api/v1/auth/sessions/{session_id}" in document["paths"]
    assert all(path.startswith("/api/v1/auth/") for path in document["paths"])


def test_request_schemas_accept_good_bodies_and_refuse_bad_ones(gate: AuthGate) -> None:
    document = auth_openapi(gate.router().routes)

    def valid(name: str, body: object) -> bool:
        schema = {"$ref": f"#/components/schemas/{name}", "components": document["components"]}
        return Draft202012Validator(schema).is_valid(body)

    assert valid("AuthLoginRequest", {"username": "ada", "password": PASSWORD})
    assert valid("AuthLoginRequest", {"email": "ada@example.com", "password": PASSWORD})
    assert not valid("AuthLoginRequest", {"username": "ada", "email": "a@b.c", "password": "x"})
    assert not valid("AuthLoginRequest", {"password": PASSWORD})
    registration = {
        "username": "ada",
        "email": "ada@example.com",
        "fullName": "Ada",
        "password": PASSWORD,
    }
    assert valid("AuthRegisterRequest", registration)
    assert not valid("AuthRegisterRequest", {**registration, "isAdmin": True})
    assert not valid("AuthRegisterRequest", {**registration, "password": "short"})
    assert not valid("AuthRegisterRequest", {**registration, "username": "a b"})
    assert valid("AuthProfileUpdateRequest", {"fullName": "Ada King"})
    assert valid("AuthProfileUpdateRequest", {"avatarUrl": None})
    assert not valid("AuthProfileUpdateRequest", {})
    assert not valid("AuthProfileUpdateRequest", {"fullName": "Ada", "username": "root"})
    assert not valid("AuthProfileUpdateRequest", {"fullName": 5})


class Driver:
    """Drives the example app's auth endpoints, each response recorded."""

    def __init__(self, gate: AuthGate, make_client: ClientFactory, recorder: Recorder) -> None:
        self.gate = gate
        self.make_client = make_client
        self.recorder = recorder

    def fresh(self, ip: str = CLIENT_IP) -> httpx.AsyncClient:
        """A new client, without cookies, whose socket peer is ``ip``."""
        client = self.make_client(self.gate, ip)
        client.event_hooks["response"].append(self.recorder)
        return client

    async def body_errors(
        self, path: str, headers: dict[str, str] | None = None, method: str = "POST"
    ) -> None:
        """400 (not JSON), 413 and 415 from ``method path``."""
        client = self.fresh()
        extra = headers or {}
        await client.request(method, path, content=b"{not json", headers={**JSON, **extra})
        await client.request(method, path, content=TOO_LARGE, headers={**JSON, **extra})
        await client.request(method, path, content=b"hello", headers={**TEXT, **extra})


async def drive_healthy(gate: AuthGate, make_client: ClientFactory, recorder: Recorder) -> None:
    drive = Driver(gate, make_client, recorder)
    browser = drive.fresh()  # holds cookies, like a browser
    account = await register_and_login(browser)
    bearer = {"Authorization": f"Bearer {account.access_token}"}
    api = drive.fresh()  # Bearer only: never logged in itself, no cookies

    # a cookie request from a foreign origin: 403 on every unsafe endpoint
    for endpoint in auth_operations(gate.router().routes):
        if endpoint.method != "GET":
            path = "/auth" + endpoint.path.replace("{session_id}", "x")
            await browser.request(endpoint.method, path, headers=EVIL, json={})

    # register
    await register(api)
    await api.post("/auth/register", json={})
    await api.post(
        "/auth/register",
        json={
            "username": account.username,
            "email": account.email,
            "fullName": "Twin",
            "password": PASSWORD,
        },
    )
    await drive.body_errors("/auth/register")

    # login
    await api.post("/auth/login", json={"username": account.username})
    await api.post("/auth/login", json={"username": account.username, "password": "wrong pass"})
    await drive.body_errors("/auth/login")
    locked = await register(api)
    for _ in range(gate.settings.login_max_failures + 1):  # the last one is 429
        await api.post("/auth/login", json={"username": locked.username, "password": "nope nope"})

    # refresh-token
    await drive.fresh().post("/auth/refresh-token", json={"refreshToken": account.refresh_token})
    await drive.fresh().post("/auth/refresh-token")
    await drive.fresh().post("/auth/refresh-token", json={"accessToken": "x"})
    await drive.body_errors("/auth/refresh-token")

    # me, sessions
    await api.get("/auth/me", headers=bearer)
    await api.get("/auth/me")

    # the profile: PATCH /me
    await api.patch("/auth/me", json={"fullName": "Ada King"}, headers=bearer)
    await api.patch("/auth/me", json={"fullName": " ", "avatarUrl": "ftp://x"}, headers=bearer)
    await api.patch("/auth/me", json={"fullName": "Ada King"})
    await drive.body_errors("/auth/me", bearer, method="PATCH")
    second = await login(drive.fresh(), account)
    await api.get("/auth/sessions", headers=bearer)
    await api.get("/auth/sessions")

    # sessions/{id}
    sessions = (await api.get("/auth/sessions", headers=bearer)).json()["data"]
    other = next(item["id"] for item in sessions if not item["current"])
    await api.delete(f"/auth/sessions/{other}", headers=bearer)
    await api.delete("/auth/sessions/not-a-session", headers=bearer)
    await api.delete(f"/auth/sessions/{other}")
    assert second.access_token

    # change-password
    await api.post("/auth/change-password", json={}, headers=bearer)
    await api.post("/auth/change-password", json={"currentPassword": "x", "newPassword": "y"})
    await drive.body_errors("/auth/change-password", bearer)
    await api.post(
        "/auth/change-password",
        json={"currentPassword": PASSWORD, "newPassword": PASSWORD + "!"},
        headers=bearer,
    )
    guessed = await register_and_login(drive.fresh())
    guessed_bearer = {"Authorization": f"Bearer {guessed.access_token}"}
    for _ in range(gate.settings.login_max_failures + 1):
        await api.post(
            "/auth/change-password",
            json={"currentPassword": "not it at all", "newPassword": PASSWORD + "?"},
            headers=guessed_bearer,
        )

    # logout, logout-all
    await drive.body_errors("/auth/logout")
    await drive.body_errors("/auth/logout-all", bearer)
    await api.post("/auth/logout-all")
    await api.post("/auth/logout")
    await api.post("/auth/logout-all", headers=bearer)
    again = await login(
        drive.fresh(), Account(account.id, account.username, account.email, PASSWORD + "!")
    )
    await api.post("/auth/logout", headers={"Authorization": f"Bearer {again.access_token}"})


async def mailed_token(gate: AuthGate, mailbox: Mailbox, address: str, subject: str = "") -> str:
    """The token of the first mail to ``address`` (whose subject is ``subject``, if given)."""
    await gate.outbox.drain()
    await mailbox.wait_for(address)
    mails = [mail for mail in mailbox.to(address) if subject in mail.subject]
    return mails[0].token


async def drive_recovery(
    gate: AuthGate, make_client: ClientFactory, recorder: Recorder, mailbox: Mailbox
) -> None:
    """The endpoints of contract §10, with the tokens a real SMTP server received."""
    drive = Driver(gate, make_client, recorder)
    api = drive.fresh()
    limit = gate.settings.recovery_max_per_address

    # verify-email/request and verify-email: registration mailed the first link
    user = await register_and_login(drive.fresh())
    auth = {"Authorization": f"Bearer {user.access_token}"}
    token = await mailed_token(gate, mailbox, user.email)
    for _ in range(limit + 1):  # 202 until the hourly limit, then 429
        await api.post("/auth/verify-email/request", headers=auth)
    await api.post("/auth/verify-email/request")
    await drive.body_errors("/auth/verify-email/request", auth)
    await api.post("/auth/verify-email", json={"token": token})
    await api.post("/auth/verify-email", json={"token": token})  # used: 400
    await drive.body_errors("/auth/verify-email")
    await api.post("/auth/verify-email/request", headers=auth)  # already verified: 200

    # forgot-password and reset-password
    for _ in range(gate.settings.recovery_max_per_ip + 1):  # 202 until the IP limit, then 429
        await api.post("/auth/forgot-password", json={"email": user.email})
    await api.post("/auth/forgot-password", json={})
    await drive.body_errors("/auth/forgot-password")
    reset = await mailed_token(gate, mailbox, user.email, subject="Reset your password")
    await api.post("/auth/reset-password", json={"token": reset, "newPassword": NEW_PASSWORD})
    await api.post("/auth/reset-password", json={"token": reset, "newPassword": NEW_PASSWORD})
    await drive.body_errors("/auth/reset-password")

    # change-email and change-email/confirm, from another client (forgot-password used up
    # this one's recovery limit)
    api = drive.fresh(ip="198.51.100.20")
    mover = await register_and_login(drive.fresh())
    moved = {"Authorization": f"Bearer {mover.access_token}"}
    change = {"newEmail": f"new.{mover.email}", "currentPassword": PASSWORD}
    for _ in range(limit + 1):  # 202 until the hourly limit, then 429
        await api.post("/auth/change-email", json=change, headers=moved)
    await api.post("/auth/change-email", json={}, headers=moved)
    await api.post("/auth/change-email", json=change)
    await drive.body_errors("/auth/change-email", moved)
    confirm = await mailed_token(gate, mailbox, change["newEmail"])
    await api.post("/auth/change-email/confirm", json={"token": confirm})
    await api.post("/auth/change-email/confirm", json={"token": confirm})  # used: 400
    await drive.body_errors("/auth/change-email/confirm")
    # the address is taken between the request and the confirmation: 409
    racer = await register_and_login(drive.fresh())
    wanted = f"wanted.{racer.email}"
    racing = {"Authorization": f"Bearer {racer.access_token}"}
    body = {"newEmail": wanted, "currentPassword": PASSWORD}
    await api.post("/auth/change-email", json=body, headers=racing)
    taken = await mailed_token(gate, mailbox, wanted)
    await api.post(
        "/auth/register",
        json={
            "username": unique_username(),
            "email": wanted,
            "fullName": "Quicker",
            "password": PASSWORD,
        },
    )
    await api.post("/auth/change-email/confirm", json={"token": taken})


async def drive_unavailable(
    gate: AuthGate, token: str, make_client: ClientFactory, recorder: Recorder
) -> None:
    """Redis is unreachable: every endpoint, asked with a valid token, answers 503."""
    drive = Driver(gate, make_client, recorder)
    client = drive.fresh()
    for endpoint in auth_operations(gate.router().routes):
        path = "/auth" + endpoint.path.replace("{session_id}", "x")
        await client.request(endpoint.method, path, headers={"Authorization": f"Bearer {token}"})


async def test_every_documented_status_is_real_and_every_response_matches(
    make_gate: GateFactory,
    make_client: ClientFactory,
    make_example_client: ClientFactory,
    mailbox: Mailbox,
) -> None:
    gate = await make_gate(smtp_url=mailbox.url, public_url=PUBLIC_URL)
    recorder = Recorder()
    await drive_healthy(gate, make_client, recorder)
    await drive_recovery(gate, make_client, recorder, mailbox)
    token = (await register_and_login(make_client(gate))).access_token
    down = await make_gate(redis_url=f"redis://127.0.0.1:{closed_port()}/0")
    await drive_unavailable(down, token, make_client, recorder)

    document = await fetch_document(make_example_client(gate))  # the example serves it
    match = template_matcher(document)
    provoked: dict[tuple[str, str], set[int]] = {}
    for seen in recorder.seen:
        template = match(seen.path)
        assert template is not None, f"{seen.path} is not documented"
        operation = document["paths"][template][seen.method.lower()]
        key = (seen.method, template)
        provoked.setdefault(key, set()).add(seen.status)
        assert str(seen.status) in operation["responses"], (
            f"{seen.method} {seen.path} answered {seen.status}, not documented: {seen.body}"
        )
        response = response_schema(document, operation, seen.status)
        schema = response["content"]["application/json"]["schema"]
        validator = Draft202012Validator({**schema, "components": document["components"]})
        errors = [error.message for error in validator.iter_errors(seen.body)]
        assert errors == [], f"{seen.method} {seen.path} {seen.status}: {errors}"
        for header in response.get("headers", {}):
            assert header.lower() in seen.headers, f"{seen.method} {seen.path}: no {header}"

    # every status each endpoint documents was seen: the document promises nothing unreal
    for endpoint in auth_operations(gate.router().routes):
        key = (endpoint.method, "/auth" + endpoint.path)
        documented = {
            int(code) for code in document["paths"][key[1]][endpoint.method.lower()]["responses"]
        }
        assert provoked.get(key) == documented, f"{key}: saw {provoked.get(key)}"


async def test_the_document_is_public(example_client: httpx.AsyncClient) -> None:
    # a bad token on a public path: the request goes on unauthenticated
    bad_token = {"Authorization": "Bearer not-a-token"}
    response = await example_client.get("/openapi.json", headers=bad_token)
    assert response.status_code == 200
    assert response.json()["info"]["title"] == "authgate"
