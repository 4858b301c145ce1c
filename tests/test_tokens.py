"""Access and refresh JWTs: round trips, headers, claims and everything verification refuses."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import json
import time
from dataclasses import replace
from typing import Any

import jwt
import pytest
from jwt.algorithms import HMACAlgorithm

from authgate.config import Settings
from authgate.errors import InvalidToken
from authgate.tokens import TokenClaims, TokenCodec, TokenKind
from authgate.tokens.codec import MAX_TOKEN_LENGTH, REQUIRED_CLAIMS
from authgate.tokens.jwt_api import HMAC_SHA256, JWT, CheckedOnceHMAC

ACCESS_SECRET = "access-secret-for-the-token-tests-" + "a" * 40  # 64+ bytes, fine for HS512
REFRESH_SECRET = "refresh-secret-for-the-token-tests-" + "r" * 40
SECRETS = {TokenKind.ACCESS: ACCESS_SECRET, TokenKind.REFRESH: REFRESH_SECRET}
KINDS = [TokenKind.ACCESS, TokenKind.REFRESH]
USER_ID = "3f1e0c7a-1111-4d2b-9a53-5a0f6f2c0b11"
SESSION_ID = "session-42"


@pytest.fixture
def settings() -> Settings:
    return Settings(
        access_token_secret=ACCESS_SECRET,
        refresh_token_secret=REFRESH_SECRET,
        access_token_expiry=15 * 60,
        refresh_token_expiry=7 * 86400,
        issuer="https://issuer.example",
        audience="my-api",
        token_leeway_seconds=5,
    ).checked()


@pytest.fixture
def codec(settings: Settings) -> TokenCodec:
    return TokenCodec(settings)


def lifetime(settings: Settings, kind: TokenKind) -> int:
    if kind is TokenKind.ACCESS:
        return settings.access_token_expiry
    return settings.refresh_token_expiry


def valid_payload(settings: Settings, kind: TokenKind) -> dict[str, Any]:
    now = int(time.time())
    return {
        "iss": settings.issuer,
        "aud": settings.audience,
        "sub": USER_ID,
        "sid": SESSION_ID,
        "jti": "token-id-1",
        "iat": now,
        "exp": now + lifetime(settings, kind),
    }


def craft(
    payload: dict[str, Any],
    kind: TokenKind,
    *,
    key: str | None = None,
    algorithm: str = "HS256",
    typ: str | None = None,
) -> str:
    """A token made with pyjwt directly: by default the right key and the right ``typ``."""
    return jwt.encode(
        payload,
        SECRETS[kind] if key is None else key,
        algorithm=algorithm,
        headers={"typ": kind.value if typ is None else typ},
    )


def b64(data: dict[str, Any]) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def hmac_token(header: dict[str, Any], payload: dict[str, Any], kind: TokenKind) -> str:
    """A token signed by hand with HMAC-SHA256 and the right key, whatever its header says."""
    signing_input = f"{b64(header)}.{b64(payload)}"
    digest = hmac.new(SECRETS[kind].encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{base64.urlsafe_b64encode(digest).rstrip(b'=').decode()}"


def unb64(segment: str) -> dict[str, Any]:
    decoded: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    )
    return decoded


# --- what a token is ------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_round_trip(codec: TokenCodec, kind: TokenKind) -> None:
    token, claims = codec.issue(kind, sub=USER_ID, sid=SESSION_ID)
    verified = codec.verify(kind, token)
    assert verified == claims
    assert verified.sub == USER_ID
    assert verified.sid == SESSION_ID


@pytest.mark.parametrize(
    ("kind", "typ"), [(TokenKind.ACCESS, "at+jwt"), (TokenKind.REFRESH, "rt+jwt")]
)
def test_header_names_the_kind_and_pins_hs256(codec: TokenCodec, kind: TokenKind, typ: str) -> None:
    token, _ = codec.issue(kind, sub=USER_ID, sid=SESSION_ID)
    header = jwt.get_unverified_header(token)
    assert header["typ"] == typ
    assert header["alg"] == "HS256"


@pytest.mark.parametrize("kind", KINDS)
def test_all_claims_present_and_nothing_else(
    codec: TokenCodec, settings: Settings, kind: TokenKind
) -> None:
    before = int(time.time())
    token, _ = codec.issue(kind, sub=USER_ID, sid=SESSION_ID)
    payload = jwt.decode(token, SECRETS[kind], algorithms=["HS256"], audience=settings.audience)
    assert set(payload) == set(REQUIRED_CLAIMS)
    assert payload["iss"] == "https://issuer.example"
    assert payload["aud"] == "my-api"
    assert payload["sub"] == USER_ID
    assert payload["sid"] == SESSION_ID
    assert isinstance(payload["jti"], str)
    assert len(payload["jti"]) == 12  # 72 random bits
    assert before <= payload["iat"] <= int(time.time())
    assert payload["exp"] - payload["iat"] == lifetime(settings, kind)


def test_each_token_gets_its_own_jti(codec: TokenCodec) -> None:
    jtis = {codec.issue(TokenKind.REFRESH, sub=USER_ID, sid=SESSION_ID)[1].jti for _ in range(50)}
    assert len(jtis) == 50


def test_refresh_token_is_signed_with_the_refresh_key(codec: TokenCodec) -> None:
    token, _ = codec.issue(TokenKind.REFRESH, sub=USER_ID, sid=SESSION_ID)
    jwt.decode(token, REFRESH_SECRET, algorithms=["HS256"], audience="my-api")
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(token, ACCESS_SECRET, algorithms=["HS256"], audience="my-api")


def test_encode_of_the_same_claims_gives_the_identical_token(settings: Settings) -> None:
    # The grace window hands out the session's current refresh token again by re-encoding it.
    codec = TokenCodec(settings)
    token, claims = codec.issue(TokenKind.REFRESH, sub=USER_ID, sid=SESSION_ID)
    assert codec.encode(TokenKind.REFRESH, claims) == token
    rebuilt = TokenClaims(**claims.payload())
    assert TokenCodec(settings).encode(TokenKind.REFRESH, rebuilt) == token  # another instance


def test_a_payload_holds_every_claim_and_nothing_else(settings: Settings) -> None:
    _, claims = TokenCodec(settings).issue(TokenKind.ACCESS, sub=USER_ID, sid=SESSION_ID)
    assert claims.payload() == dataclasses.asdict(claims)
    assert list(claims.payload()) == [field.name for field in dataclasses.fields(TokenClaims)]


# --- one kind is never the other ------------------------------------------------------------


def test_access_token_is_refused_as_refresh_token(codec: TokenCodec) -> None:
    token, _ = codec.issue(TokenKind.ACCESS, sub=USER_ID, sid=SESSION_ID)
    with pytest.raises(InvalidToken):
        codec.verify(TokenKind.REFRESH, token)


def test_refresh_token_is_refused_as_access_token(codec: TokenCodec) -> None:
    token, _ = codec.issue(TokenKind.REFRESH, sub=USER_ID, sid=SESSION_ID)
    with pytest.raises(InvalidToken):
        codec.verify(TokenKind.ACCESS, token)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("typ", ["JWT", "at+JWT", "", "jwt", "rt+jwt+at+jwt"])
def test_wrong_typ_header_is_refused(
    codec: TokenCodec, settings: Settings, kind: TokenKind, typ: str
) -> None:
    token = craft(valid_payload(settings, kind), kind, typ=typ)
    with pytest.raises(InvalidToken):
        codec.verify(kind, token)


@pytest.mark.parametrize("kind", KINDS)
def test_other_kinds_typ_with_this_kinds_key_is_refused(
    codec: TokenCodec, settings: Settings, kind: TokenKind
) -> None:
    other = TokenKind.REFRESH if kind is TokenKind.ACCESS else TokenKind.ACCESS
    token = craft(valid_payload(settings, kind), kind, typ=other.value)
    with pytest.raises(InvalidToken):
        codec.verify(kind, token)
    with pytest.raises(InvalidToken):
        codec.verify(other, token)


@pytest.mark.parametrize("kind", KINDS)
def test_token_without_typ_header_is_refused(
    codec: TokenCodec, settings: Settings, kind: TokenKind
) -> None:
    payload = valid_payload(settings, kind)
    assert codec.verify(kind, hmac_token({"alg": "HS256", "typ": kind.value}, payload, kind))
    with pytest.raises(InvalidToken):
        codec.verify(kind, hmac_token({"alg": "HS256"}, payload, kind))


# --- keys, algorithms, issuer, audience -----------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_alg_none_is_refused(codec: TokenCodec, settings: Settings, kind: TokenKind) -> None:
    header = {"alg": "none", "typ": kind.value}
    payload = valid_payload(settings, kind)
    for token in (f"{b64(header)}.{b64(payload)}.", f"{b64(header)}.{b64(payload)}"):
        with pytest.raises(InvalidToken):
            codec.verify(kind, token)
    # "None"/"NONE" spellings and a stolen valid signature glued onto an alg-none header.
    good = craft(payload, kind)
    for alg in ("None", "NONE"):
        forged = f"{b64({'alg': alg, 'typ': kind.value})}.{b64(payload)}.{good.split('.')[2]}"
        with pytest.raises(InvalidToken):
            codec.verify(kind, forged)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("algorithm", ["HS384", "HS512"])
def test_other_hmac_algorithm_with_the_right_key_is_refused(
    codec: TokenCodec, settings: Settings, kind: TokenKind, algorithm: str
) -> None:
    token = craft(valid_payload(settings, kind), kind, algorithm=algorithm)
    with pytest.raises(InvalidToken):
        codec.verify(kind, token)


@pytest.mark.parametrize("kind", KINDS)
def test_token_signed_with_another_key_is_refused(
    codec: TokenCodec, settings: Settings, kind: TokenKind
) -> None:
    token = craft(valid_payload(settings, kind), kind, key="another-key-" + "x" * 40)
    with pytest.raises(InvalidToken):
        codec.verify(kind, token)


@pytest.mark.parametrize("kind", KINDS)
def test_token_from_a_deployment_with_other_secrets_is_refused(
    codec: TokenCodec, settings: Settings, kind: TokenKind
) -> None:
    other = TokenCodec(
        replace(
            settings,
            access_token_secret="other-access-" + "x" * 40,
            refresh_token_secret="other-refresh-" + "y" * 40,
        )
    )
    token, _ = other.issue(kind, sub=USER_ID, sid=SESSION_ID)
    with pytest.raises(InvalidToken):
        codec.verify(kind, token)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    "change", [{"issuer": "https://evil.example"}, {"audience": "another-api"}], ids=["iss", "aud"]
)
def test_wrong_issuer_or_audience_is_refused(
    codec: TokenCodec, settings: Settings, kind: TokenKind, change: dict[str, Any]
) -> None:
    # Same keys, so only the iss / aud claim differs.
    token, _ = TokenCodec(replace(settings, **change)).issue(kind, sub=USER_ID, sid=SESSION_ID)
    with pytest.raises(InvalidToken):
        codec.verify(kind, token)


# --- time -----------------------------------------------------------------------------------


def issued_ago(settings: Settings, kind: TokenKind, expired_for: float) -> str:
    """A token of ``kind`` whose ``exp`` lies ``expired_for`` seconds in the past."""
    start = time.time() - lifetime(settings, kind) - expired_for
    token, _ = TokenCodec(settings, clock=lambda: start).issue(kind, sub=USER_ID, sid=SESSION_ID)
    return token


@pytest.mark.parametrize("kind", KINDS)
def test_expired_beyond_the_leeway_is_refused(
    codec: TokenCodec, settings: Settings, kind: TokenKind
) -> None:
    token = issued_ago(settings, kind, expired_for=settings.token_leeway_seconds + 30)
    with pytest.raises(InvalidToken):
        codec.verify(kind, token)


@pytest.mark.parametrize("kind", KINDS)
def test_expired_within_the_leeway_is_accepted(
    codec: TokenCodec, settings: Settings, kind: TokenKind
) -> None:
    assert settings.token_leeway_seconds == 5
    token = issued_ago(settings, kind, expired_for=2)
    assert codec.verify(kind, token).sub == USER_ID


def test_leeway_is_configurable(settings: Settings) -> None:
    strict = replace(settings, token_leeway_seconds=0)
    token = issued_ago(strict, TokenKind.ACCESS, expired_for=2)
    with pytest.raises(InvalidToken):
        TokenCodec(strict).verify(TokenKind.ACCESS, token)
    assert TokenCodec(settings).verify(TokenKind.ACCESS, token).sub == USER_ID


def test_token_issued_in_the_future_beyond_the_leeway_is_refused(
    codec: TokenCodec, settings: Settings
) -> None:
    start = time.time() + 3600
    token, _ = TokenCodec(settings, clock=lambda: start).issue(
        TokenKind.ACCESS, sub=USER_ID, sid=SESSION_ID
    )
    with pytest.raises(InvalidToken):
        codec.verify(TokenKind.ACCESS, token)


# --- claims ---------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("claim", REQUIRED_CLAIMS)
def test_missing_claim_is_refused(
    codec: TokenCodec, settings: Settings, kind: TokenKind, claim: str
) -> None:
    payload = valid_payload(settings, kind)
    assert codec.verify(kind, craft(payload, kind)).sub == USER_ID  # complete: accepted
    del payload[claim]
    with pytest.raises(InvalidToken):
        codec.verify(kind, craft(payload, kind))


@pytest.mark.parametrize(
    ("claim", "value"),
    [
        ("sub", ""),
        ("sub", 42),
        ("sid", ""),
        ("sid", None),
        ("jti", ["a"]),
        ("aud", ["my-api", "another-api"]),
        ("iat", "now"),
        ("exp", True),
        ("exp", float(int(time.time()) + 600) + 0.5),
    ],
)
def test_claim_of_the_wrong_type_is_refused(
    codec: TokenCodec, settings: Settings, claim: str, value: Any
) -> None:
    payload = valid_payload(settings, TokenKind.ACCESS)
    payload[claim] = value
    with pytest.raises(InvalidToken):
        codec.verify(TokenKind.ACCESS, craft(payload, TokenKind.ACCESS))


# --- damaged and hostile input --------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_tampered_payload_is_refused(codec: TokenCodec, kind: TokenKind) -> None:
    token, _ = codec.issue(kind, sub=USER_ID, sid=SESSION_ID)
    header, payload, signature = token.split(".")
    claims = unb64(payload)
    claims["sub"] = "someone-else"
    with pytest.raises(InvalidToken):
        codec.verify(kind, f"{header}.{b64(claims)}.{signature}")


@pytest.mark.parametrize("kind", KINDS)
def test_tampered_signature_is_refused(codec: TokenCodec, kind: TokenKind) -> None:
    token, _ = codec.issue(kind, sub=USER_ID, sid=SESSION_ID)
    header, payload, signature = token.split(".")
    # Change a character in the middle: the last one may only carry padding bits.
    middle = len(signature) // 2
    flipped = "A" if signature[middle] != "A" else "B"
    forged = signature[:middle] + flipped + signature[middle + 1 :]
    for bad in (forged, "", signature[:-4]):
        with pytest.raises(InvalidToken):
            codec.verify(kind, f"{header}.{payload}.{bad}")


@pytest.mark.parametrize(
    "token",
    [
        "",
        " ",
        "garbage",
        "not.a.token",
        "a.b.c",
        "..",
        "a.b",
        "a.b.c.d",
        "ä.ö.ü",
        "eyJhbGciOiJIUzI1NiJ9",
        "Bearer x.y.z",
        "\x00\x00\x00",
        b64({"alg": "HS256", "typ": "at+jwt"}) + ".%%%." + "sig",
        "W10." + b64({"sub": "x"}) + ".sig",  # header is a JSON list
    ],
)
@pytest.mark.parametrize("kind", KINDS)
def test_garbage_is_refused(codec: TokenCodec, kind: TokenKind, token: str) -> None:
    with pytest.raises(InvalidToken):
        codec.verify(kind, token)


def test_over_long_token_is_refused_even_when_validly_signed(
    codec: TokenCodec, settings: Settings
) -> None:
    payload = valid_payload(settings, TokenKind.ACCESS)
    payload["pad"] = "p" * 2500
    fits = craft(payload, TokenKind.ACCESS)
    assert len(fits) <= MAX_TOKEN_LENGTH
    assert codec.verify(TokenKind.ACCESS, fits).sub == USER_ID
    payload["pad"] = "p" * 4000
    too_long = craft(payload, TokenKind.ACCESS)
    assert len(too_long) > MAX_TOKEN_LENGTH
    with pytest.raises(InvalidToken):
        codec.verify(TokenKind.ACCESS, too_long)
    with pytest.raises(InvalidToken):
        codec.verify(TokenKind.ACCESS, "a" * 1_000_000)


def test_invalid_token_is_a_401(codec: TokenCodec) -> None:
    with pytest.raises(InvalidToken) as caught:
        codec.verify(TokenKind.ACCESS, "garbage")
    assert caught.value.status_code == 401


@pytest.mark.parametrize("kind", list(TokenKind))
def test_unknown_kid_is_refused(settings: Settings, kind: TokenKind) -> None:
    codec = TokenCodec(settings)
    header = {"alg": "HS256", "typ": kind.value, "kid": "k-unknown"}
    token = hmac_token(header, valid_payload(settings, kind), kind)
    with pytest.raises(InvalidToken):
        codec.verify(kind, token)
    # the same token without the kid is fine, so the kid alone is what is refused
    plain = hmac_token({"alg": "HS256", "typ": kind.value}, valid_payload(settings, kind), kind)
    assert codec.verify(kind, plain).sub


def test_a_session_id_never_starts_with_a_dash() -> None:
    """A command line (``authgate sessions revoke USER SID``) must never take one for an
    option; 5,000 ids leave about 0.5 % odds that a dash-first id would go unseen."""
    from authgate.tokens import is_session_id, new_session_id

    ids = [new_session_id() for _ in range(5000)]
    assert not any(sid.startswith("-") for sid in ids)
    assert all(is_session_id(sid) and len(sid) == 8 for sid in ids)


def test_an_hmac_secret_is_checked_once_and_a_bad_one_every_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    checks: list[object] = []
    original = HMACAlgorithm.prepare_key

    def counting(self: HMACAlgorithm, key: str | bytes) -> bytes:
        checks.append(key)
        return original(self, key)

    monkeypatch.setattr(HMACAlgorithm, "prepare_key", counting)
    algorithm = CheckedOnceHMAC()
    secret = "s" * 40
    assert algorithm.prepare_key(secret) == secret.encode()
    assert algorithm.prepare_key(secret) == secret.encode()
    assert checks == [secret]  # checked once
    pem = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA\n-----END PUBLIC KEY-----\n"
    for _ in range(2):
        with pytest.raises(jwt.InvalidKeyError):
            algorithm.prepare_key(pem)
    assert checks == [secret, pem, pem]  # a refused key is never kept


def test_only_authgate_s_own_jwt_object_checks_keys_once() -> None:
    own = JWT._jws._algorithms[HMAC_SHA256]
    shared = jwt.api_jws._jws_global_obj._algorithms[HMAC_SHA256]
    assert isinstance(own, CheckedOnceHMAC)
    assert not isinstance(shared, CheckedOnceHMAC)
    token = JWT.encode({"a": 1}, "k" * 40, algorithm=HMAC_SHA256)
    assert jwt.decode(token, "k" * 40, algorithms=[HMAC_SHA256]) == {"a": 1}
