"""Tokens: the claims (``claims``), signing and strict verification (``codec``), and the
cache of verified access tokens (``cache``). Keys and JWKS are ``authgate.keys``."""

from authgate.tokens.claims import (
    TokenClaims,
    TokenKind,
    is_session_id,
    new_session_id,
    new_token_id,
)
from authgate.tokens.codec import TokenCodec

__all__ = [
    "TokenClaims",
    "TokenCodec",
    "TokenKind",
    "is_session_id",
    "new_session_id",
    "new_token_id",
]
