"""Asymmetric access tokens: EdDSA and ES256 key rings, the JWKS, and key rotation while
sessions are live — on the real PostgreSQL and Redis."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jwt
import pytest

from authgate import Settings, TokenCodec, TokenKind
from authgate.errors import ConfigError, InvalidToken
from authgate.keys import KeyRing, generate_jwk
from tests.conftest import ClientFactory, GateFactory, register_and_login


def ring(*keys: dict[str, Any]) -> str:
    return json.dumps({"keys": list(keys)})


def public_only(jwk: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in jwk.items() if name != "d"}


@pytest.mark.parametrize("algorithm", ["EdDSA", "ES256"])
def test_ring_signs_with_kid_and_verifies(settings: Settings, algorithm: str) -> None:
    jwk = generate_jwk(algorithm, "k1")
    codec = TokenCodec(Settings(**{**_fields(settings), "access_jwks": ring(jwk)}))
    token, claims = codec.issue(TokenKind.ACCESS, sub="u1", sid="s1")
    header = jwt.get_unverified_header(token)
    assert header == {"alg": algorithm, "typ": "at+jwt", "kid": "k1"}
    assert codec.verify(TokenKind.ACCESS, token) == claims
    # refresh tokens stay HS256 with the refresh secret: only authgate reads them
    refresh, _ = codec.issue(TokenKind.REFRESH, sub="u1", sid="s1")
    assert jwt.get_unverified_header(refresh)["alg"] == "HS256"


@pytest.mark.parametrize("algorithm", ["EdDSA", "ES256"])
def test_another_service_verifies_with_the_public_jwks_alone(
    settings: Settings, algorithm: str
) -> None:
    codec = TokenCodec(
        Settings(**{**_fields(settings), "access_jwks": ring(generate_jwk(algorithm, "k1"))})
    )
    token, _ = codec.issue(TokenKind.ACCESS, sub="u1", sid="s1")
    document = codec.jwks()
    assert document is not None
    assert all("d" not in key for key in document["keys"])
    public = jwt.PyJWK(document["keys"][0])
    payload = jwt.decode(token, public.key, algorithms=[algorithm], audience=settings.audience)
    assert payload["sub"] == "u1"


def test_unknown_kid_missing_kid_and_confused_algorithms_are_refused(settings: Settings) -> None:
    jwk = generate_jwk("EdDSA", "k1")
    codec = TokenCodec(Settings(**{**_fields(settings), "access_jwks": ring(jwk)}))
    _, claims = codec.issue(TokenKind.ACCESS, sub="u1", sid="s1")
    private = jwt.PyJWK(jwk).key
    payload = claims.payload()
    forged = [
        jwt.encode(payload, private, algorithm="EdDSA", headers={"typ": "at+jwt", "kid": "k9"}),
        jwt.encode(payload, private, algorithm="EdDSA", headers={"typ": "at+jwt"}),
        # HS256 signed with the access secret or the refresh secret while keys are asymmetric
        jwt.encode(
            payload,
            settings.access_token_secret,
            algorithm="HS256",
            headers={"typ": "at+jwt", "kid": "k1"},
        ),
        jwt.encode(
            payload,
            settings.refresh_token_secret,
            algorithm="HS256",
            headers={"typ": "at+jwt", "kid": "k1"},
        ),
        jwt.encode(payload, "", algorithm="none", headers={"typ": "at+jwt", "kid": "k1"}),
    ]
    for bad in forged:
        with pytest.raises(InvalidToken):
            codec.verify(TokenKind.ACCESS, bad)


def test_a_bad_key_ring_stops_start_up_naming_the_variable(settings: Settings) -> None:
    public = public_only(generate_jwk("EdDSA", "k1"))
    cases = [
        "not json",
        ring({**generate_jwk("EdDSA", "k1"), "alg": "RS256"}),
        ring(public),  # nothing can sign
        ring(generate_jwk("EdDSA", "k1"), generate_jwk("ES256", "k1")),  # duplicate kid
        ring({**generate_jwk("ES256", "k1"), "alg": "EdDSA"}),  # curve does not fit alg
    ]
    for document in cases:
        with pytest.raises(ConfigError, match="AUTHGATE_ACCESS_JWKS"):
            Settings(**{**_fields(settings), "access_jwks": document}).checked()
    with pytest.raises(ConfigError, match="AUTHGATE_ACCESS_SIGNING_KID"):
        KeyRing.from_jwks(ring(generate_jwk("EdDSA", "k1")), "k2")


def test_from_env_reads_the_key_ring_file_and_production_needs_no_access_secret(
    tmp_path: Path,
) -> None:
    path = tmp_path / "jwks.json"
    path.write_text(ring(generate_jwk("ES256", "2026-11")), encoding="utf-8")
    loaded = Settings.from_env(
        {
            "AUTHGATE_ENV": "production",
            "AUTHGATE_ACCESS_JWKS_FILE": str(path),
            "REFRESH_TOKEN_SECRET": "r" * 40,
            "DATABASE_URL": "postgresql+asyncpg://db/x",
            "REDIS_URL": "redis://cache:6379/0",
        }
    )
    assert loaded.access_jwks is not None
    assert "2026-11" in loaded.access_jwks
    assert "access_jwks" not in repr(loaded)  # the private key never reaches a log line
    with pytest.raises(ConfigError, match="AUTHGATE_ACCESS_JWKS_FILE"):
        Settings.from_env({"AUTHGATE_ACCESS_JWKS_FILE": str(tmp_path / "missing.json")})


async def test_jwks_endpoint(make_gate: GateFactory, make_client: ClientFactory) -> None:
    hs256 = make_client(await make_gate())
    response = await hs256.get("/.well-known/jwks.json")
    assert response.status_code == 404
    assert response.json()["success"] is False

    jwk = generate_jwk("EdDSA", "k1")
    asymmetric = make_client(await make_gate(access_jwks=ring(jwk)))
    response = await asymmetric.get("/.well-known/jwks.json")
    assert response.status_code == 200
    keys = response.json()["keys"]
    assert [key["kid"] for key in keys] == ["k1"]
    assert keys[0]["x"] == jwk["x"]
    assert "d" not in keys[0]


async def test_rotating_the_signing_key_logs_nobody_out(
    make_gate: GateFactory, make_client: ClientFactory
) -> None:
    old, new = generate_jwk("EdDSA", "2026-10"), generate_jwk("ES256", "2026-11")
    before = make_client(await make_gate(access_jwks=ring(old)))
    account = await register_and_login(before)
    before.cookies.clear()

    # step 1: the new key signs, the old one still verifies (its public part is enough)
    during = make_client(await make_gate(access_jwks=ring(new, public_only(old))))
    old_bearer = {"Authorization": f"Bearer {account.access_token}"}
    assert (await during.get("/api/profile", headers=old_bearer)).status_code == 200
    refreshed = await during.post(
        "/auth/refresh-token", json={"refreshToken": account.refresh_token}
    )
    assert refreshed.status_code == 200
    during.cookies.clear()
    new_access = refreshed.json()["data"]["accessToken"]
    assert jwt.get_unverified_header(new_access)["kid"] == "2026-11"
    new_bearer = {"Authorization": f"Bearer {new_access}"}
    assert (await during.get("/api/profile", headers=new_bearer)).status_code == 200

    # step 2: once old tokens have expired the old key is dropped; its tokens are refused
    after = make_client(await make_gate(access_jwks=ring(new)))
    assert (await after.get("/api/profile", headers=new_bearer)).status_code == 200
    refused = await after.get("/api/profile", headers=old_bearer)
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"].startswith("Bearer")


async def test_keys_command_prints_a_private_jwk(capsys: pytest.CaptureFixture[str]) -> None:
    from authgate.keys import main

    assert main(["ES256", "k7"]) == 0
    jwk = json.loads(capsys.readouterr().out)
    assert jwk["kid"] == "k7"
    assert jwk["alg"] == "ES256"
    assert "d" in jwk
    assert main(["RS256", "k"]) == 2


def _fields(settings: Settings) -> dict[str, Any]:
    return {name: getattr(settings, name) for name in settings.__dataclass_fields__}
