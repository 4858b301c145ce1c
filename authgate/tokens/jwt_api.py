"""The PyJWT object authgate signs and verifies with: PyJWT's own, except that an HMAC
key is checked once, not on every call.

PyJWT checks an HMAC secret on every signature and verification (that it is not a PEM,
SSH or DER key, nor a JSON document), which costs more than the HMAC itself; a refresh
signs two tokens and verifies one. The secrets authgate uses are a handful, fixed at
start-up, so the result of that check is kept per secret (the same bytes are returned,
and a secret that fails it is refused every time, as before). Every other algorithm, and
every check of the token itself, is PyJWT's, untouched. Only this object is changed: other
users of PyJWT in the same process keep the library's defaults.
"""

from __future__ import annotations

from typing import Any

import jwt
from jwt.algorithms import HMACAlgorithm

HMAC_SHA256 = "HS256"
MAX_KEPT_KEYS = 16  # secrets whose check is kept; more (never seen in practice) are re-checked


class CheckedOnceHMAC(HMACAlgorithm):
    """HS256 whose key check runs once per secret."""

    def __init__(self) -> None:
        super().__init__(HMACAlgorithm.SHA256)
        self._prepared: dict[str | bytes, bytes] = {}

    def prepare_key(self, key: str | bytes) -> bytes:
        prepared = self._prepared.get(key)
        if prepared is None:
            prepared = super().prepare_key(key)  # raises for a key HMAC must not use
            if len(self._prepared) < MAX_KEPT_KEYS:
                self._prepared[key] = prepared
        return prepared


def _api() -> jwt.PyJWT:
    api = jwt.PyJWT()
    jws: Any = api._jws  # PyJWT's own signer of this object, not the module's shared one
    jws.unregister_algorithm(HMAC_SHA256)
    jws.register_algorithm(HMAC_SHA256, CheckedOnceHMAC())
    return api


JWT = _api()
"""``encode`` and ``decode_complete`` as PyJWT's module functions have them."""
