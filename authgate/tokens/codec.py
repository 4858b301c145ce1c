"""Access and refresh JWTs: claims, signing and strict verification.

An access token carries the header ``typ: at+jwt`` and is signed with the access key;
a refresh token carries ``typ: rt+jwt`` and is signed with the refresh key. Verification
pins the algorithm, requires every claim, checks ``iss``/``aud``/``typ`` and allows a small
leeway, so neither kind is ever accepted as the other.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Protocol

import jwt

from authgate.config import Settings
from authgate.errors import InvalidToken
from authgate.keys import KeyRing
from authgate.tokens.cache import DEFAULT_MAX_TOKENS, VerifiedTokenCache
from authgate.tokens.claims import TokenClaims, TokenKind, new_token_id
from authgate.tokens.jwt_api import JWT

ALGORITHM = "HS256"
MAX_TOKEN_LENGTH = 4096
REQUIRED_CLAIMS = ("iss", "aud", "sub", "sid", "jti", "iat", "exp")


class TokenKey(Protocol):
    """How one kind of token is signed, and which key verifies a given token."""

    def sign(self, payload: dict[str, Any], typ: str) -> str:
        """The signed token (deterministic for HS256)."""
        ...

    def verification_key(self, token: str) -> tuple[Any, str, str | None]:
        """``(key, algorithm, kid)`` to verify ``token`` with; raises ``InvalidToken``."""
        ...

    def current(self, kid: str | None) -> object | None:
        """What verifies tokens with ``kid`` now (compared by identity), or ``None``."""
        ...


class SecretKey:
    """HS256 with one secret; its tokens carry no ``kid``."""

    def __init__(self, secret: str) -> None:
        self._secret = secret

    def sign(self, payload: dict[str, Any], typ: str) -> str:
        return JWT.encode(payload, self._secret, algorithm=ALGORITHM, headers={"typ": typ})

    def verification_key(self, token: str) -> tuple[Any, str, str | None]:
        return self._secret, ALGORITHM, None

    def current(self, kid: str | None) -> object | None:
        return self._secret if kid is None else None


class RingKeys:
    """EdDSA / ES256 from a ``KeyRing``: sign with its signing key, verify by ``kid``."""

    def __init__(self, ring: KeyRing) -> None:
        self.ring = ring

    def sign(self, payload: dict[str, Any], typ: str) -> str:
        signer = self.ring.signer
        return JWT.encode(
            payload, signer.key, algorithm=signer.algorithm, headers={"typ": typ, "kid": signer.kid}
        )

    def verification_key(self, token: str) -> tuple[Any, str, str | None]:
        key = self.ring.verifier(jwt.get_unverified_header(token).get("kid"))
        if key is None:
            raise InvalidToken()
        public = key.key.public_key() if key.can_sign else key.key
        return public, key.algorithm, key.kid

    def current(self, kid: str | None) -> object | None:
        return self.ring.verifier(kid)


def access_key_for(settings: Settings) -> TokenKey:
    """The access-token key of ``settings``: the key ring if configured, else the secret."""
    if settings.access_jwks:
        return RingKeys(KeyRing.from_jwks(settings.access_jwks, settings.access_signing_kid))
    return SecretKey(settings.access_token_secret)


class TokenCodec:
    """Signs and verifies access and refresh tokens with the configured keys.

    Verified access tokens are kept in a bounded ``VerifiedTokenCache`` (``cache_size``
    tokens, 0 turns it off): a cached token skips the signature check, never ``exp`` or a
    key rotation, and never the session check that follows.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Callable[[], float] = time.time,
        cache_size: int = DEFAULT_MAX_TOKENS,
    ) -> None:
        self._settings = settings
        self._clock = clock
        self.cache = VerifiedTokenCache(cache_size, clock=clock)
        self._keys: dict[TokenKind, TokenKey] = {
            TokenKind.ACCESS: access_key_for(settings),
            TokenKind.REFRESH: SecretKey(settings.refresh_token_secret),
        }
        self._lifetimes = {
            TokenKind.ACCESS: settings.access_token_expiry,
            TokenKind.REFRESH: settings.refresh_token_expiry,
        }

    def jwks(self) -> dict[str, Any] | None:
        """The public JWKS of the access keys, or ``None`` with an HS256 secret."""
        key = self._keys[TokenKind.ACCESS]
        return key.ring.jwks() if isinstance(key, RingKeys) else None

    def rotate_access_keys(self, jwks: str, signing_kid: str | None = None) -> None:
        """Replace the access key ring in a running process: tokens of a key that is no
        longer in ``jwks`` are refused from now on, cached or not."""
        # cached tokens are checked against the new ring at their next use (by identity)
        self._keys[TokenKind.ACCESS] = RingKeys(KeyRing.from_jwks(jwks, signing_kid))

    def new_claims(self, kind: TokenKind, *, sub: str, sid: str) -> TokenClaims:
        """Fresh claims of ``kind`` for user ``sub`` in session ``sid``."""
        now = int(self._clock())
        return TokenClaims(
            iss=self._settings.issuer,
            aud=self._settings.audience,
            sub=sub,
            sid=sid,
            jti=new_token_id(),
            iat=now,
            exp=now + self._lifetimes[kind],
        )

    def encode(self, kind: TokenKind, claims: TokenClaims) -> str:
        """Sign ``claims`` as a token of ``kind``; the same claims give the same token."""
        return self._keys[kind].sign(claims.payload(), kind.value)

    def issue(self, kind: TokenKind, *, sub: str, sid: str) -> tuple[str, TokenClaims]:
        """New claims of ``kind``, signed."""
        claims = self.new_claims(kind, sub=sub, sid=sid)
        return self.encode(kind, claims), claims

    def verify(self, kind: TokenKind, token: str) -> TokenClaims:
        """Verify ``token`` as a token of ``kind`` and return its claims.

        Raises:
            InvalidToken: for anything short of a valid, unexpired token of ``kind``.
        """
        if not token or len(token) > MAX_TOKEN_LENGTH:
            raise InvalidToken()
        keys = self._keys[kind]
        cached = kind is TokenKind.ACCESS and self.cache.get(
            token, self._settings.token_leeway_seconds
        )
        if cached:
            claims, kid, verified_by = cached
            if keys.current(kid) is verified_by:
                return claims
            self.cache.drop(token)  # its key was rotated away: check it in full
        try:
            key, algorithm, kid = keys.verification_key(token)
            # the signature, the pinned alg and the claims are checked, then the header
            decoded = JWT.decode_complete(
                token,
                key,
                algorithms=[algorithm],
                audience=self._settings.audience,
                issuer=self._settings.issuer,
                leeway=self._settings.token_leeway_seconds,
                options={"require": list(REQUIRED_CLAIMS)},
            )
            header = decoded["header"]
            if header.get("typ") != kind.value or header.get("alg") != algorithm:
                raise InvalidToken()
            if header.get("kid") != kid:  # an HS256 token has none: any kid is unknown
                raise InvalidToken()
            claims = _claims_from(decoded["payload"])
        except (jwt.PyJWTError, ValueError, TypeError, UnicodeError) as exc:
            raise InvalidToken() from exc
        if kind is TokenKind.ACCESS:
            self.cache.put(token, claims, kid, keys.current(kid))
        return claims


def _claims_from(payload: dict[str, Any]) -> TokenClaims:
    values = {name: payload[name] for name in REQUIRED_CLAIMS}
    for name in ("iss", "aud", "sub", "sid", "jti"):
        if not isinstance(values[name], str) or not values[name]:
            raise InvalidToken()
    for name in ("iat", "exp"):
        if not isinstance(values[name], int) or isinstance(values[name], bool):
            raise InvalidToken()
    return TokenClaims(**values)
