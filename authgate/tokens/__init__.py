"""Tokens: the claims (``claims``), signing and strict verification (``codec``), and the
cache of verified access tokens (``cache``). Keys and JWKS are ``authgate.keys``."""

from authgate._compat import moved_names
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

# what the module authgate.tokens defined before it became this package; assigned, not
# def'd, so type checkers still flag any other name as missing
__getattr__ = moved_names(
    __name__,
    {
        "ALGORITHM": "authgate.tokens.codec",
        "MAX_TOKEN_LENGTH": "authgate.tokens.codec",
        "REQUIRED_CLAIMS": "authgate.tokens.codec",
        "RingKeys": "authgate.tokens.codec",
        "SecretKey": "authgate.tokens.codec",
        "TokenKey": "authgate.tokens.codec",
        "access_key_for": "authgate.tokens.codec",
        "SESSION_ID": "authgate.tokens.claims",
    },
)
