"""Hostile input, table-driven, through the library's test app over ASGI on real PostgreSQL
and Redis.

Forged, malformed and misused tokens must get the 401 envelope with ``WWW-Authenticate``
(contract §3, §5), whether they come in the ``Authorization`` header, the ``accessToken``
cookie or a refresh body; bad bodies must get a 4xx envelope (contract §6). Never a 5xx,
never a traceback.
"""

from __future__ import annotations

import base64
import hmac
import json
import secrets
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from authgate import AuthGate
from authgate.keys import KeyRing, generate_jwk
from tests.conftest import (
    PASSWORD,
    Account,
    ClientFactory,
    GateFactory,
    redis_prefix_for_run,
    register_and_login,
    secret_for,
    unique_username,
)
from tests.envelope import assert_envelope

ACCESS_TYP, REFRESH_TYP = "at+jwt", "rt+jwt"
LEAK_MARKERS = ("Traceback", 'File "', "sqlalchemy", "asyncpg", "redis.", "$2b$", "Error(")
MAX_BODY = 64 * 1024


# -- tokens forged by hand (PyJWT refuses to make most of these) ----------------------------


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_json(value: Any) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode())


def forge(header: dict[str, Any], payload: Any, key: bytes | None, digest: str = "sha256") -> str:
    """A JWS in compact form; ``key=None`` leaves the signature empty."""
    signing_input = f"{b64url_json(header)}.{b64url_json(payload)}"
    if key is None:
        return f"{signing_input}."
    signature = hmac.new(key, signing_input.encode("ascii"), digest).digest()
    return f"{signing_input}.{b64url(signature)}"


def ed25519_public_pem() -> bytes:
    public = Ed25519PrivateKey.generate().public_key()
    return public.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)


@dataclass(frozen=True)
class TokenContext:
    """The real token of one kind for a live session, and what it takes to forge one."""

    secret: bytes
    other_secret: bytes
    typ: str
    other_typ: str
    token: str
    other_token: str
    claims: dict[str, Any] = field(default_factory=dict)

    def sign(
        self,
        *,
        header: dict[str, Any] | None = None,
        drop_header: tuple[str, ...] = (),
        claims: dict[str, Any] | None = None,
        drop_claims: tuple[str, ...] = (),
        key: bytes | None = None,
        digest: str = "sha256",
    ) -> str:
        """The real token's claims and header, changed as asked, signed (by default) with
        the real key: only the change is wrong with it."""
        full_header = {"alg": "HS256", "typ": self.typ, **(header or {})}
        payload = {**self.claims, **(claims or {})}
        for name in drop_header:
            full_header.pop(name, None)
        for name in drop_claims:
            payload.pop(name, None)
        return forge(full_header, payload, key or self.secret, digest)


def tamper_payload(ctx: TokenContext) -> str:
    head, _, signature = ctx.token.split(".")
    payload = {**ctx.claims, "sub": "00000000-0000-0000-0000-000000000000"}
    return f"{head}.{b64url_json(payload)}.{signature}"


def tamper_signature(ctx: TokenContext) -> str:
    head, payload, signature = ctx.token.split(".")
    middle = len(signature) // 2
    flipped = "A" if signature[middle] != "A" else "B"
    return f"{head}.{payload}.{signature[:middle]}{flipped}{signature[middle + 1 :]}"


def now() -> int:
    return int(time.time())


BadToken = Callable[[TokenContext], str]


def unsigned(alg: str) -> BadToken:
    """A token with ``alg`` (a spelling of "none") and no signature at all."""

    def make(ctx: TokenContext) -> str:
        return forge({"alg": alg, "typ": ctx.typ}, ctx.claims, key=None)

    return make


# Every row is a token that must not authenticate (401), for the access and the refresh kind.
BAD_TOKENS: dict[str, BadToken] = {
    **{f"alg-{spelling}": unsigned(spelling) for spelling in ("none", "None", "NONE", "nOnE")},
    "alg-none-with-signature": lambda ctx: ctx.sign(header={"alg": "none"}),
    "alg-missing": lambda ctx: ctx.sign(drop_header=("alg",)),
    "alg-hs384-real-key": lambda ctx: ctx.sign(header={"alg": "HS384"}, digest="sha384"),
    "alg-hs512-real-key": lambda ctx: ctx.sign(header={"alg": "HS512"}, digest="sha512"),
    "alg-eddsa-header-hmac-signature": lambda ctx: ctx.sign(header={"alg": "EdDSA"}),
    "hs256-public-key-pem-as-secret": lambda ctx: ctx.sign(key=ed25519_public_pem()),
    "wrong-secret": lambda ctx: ctx.sign(key=secrets.token_bytes(32)),
    "other-kind-secret": lambda ctx: ctx.sign(key=ctx.other_secret),
    "typ-other-kind": lambda ctx: ctx.sign(header={"typ": ctx.other_typ}),
    "typ-JWT": lambda ctx: ctx.sign(header={"typ": "JWT"}),
    "typ-missing": lambda ctx: ctx.sign(drop_header=("typ",)),
    "iss-wrong": lambda ctx: ctx.sign(claims={"iss": "someone-else"}),
    "iss-missing": lambda ctx: ctx.sign(drop_claims=("iss",)),
    "aud-wrong": lambda ctx: ctx.sign(claims={"aud": "another-api"}),
    "aud-missing": lambda ctx: ctx.sign(drop_claims=("aud",)),
    "expired": lambda ctx: ctx.sign(claims={"iat": now() - 7200, "exp": now() - 3600}),
    "exp-missing": lambda ctx: ctx.sign(drop_claims=("exp",)),
    "exp-not-a-number": lambda ctx: ctx.sign(claims={"exp": "tomorrow"}),
    "iat-in-the-future": lambda ctx: ctx.sign(claims={"iat": now() + 3600}),
    "iat-missing": lambda ctx: ctx.sign(drop_claims=("iat",)),
    "iat-not-a-number": lambda ctx: ctx.sign(claims={"iat": "yesterday"}),
    "nbf-in-the-future": lambda ctx: ctx.sign(claims={"nbf": now() + 3600}),
    "sub-missing": lambda ctx: ctx.sign(drop_claims=("sub",)),
    "sub-not-a-string": lambda ctx: ctx.sign(claims={"sub": 12345}),
    "sid-missing": lambda ctx: ctx.sign(drop_claims=("sid",)),
    "sid-unknown": lambda ctx: ctx.sign(claims={"sid": "no-such-session"}),
    "jti-missing": lambda ctx: ctx.sign(drop_claims=("jti",)),
    "kid-unknown": lambda ctx: ctx.sign(header={"kid": "some-kid"}),
    "kid-path-traversal": lambda ctx: ctx.sign(header={"kid": "../../../../dev/null"}),
    "header-not-an-object": lambda ctx: (
        f"{b64url_json('header')}.{b64url_json(ctx.claims)}.{ctx.token.split('.')[2]}"
    ),
    "payload-not-an-object": lambda ctx: forge(
        {"alg": "HS256", "typ": ctx.typ}, [ctx.claims], ctx.secret
    ),
    "payload-not-base64": lambda ctx: f"{ctx.token.split('.')[0]}.!!!$$$.{ctx.token.split('.')[2]}",
    "tampered-payload": tamper_payload,
    "tampered-signature": tamper_signature,
    "signature-stripped": lambda ctx: ctx.token.rsplit(".", 1)[0] + ".",
    "two-segments": lambda ctx: ctx.token.rsplit(".", 1)[0],
    "four-segments": lambda ctx: ctx.token + ".extra",
    "non-utf8-bytes": lambda ctx: "\xff\xfe\xfd" + ctx.token,
    "non-ascii-text": lambda ctx: ctx.token[:20] + "токен✓" + ctx.token[20:],
    "oversized-16kb-validly-signed": lambda ctx: ctx.sign(claims={"pad": "x" * 16 * 1024}),
    "oversized-16kb-garbage": lambda ctx: "a" * (16 * 1024),
    "empty": lambda ctx: "",
    "one-dot": lambda ctx: ".",
    "only-dots": lambda ctx: "..",
    "many-dots": lambda ctx: "....",
    "garbage": lambda ctx: "not-a-jwt",
    "other-kind-token": lambda ctx: ctx.other_token,
}


def unverified_claims(token: str) -> dict[str, Any]:
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return claims


def context_for(kind: str, account: Account) -> TokenContext:
    access, refresh = secret_for("access").encode(), secret_for("refresh").encode()
    if kind == "access":
        return TokenContext(
            secret=access,
            other_secret=refresh,
            typ=ACCESS_TYP,
            other_typ=REFRESH_TYP,
            token=account.access_token,
            other_token=account.refresh_token,
            claims=unverified_claims(account.access_token),
        )
    return TokenContext(
        secret=refresh,
        other_secret=access,
        typ=REFRESH_TYP,
        other_typ=ACCESS_TYP,
        token=account.refresh_token,
        other_token=account.access_token,
        claims=unverified_claims(account.refresh_token),
    )


def header_value(text: str) -> bytes:
    """Raw header bytes: latin-1 where it fits (so ``\\xff`` goes out as a non-UTF-8 byte),
    else UTF-8."""
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return text.encode("utf-8")


def assert_error_envelope(response: httpx.Response, status: int) -> dict[str, Any]:
    """The error envelope with ``status``, and nothing leaked."""
    assert status >= 400
    body = assert_envelope(response, status)
    for marker in LEAK_MARKERS:
        assert marker not in response.text
    return body


def assert_unauthenticated(response: httpx.Response) -> None:
    assert_error_envelope(response, 401)
    assert response.headers["www-authenticate"] == "Bearer"


def error_fields(body: dict[str, Any]) -> set[str]:
    return {error["field"] for error in body["errors"]}


# -- fixtures -------------------------------------------------------------------------------


@dataclass
class Target:
    """A gate with a logged-in account, and a client with no cookies of its own."""

    gate: AuthGate
    account: Account
    client: httpx.AsyncClient
    make_client: ClientFactory


@pytest.fixture
async def target(make_gate: GateFactory, make_client: ClientFactory) -> Target:
    # Own throttle counters: failed logins here must not lock the client IP for other tests.
    gate = await make_gate(
        redis_prefix=f"{redis_prefix_for_run()}-adversarial-{secrets.token_hex(4)}",
        login_max_failures=100_000,
        login_max_failures_per_ip=100_000,
    )
    account = await register_and_login(make_client(gate))
    return Target(gate, account, make_client(gate), make_client)


# -- bad tokens -----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["access", "refresh"])
async def test_a_faithfully_forged_token_is_accepted(target: Target, kind: str) -> None:
    # The control for the tables below: the forging itself is right, so each bad row is
    # refused for its one flaw and nothing else.
    token = context_for(kind, target.account).sign()
    if kind == "access":
        response = await target.client.get(
            "/api/profile", headers={"Authorization": f"Bearer {token}"}
        )
    else:
        response = await target.client.post("/auth/refresh-token", json={"refreshToken": token})

    assert response.status_code == 200, response.text


@pytest.mark.parametrize("transport", ["bearer", "cookie"])
@pytest.mark.parametrize("row", list(BAD_TOKENS))
async def test_bad_access_token_gets_401(target: Target, row: str, transport: str) -> None:
    token = header_value(BAD_TOKENS[row](context_for("access", target.account)))
    if transport == "bearer":
        headers = {b"Authorization": b"Bearer " + token}
    else:
        headers = {b"Cookie": b"accessToken=" + token}

    response = await target.client.get("/api/profile", headers=headers)

    assert_unauthenticated(response)


@pytest.mark.parametrize("row", list(BAD_TOKENS))
async def test_bad_refresh_token_gets_401_and_the_session_lives_on(
    target: Target, row: str
) -> None:
    token = BAD_TOKENS[row](context_for("refresh", target.account))

    response = await target.client.post("/auth/refresh-token", json={"refreshToken": token})

    assert_unauthenticated(response)
    assert "accessToken" not in response.cookies
    genuine = await target.make_client(target.gate).post(
        "/auth/refresh-token", json={"refreshToken": target.account.refresh_token}
    )
    assert genuine.status_code == 200, genuine.text


@pytest.mark.parametrize(
    "row", ["alg-none", "tampered-signature", "typ-other-kind", "non-utf8-bytes"]
)
async def test_bad_refresh_token_in_the_cookie_gets_401(target: Target, row: str) -> None:
    token = header_value(BAD_TOKENS[row](context_for("refresh", target.account)))

    response = await target.client.post(
        "/auth/refresh-token", headers={b"Cookie": b"refreshToken=" + token}
    )

    assert_unauthenticated(response)


async def test_public_key_as_hmac_secret_is_refused_by_an_eddsa_gate(
    make_gate: GateFactory, make_client: ClientFactory
) -> None:
    # The classic algorithm confusion: the public key is published (the JWKS), so an
    # attacker signs HS256 with it and hopes the verifier takes alg from the token.
    jwk = generate_jwk("EdDSA", "k1")
    gate = await make_gate(access_jwks=json.dumps({"keys": [jwk]}))
    client = make_client(gate)
    account = await register_and_login(client)
    public = KeyRing.from_jwks(json.dumps({"keys": [jwk]})).keys["k1"].key.public_key()
    public_jwk = {key: value for key, value in jwk.items() if key != "d"}
    secrets_to_try = {
        "pem": public.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo),
        "raw": public.public_bytes(Encoding.Raw, PublicFormat.Raw),
        "jwk-json": json.dumps(public_jwk).encode(),
        "jwk-x": jwk["x"].encode(),
    }
    claims = unverified_claims(account.access_token)
    fresh = make_client(gate)
    genuine = await fresh.get(
        "/api/profile", headers={"Authorization": f"Bearer {account.access_token}"}
    )
    assert genuine.status_code == 200, genuine.text

    for name, key in secrets_to_try.items():
        for alg in ("HS256", "EdDSA"):
            token = forge({"alg": alg, "typ": ACCESS_TYP, "kid": "k1"}, claims, key)
            response = await fresh.get("/api/profile", headers={"Authorization": f"Bearer {token}"})
            assert response.status_code == 401, (name, alg)
            assert_unauthenticated(response)


# -- bad bodies -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Endpoint:
    """A body-taking endpoint, a valid body for it and the status its string fields get
    when they are absurdly long (400, or the 401 of a credential that cannot match)."""

    method: str
    path: str
    authenticated: bool
    valid_body: Callable[[Account], dict[str, Any]]
    required: tuple[str, ...]
    long_field_status: dict[str, int]


def new_registration(_: Account) -> dict[str, Any]:
    username = unique_username()
    return {
        "username": username,
        "email": f"{username}@example.com",
        "fullName": "Someone New",
        "password": PASSWORD,
        "avatarUrl": "https://img.example/a.png",
    }


ENDPOINTS: dict[str, Endpoint] = {
    "register": Endpoint(
        "POST",
        "/auth/register",
        False,
        new_registration,
        ("username", "email", "fullName", "password"),
        {"username": 400, "email": 400, "fullName": 400, "password": 400, "avatarUrl": 400},
    ),
    "login": Endpoint(
        "POST",
        "/auth/login",
        False,
        lambda account: {"username": account.username, "password": "a wrong password"},
        ("password",),
        # No account can have these: the same 401 as any other wrong credentials.
        {"username": 401, "password": 401},
    ),
    "refresh-token": Endpoint(
        "POST",
        "/auth/refresh-token",
        False,
        lambda account: {"refreshToken": account.refresh_token},
        (),
        {"refreshToken": 401},
    ),
    "change-password": Endpoint(
        "POST",
        "/auth/change-password",
        True,
        lambda _: {"currentPassword": "a wrong password", "newPassword": "a new password"},
        ("currentPassword", "newPassword"),
        {"currentPassword": 400, "newPassword": 400},
    ),
    # the router's settings change (the example's PATCH /api/settings parses the same way)
    "settings": Endpoint(
        "PATCH",
        "/auth/me",
        True,
        lambda _: {"fullName": "Renamed", "avatarUrl": "https://img.example/b.png"},
        (),
        {"fullName": 400, "avatarUrl": 400},
    ),
}
# Endpoints whose body is optional (an empty one is fine) but still read and checked.
OPTIONAL_BODY = {
    name: Endpoint("POST", f"/auth/{name}", True, lambda _: {}, (), {})
    for name in ("logout", "logout-all")
}
WRONG_TYPES: dict[str, Any] = {
    "int": 123,
    "float": 1.5,
    "bool": True,
    "null": None,
    "list": ["x"],
    "object": {"x": "y"},
}
# Fields where null is a meaningful value (it clears the avatar).
NULLABLE = {"avatarUrl"}


@dataclass
class Caller:
    """Sends bodies to one endpoint as the target account (logged in where it must be)."""

    target: Target
    endpoint: Endpoint
    client: httpx.AsyncClient

    async def send(
        self,
        *,
        json_body: Any = None,
        content: bytes | AsyncIterator[bytes] | None = None,
        content_type: str | None = "application/json",
    ) -> httpx.Response:
        if json_body is not None:
            content = json.dumps(json_body).encode()
        headers = {"Content-Type": content_type} if content_type else {}
        request = self.client.build_request(
            self.endpoint.method, self.endpoint.path, content=content, headers=headers
        )
        if content_type is None:
            request.headers.pop("content-type", None)
        return await self.client.send(request)


async def caller_for(target: Target, name: str) -> Caller:
    endpoint = ENDPOINTS[name] if name in ENDPOINTS else OPTIONAL_BODY[name]
    client = target.make_client(target.gate)
    if endpoint.authenticated:
        await client.post(
            "/auth/login", json={"username": target.account.username, "password": PASSWORD}
        )
        assert "accessToken" in client.cookies
    return Caller(target, endpoint, client)


def field_cases() -> list[tuple[str, str]]:
    return [
        (name, field_name)
        for name, endpoint in ENDPOINTS.items()
        for field_name in endpoint.long_field_status
    ]


@pytest.mark.parametrize("name", list(ENDPOINTS))
async def test_the_valid_body_works(target: Target, name: str) -> None:
    # The control: each bad body below differs from this one in one respect.
    caller = await caller_for(target, name)
    body = ENDPOINTS[name].valid_body(target.account)
    if name == "login":
        body["password"] = PASSWORD
    if name == "change-password":
        body["currentPassword"] = PASSWORD

    response = await caller.send(json_body=body)

    assert response.status_code in (200, 201), response.text


@pytest.mark.parametrize(
    ("name", "field_name", "type_name"),
    [
        (name, field_name, type_name)
        for name, field_name in field_cases()
        for type_name, value in WRONG_TYPES.items()
        if not (value is None and field_name in NULLABLE)
    ],
)
async def test_wrong_type_is_a_400_naming_the_field(
    target: Target, name: str, field_name: str, type_name: str
) -> None:
    value = WRONG_TYPES[type_name]
    caller = await caller_for(target, name)
    body = {**ENDPOINTS[name].valid_body(target.account), field_name: value}

    response = await caller.send(json_body=body)

    parsed = assert_error_envelope(response, 400)
    assert field_name in error_fields(parsed)
    assert "must be a string" in {e["message"] for e in parsed["errors"]}


@pytest.mark.parametrize(
    ("name", "field_name"),
    [(name, f) for name, endpoint in ENDPOINTS.items() for f in endpoint.required],
)
async def test_missing_field_is_a_400_naming_it(target: Target, name: str, field_name: str) -> None:
    caller = await caller_for(target, name)
    body = ENDPOINTS[name].valid_body(target.account)
    del body[field_name]

    response = await caller.send(json_body=body)

    parsed = assert_error_envelope(response, 400)
    assert field_name in error_fields(parsed)


async def test_every_missing_registration_field_is_listed(target: Target) -> None:
    caller = await caller_for(target, "register")

    response = await caller.send(json_body={})

    parsed = assert_error_envelope(response, 400)
    assert error_fields(parsed) == {"username", "email", "fullName", "password"}


@pytest.mark.parametrize(
    ("name", "status"), [("settings", 400), ("refresh-token", 401), ("change-password", 400)]
)
async def test_empty_object(target: Target, name: str, status: int) -> None:
    caller = await caller_for(target, name)

    response = await caller.send(json_body={})

    assert_error_envelope(response, status)


@pytest.mark.parametrize("extra", ["isAdmin", "passwordHash", "id", "__proto__"])
@pytest.mark.parametrize("name", list(ENDPOINTS))
async def test_extra_field_is_a_400_naming_it(target: Target, name: str, extra: str) -> None:
    caller = await caller_for(target, name)
    body = {**ENDPOINTS[name].valid_body(target.account), extra: True}

    response = await caller.send(json_body=body)

    parsed = assert_error_envelope(response, 400)
    assert extra in error_fields(parsed)


@pytest.mark.parametrize(("name", "field_name"), field_cases())
async def test_one_megabyte_field_is_a_413(target: Target, name: str, field_name: str) -> None:
    caller = await caller_for(target, name)
    body = {**ENDPOINTS[name].valid_body(target.account), field_name: "x" * (1024 * 1024)}

    response = await caller.send(json_body=body)

    assert_error_envelope(response, 413)


@pytest.mark.parametrize(("name", "field_name"), field_cases())
async def test_sixty_kilobyte_field_is_refused(target: Target, name: str, field_name: str) -> None:
    caller = await caller_for(target, name)
    value = "x" * (60 * 1024)
    if field_name == "avatarUrl":
        value = "https://img.example/" + value
    body = {**ENDPOINTS[name].valid_body(target.account), field_name: value}

    response = await caller.send(json_body=body)

    parsed = assert_error_envelope(response, ENDPOINTS[name].long_field_status[field_name])
    if response.status_code == 400:
        assert field_name in error_fields(parsed)


@pytest.mark.parametrize(("name", "field_name"), field_cases())
async def test_nul_in_a_field_is_refused(target: Target, name: str, field_name: str) -> None:
    caller = await caller_for(target, name)
    valid = ENDPOINTS[name].valid_body(target.account)
    value = valid[field_name][:4] + "\x00" + valid[field_name][4:]
    body = {**valid, field_name: value}

    response = await caller.send(json_body=body)

    # Login and refresh answer a credential that cannot match: the same 401 as any other.
    status = 401 if name in ("login", "refresh-token") else 400
    parsed = assert_error_envelope(response, status)
    if status == 400:
        assert field_name in error_fields(parsed)


async def test_login_with_nul_in_the_email_is_a_plain_401(target: Target) -> None:
    caller = await caller_for(target, "login")

    response = await caller.send(json_body={"email": "a\x00b@example.com", "password": PASSWORD})

    assert_error_envelope(response, 401)


async def _over_limit_stream() -> AsyncIterator[bytes]:
    yield b'{"x": "'
    for _ in range(80):
        yield b"y" * 1024
    yield b'"}'


# Raw bodies that are not one JSON object in UTF-8: (content, content type, status).
RAW_BODIES: dict[str, tuple[bytes, str | None, int]] = {
    "invalid-utf8": (b'{"username": "\xff\xfe"}', "application/json", 400),
    "lone-surrogate-escape": (b'{"username": "\\ud800"}', "application/json", 400),
    "truncated-json": (b'{"username": ', "application/json", 400),
    "trailing-garbage": (b'{"username": "a"} {}', "application/json", 400),
    "single-quotes": (b"{'username': 'a'}", "application/json", 400),
    "nan": (b'{"username": NaN}', "application/json", 400),
    "infinity": (b'{"username": Infinity}', "application/json", 400),
    "deep-nesting": (b"[" * 30000 + b"]" * 30000, "application/json", 400),
    "array": (b"[]", "application/json", 400),
    "string": (b'"hello"', "application/json", 400),
    "number": (b"42", "application/json", 400),
    "null": (b"null", "application/json", 400),
    "nul-bytes": (b"\x00\x00\x00\x00", "application/json", 400),
    "bom-prefixed": (b'\xef\xbb\xbf{"username": "a"}', "application/json", 400),
    "text-plain": (b'{"username": "a"}', "text/plain", 415),
    "form-encoded": (b"username=a&password=b", "application/x-www-form-urlencoded", 415),
    "multipart": (b"--x\r\n\r\n--x--", "multipart/form-data; boundary=x", 415),
    "no-content-type": (b'{"username": "a"}', None, 415),
    "over-64-kib": (b'{"x": "' + b"y" * MAX_BODY + b'"}', "application/json", 413),
}


@pytest.mark.parametrize("case", list(RAW_BODIES))
@pytest.mark.parametrize("name", list(ENDPOINTS))
async def test_malformed_body_is_a_4xx_envelope(target: Target, name: str, case: str) -> None:
    caller = await caller_for(target, name)
    content, content_type, status = RAW_BODIES[case]

    response = await caller.send(content=content, content_type=content_type)

    assert_error_envelope(response, status)


@pytest.mark.parametrize("name", [*ENDPOINTS, *OPTIONAL_BODY])
async def test_over_limit_body_without_content_length_is_a_413(target: Target, name: str) -> None:
    caller = await caller_for(target, name)

    response = await caller.send(content=_over_limit_stream())

    assert "content-length" not in response.request.headers
    assert_error_envelope(response, 413)


@pytest.mark.parametrize("case", ["truncated-json", "array", "text-plain", "over-64-kib"])
@pytest.mark.parametrize("name", list(OPTIONAL_BODY))
async def test_bad_body_on_logout_is_refused_and_changes_nothing(
    target: Target, name: str, case: str
) -> None:
    caller = await caller_for(target, name)
    content, content_type, status = RAW_BODIES[case]

    response = await caller.send(content=content, content_type=content_type)

    assert_error_envelope(response, status)
    assert "set-cookie" not in response.headers
    assert (await caller.client.get("/auth/me")).status_code == 200


async def test_wrong_content_type_on_register_creates_no_user(target: Target) -> None:
    caller = await caller_for(target, "register")
    body = new_registration(target.account)

    refused = await caller.send(json_body=body, content_type="text/plain")
    accepted = await caller.send(json_body=body)

    assert_error_envelope(refused, 415)
    assert accepted.status_code == 201, accepted.text
