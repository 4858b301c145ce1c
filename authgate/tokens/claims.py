"""What a token says: its kind, its claims, and the random ids it carries."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from enum import Enum
from typing import Any


class TokenKind(Enum):
    """The two kinds of token, named by their ``typ`` header."""

    ACCESS = "at+jwt"
    REFRESH = "rt+jwt"


@dataclass(frozen=True, slots=True)
class TokenClaims:
    """The claims of an access or refresh token."""

    iss: str
    aud: str
    sub: str
    sid: str
    jti: str
    iat: int
    exp: int

    def payload(self) -> dict[str, Any]:
        # spelled out: dataclasses.asdict copies every value deeply, on every token signed
        return {
            "iss": self.iss,
            "aud": self.aud,
            "sub": self.sub,
            "sid": self.sid,
            "jti": self.jti,
            "iat": self.iat,
            "exp": self.exp,
        }


def new_token_id() -> str:
    """A random, URL-safe ``jti``: 72 bits, 12 characters (a session stores it, and the
    start of its predecessor). It only has to tell apart the tokens authgate signs for one
    session: a token cannot be forged by guessing it, since every token is signed."""
    return secrets.token_urlsafe(9)


SESSION_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


def is_session_id(value: str) -> bool:
    """Whether ``value`` is spelled like a session id (URL-safe base64, at most 64
    characters): anything else names no session, and is refused before any store call."""
    return SESSION_ID.fullmatch(value) is not None


def new_session_id() -> str:
    """A random, URL-safe session id: 48 bits, 8 characters. It only has to be unique among
    one user's sessions (it names their fields in the user's hash, twice, so it is short);
    a token cannot be forged by guessing it, and the store refuses a sid already taken.
    It never starts with ``-``, so a command line never takes it for an option."""
    while (sid := secrets.token_urlsafe(6)).startswith("-"):
        pass
    return sid
