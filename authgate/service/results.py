"""What the auth service hands back: tokens, logins, sessions and the authenticated caller."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import UTC, datetime

from authgate.sessions.devices import describe_device
from authgate.sessions.protocol import SessionInfo
from authgate.tokens import TokenClaims
from authgate.users.protocol import User, utc_iso


@dataclass(frozen=True, slots=True)
class TokenPair:
    """A signed access token and refresh token, with their claims."""

    access_token: str
    refresh_token: str
    access_claims: TokenClaims
    refresh_claims: TokenClaims


@dataclass(frozen=True, slots=True)
class LoginResult:
    """A successful login: the user and the new session's tokens."""

    user: User
    tokens: TokenPair


@dataclass(frozen=True, slots=True)
class SessionView:
    """A session in the caller's list: where and when, and whether it is this one."""

    info: SessionInfo
    current: bool

    def public(self) -> dict[str, object]:
        """The session as the API (and the CLI) show it: camelCase, times in ISO 8601."""
        info = self.info
        return {
            "id": info.id,
            "createdAt": utc_iso(datetime.fromtimestamp(info.created_at_ms / 1000, UTC)),
            "lastUsedAt": utc_iso(datetime.fromtimestamp(info.last_used_at_ms / 1000, UTC)),
            "ip": info.ip,
            "userAgent": info.user_agent,
            "device": info.device or describe_device(info.user_agent),
            "current": self.current,
        }


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated request: the user and the verified access token's claims."""

    user: User
    claims: TokenClaims

    @property
    def session_id(self) -> str:
        return self.claims.sid


def without_hash(user: User) -> User:
    """The user as it may leave the service: no password hash."""
    return dataclasses.replace(user, password_hash="")
