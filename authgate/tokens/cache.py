"""A bounded cache of verified access tokens, so a token's signature is checked once.

Verifying a JWT (PyJWT's decode, the HMAC or the signature) is most of a request's CPU
besides Redis. A token that verified once is kept, keyed by its exact string, with the
claims it carried and the key that verified it. A hit is refused once ``exp`` has passed
(with the same leeway as the full check), and is not trusted when the key that verified it
is no longer the one the codec would use for it (a key removed or replaced by rotation):
the token then goes through the full verification again. The cache only replaces the
signature check; every request still checks its session in Redis.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from authgate.tokens.claims import TokenClaims

DEFAULT_MAX_TOKENS = 10_000

Entry = tuple["TokenClaims", str | None, object]


class VerifiedTokenCache:
    """Least recently used verified tokens, at most ``max_tokens`` of them.

    Args:
        max_tokens: the bound (0 turns the cache off). About 0.5 KB per token.
        clock: seconds since the epoch; PyJWT's clock, so both agree on ``exp``.
    """

    def __init__(
        self, max_tokens: int = DEFAULT_MAX_TOKENS, *, clock: Callable[[], float] = time.time
    ) -> None:
        self.max_tokens = max_tokens
        self._clock = clock
        # token -> (claims, kid, the key object that verified it)
        self._entries: OrderedDict[str, Entry] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, token: str, leeway: int) -> Entry | None:
        """The claims, ``kid`` and verifying key of ``token``, if cached and not expired."""
        entry = self._entries.get(token)
        if entry is None:
            return None
        if entry[0].exp <= self._clock() - leeway:
            del self._entries[token]
            return None
        self._entries.move_to_end(token)
        return entry

    def put(self, token: str, claims: TokenClaims, kid: str | None, key: object) -> None:
        """Remember that ``key`` (named ``kid``) verified ``token`` with ``claims``."""
        if self.max_tokens <= 0:
            return
        self._entries[token] = (claims, kid, key)
        self._entries.move_to_end(token)
        while len(self._entries) > self.max_tokens:
            self._entries.popitem(last=False)

    def drop(self, token: str) -> None:
        """Forget ``token``."""
        self._entries.pop(token, None)

    def clear(self) -> None:
        """Forget every token (keys rotated)."""
        self._entries.clear()
