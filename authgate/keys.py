"""Asymmetric access-token keys: a key ring of JWKs with ``kid``s, and its public JWKS.

The ring is a JWKS document (``{"keys": [...]}``). Keys with a private part can sign; the
signing key is ``signing_kid`` or the first private key. Every key verifies, so a signing
key is rotated without logging anyone out: add the new private key first and keep the
old one (its public part is enough) until the last token it signed has expired.

``python -m authgate.keys EdDSA my-kid`` prints a new private JWK to put in the ring.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from jwt.algorithms import ECAlgorithm, OKPAlgorithm

from authgate.errors import ConfigError

ALGORITHMS = {"EdDSA": ("OKP", "Ed25519"), "ES256": ("EC", "P-256")}


@dataclass(frozen=True, slots=True)
class RingKey:
    """One key of the ring: its id, algorithm and key object (private if it can sign)."""

    kid: str
    algorithm: str
    key: Any
    can_sign: bool

    def public_jwk(self) -> dict[str, Any]:
        public = self.key.public_key() if self.can_sign else self.key
        exporter = OKPAlgorithm if self.algorithm == "EdDSA" else ECAlgorithm
        jwk: dict[str, Any] = json.loads(exporter.to_jwk(public))
        jwk.update({"kid": self.kid, "alg": self.algorithm, "use": "sig"})
        return jwk


class KeyRing:
    """Signs with one key, verifies with any key of the ring, looked up by ``kid``."""

    def __init__(self, keys: list[RingKey], signing_kid: str | None = None) -> None:
        self.keys = {key.kid: key for key in keys}
        signers = [key for key in keys if key.can_sign]
        if signing_kid:
            chosen = self.keys.get(signing_kid)
            if chosen is None or not chosen.can_sign:
                raise ConfigError(
                    "AUTHGATE_ACCESS_SIGNING_KID must name a private key of the access key ring"
                )
            self.signer = chosen
        elif signers:
            self.signer = signers[0]
        else:
            raise ConfigError("AUTHGATE_ACCESS_JWKS must hold at least one private key")

    @classmethod
    def from_jwks(cls, document: str, signing_kid: str | None = None) -> KeyRing:
        """Parse a JWKS JSON document of EdDSA (Ed25519) and ES256 (P-256) keys.

        Raises:
            ConfigError: naming ``AUTHGATE_ACCESS_JWKS`` when a key is unusable.
        """
        try:
            data = json.loads(document)
            entries = data["keys"]
            keys = [_ring_key(entry) for entry in entries]
        except ConfigError:
            raise
        except (ValueError, KeyError, TypeError, jwt.PyJWTError) as exc:
            raise ConfigError(f"AUTHGATE_ACCESS_JWKS is not a usable JWKS: {exc}") from None
        if len({key.kid for key in keys}) != len(keys):
            raise ConfigError("AUTHGATE_ACCESS_JWKS has two keys with the same kid")
        return cls(keys, signing_kid)

    def verifier(self, kid: object) -> RingKey | None:
        """The key with ``kid``, or ``None`` for an unknown or missing one."""
        return self.keys.get(kid) if isinstance(kid, str) else None

    def jwks(self) -> dict[str, Any]:
        """The public JWKS document (never a private part)."""
        return {"keys": [key.public_jwk() for key in self.keys.values()]}


def _ring_key(entry: dict[str, Any]) -> RingKey:
    kid, algorithm = entry.get("kid"), entry.get("alg")
    if not isinstance(kid, str) or not kid:
        raise ConfigError("AUTHGATE_ACCESS_JWKS: every key needs a kid")
    if algorithm not in ALGORITHMS:
        raise ConfigError(f"AUTHGATE_ACCESS_JWKS: key {kid!r} must have alg EdDSA or ES256")
    kty, crv = ALGORITHMS[algorithm]
    if entry.get("kty") != kty or entry.get("crv") != crv:
        raise ConfigError(f"AUTHGATE_ACCESS_JWKS: key {kid!r} must be {kty} {crv} for {algorithm}")
    key = jwt.PyJWK(entry).key
    can_sign = isinstance(key, ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey)
    return RingKey(kid, algorithm, key, can_sign)


def generate_jwk(algorithm: str, kid: str) -> dict[str, Any]:
    """A new private JWK for ``algorithm`` (``EdDSA`` or ``ES256``)."""
    if algorithm == "EdDSA":
        jwk: dict[str, Any] = json.loads(OKPAlgorithm.to_jwk(ed25519.Ed25519PrivateKey.generate()))
    elif algorithm == "ES256":
        jwk = json.loads(ECAlgorithm.to_jwk(ec.generate_private_key(ec.SECP256R1())))
    else:
        raise ValueError("algorithm must be EdDSA or ES256")
    jwk.update({"kid": kid, "alg": algorithm, "use": "sig"})
    return jwk


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in ALGORITHMS:
        print("usage: python -m authgate.keys EdDSA|ES256 KID", file=sys.stderr)
        return 2
    print(json.dumps(generate_jwk(argv[0], argv[1])))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
