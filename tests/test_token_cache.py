"""The verified-token cache: bounded, honours ``exp`` and key rotation, and never stands in
for the session check."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from datetime import datetime, tzinfo
from typing import Any, Self

import jwt.api_jwt
import pytest

from authgate import Settings, TokenCodec, TokenKind
from authgate.errors import InvalidToken
from authgate.keys import generate_jwk
from tests.conftest import ClientFactory, GateFactory, register_and_login


def ring(*keys: dict[str, Any]) -> str:
    return json.dumps({"keys": list(keys)})


def public_only(jwk: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in jwk.items() if name != "d"}


class Clock:
    """Seconds since the epoch, moved by the test instead of waiting for them to pass."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """A ``Clock`` for ``TokenCodec(clock=...)`` (and so for its cache) that PyJWT reads too:
    PyJWT takes no clock and checks ``exp`` against ``datetime.now``, so a token the test
    lets expire must expire for the full verification at the same moment."""
    clock = Clock(time.time())

    class ClockTime(datetime):
        @classmethod
        def now(cls, tz: tzinfo | None = None) -> Self:
            return cls.fromtimestamp(clock(), tz)

    monkeypatch.setattr(jwt.api_jwt, "datetime", ClockTime)
    return clock


def test_an_expired_token_is_refused_even_when_cached(settings: Settings, clock: Clock) -> None:
    codec = TokenCodec(
        replace(settings, access_token_expiry=1, token_leeway_seconds=0), clock=clock
    )
    token, claims = codec.issue(TokenKind.ACCESS, sub="u1", sid="s1")
    assert codec.verify(TokenKind.ACCESS, token) == claims
    assert len(codec.cache) == 1  # verified once, now served from the cache
    assert codec.verify(TokenKind.ACCESS, token) == claims

    clock.advance(max(0.0, claims.exp - clock()) + 0.05)

    with pytest.raises(InvalidToken):
        codec.verify(TokenKind.ACCESS, token)
    assert len(codec.cache) == 0


def test_a_cached_token_within_the_leeway_is_still_accepted(
    settings: Settings, clock: Clock
) -> None:
    codec = TokenCodec(
        replace(settings, access_token_expiry=1, token_leeway_seconds=5), clock=clock
    )
    token, claims = codec.issue(TokenKind.ACCESS, sub="u1", sid="s1")
    codec.verify(TokenKind.ACCESS, token)
    clock.advance(max(0.0, claims.exp - clock()) + 0.05)
    assert codec.verify(TokenKind.ACCESS, token) == claims


@pytest.mark.parametrize("algorithm", ["EdDSA", "ES256"])
def test_a_token_of_a_removed_key_is_refused_after_rotation(
    settings: Settings, algorithm: str
) -> None:
    old, new = generate_jwk(algorithm, "old"), generate_jwk(algorithm, "new")
    codec = TokenCodec(replace(settings, access_jwks=ring(old, public_only(new))))
    old_token, _ = codec.issue(TokenKind.ACCESS, sub="u1", sid="s1")
    codec.verify(TokenKind.ACCESS, old_token)
    assert len(codec.cache) == 1

    codec.rotate_access_keys(ring(new, public_only(old)))  # sign with new, old still verifies
    assert codec.verify(TokenKind.ACCESS, old_token).sub == "u1"
    new_token, _ = codec.issue(TokenKind.ACCESS, sub="u2", sid="s2")
    assert codec.verify(TokenKind.ACCESS, new_token).sub == "u2"

    codec.rotate_access_keys(ring(new))  # the old key is gone
    with pytest.raises(InvalidToken):
        codec.verify(TokenKind.ACCESS, old_token)
    assert codec.verify(TokenKind.ACCESS, new_token).sub == "u2"


def test_a_key_replaced_under_the_same_kid_is_not_trusted_from_the_cache(
    settings: Settings,
) -> None:
    first, second = generate_jwk("EdDSA", "k1"), generate_jwk("EdDSA", "k1")
    codec = TokenCodec(replace(settings, access_jwks=ring(first)))
    token, _ = codec.issue(TokenKind.ACCESS, sub="u1", sid="s1")
    codec.verify(TokenKind.ACCESS, token)

    codec.rotate_access_keys(ring(second))

    with pytest.raises(InvalidToken):
        codec.verify(TokenKind.ACCESS, token)


def test_the_cache_is_bounded_and_keeps_the_recently_used(settings: Settings) -> None:
    codec = TokenCodec(settings, cache_size=3)
    tokens = [codec.issue(TokenKind.ACCESS, sub=f"u{n}", sid="s")[0] for n in range(5)]
    for token in tokens[:3]:
        codec.verify(TokenKind.ACCESS, token)
    codec.verify(TokenKind.ACCESS, tokens[0])  # used again: the most recent now
    for token in tokens[3:]:
        codec.verify(TokenKind.ACCESS, token)

    assert len(codec.cache) == 3
    assert codec.cache.get(tokens[0], 0) is not None
    assert codec.cache.get(tokens[1], 0) is None
    # every token still verifies, cached or not
    assert [codec.verify(TokenKind.ACCESS, t).sub for t in tokens] == [f"u{n}" for n in range(5)]


def test_refresh_tokens_and_bad_tokens_are_never_cached(settings: Settings) -> None:
    codec = TokenCodec(settings)
    refresh, _ = codec.issue(TokenKind.REFRESH, sub="u1", sid="s1")
    codec.verify(TokenKind.REFRESH, refresh)
    access, _ = codec.issue(TokenKind.ACCESS, sub="u1", sid="s1")
    with pytest.raises(InvalidToken):
        codec.verify(TokenKind.ACCESS, access[:-2] + "xx")
    with pytest.raises(InvalidToken):
        codec.verify(TokenKind.ACCESS, refresh)
    assert len(codec.cache) == 0
    codec.verify(TokenKind.ACCESS, access)
    with pytest.raises(InvalidToken):  # cached as an access token, still not a refresh token
        codec.verify(TokenKind.REFRESH, access)


async def test_a_cached_token_still_needs_its_session(
    make_gate: GateFactory, make_client: ClientFactory
) -> None:
    gate = await make_gate()
    client = make_client(gate)
    account = await register_and_login(client)
    client.cookies.clear()
    bearer = {"Authorization": f"Bearer {account.access_token}"}
    assert (await client.get("/api/profile", headers=bearer)).status_code == 200
    assert gate.service.tokens.cache.get(account.access_token, 0) is not None

    assert (await client.post("/auth/logout", headers=bearer)).status_code == 200

    refused = await client.get("/api/profile", headers=bearer)
    assert refused.status_code == 401
    assert gate.service.tokens.cache.get(account.access_token, 0) is not None  # still cached
