"""The ``SessionStore`` protocol and the values it trades in."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any, NamedTuple, Protocol


@dataclass(frozen=True, slots=True)
class ClientInfo:
    """Where a request came from, recorded on the session."""

    ip: str = ""
    user_agent: str = ""


class RotationOutcome(Enum):
    """What a refresh did to its session."""

    ROTATED = "rotated"  # the current token: a new one was issued
    GRACE = "grace"  # the immediate predecessor inside the grace window: answered idempotently
    REUSED = "reused"  # any other token of the session: theft, the session is revoked
    MISSING = "missing"  # the session is gone (logged out, revoked, expired)


@dataclass(frozen=True, slots=True)
class Rotation:
    """The result of a refresh: the outcome, the session's current refresh token claims,
    and the cached user if any (read-only, as ``SessionLookup.cached_user``)."""

    outcome: RotationOutcome
    jti: str = ""
    iat: int = 0
    exp: int = 0
    cached_user: dict[str, Any] | None = None


class SessionLookup(NamedTuple):
    """The hot-path answer: whether the session is alive, and the cached user if any
    (read-only: a store may hand the same decoded entry to every request). A named tuple:
    it is made on every authenticated request, and costs less than a frozen dataclass."""

    alive: bool
    cached_user: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class SessionInfo:
    """A live session as the user sees it in their session list."""

    id: str
    created_at_ms: int
    last_used_at_ms: int
    ip: str
    user_agent: str  # what is known of the agent: the device, or an older session's raw agent
    device: str = ""  # "Firefox 133 on Windows"; empty when the store does not know it


class SessionStore(Protocol):
    """Where sessions (families of refresh tokens) and the shared user cache live.

    Every change is atomic; implementations raise ``ServiceUnavailable`` when the backend
    cannot be reached.
    """

    async def create(
        self,
        user_id: str,
        sid: str,
        jti: str,
        iat: int,
        exp: int,
        client: ClientInfo,
        *,
        epoch: int = 0,
    ) -> bool:
        """Start a session whose current refresh token is ``jti``, in the user's credential
        ``epoch`` as read with the password (or factor) just checked.

        Returns ``False`` (and opens nothing) when that epoch is no longer current: a
        credential change raced the login.
        """
        ...

    async def rotate(
        self,
        user_id: str,
        sid: str,
        presented_jti: str,
        new_jti: str,
        new_iat: int,
        new_exp: int,
        client: ClientInfo,
    ) -> Rotation:
        """Refresh: rotate, answer inside the grace window, or revoke on reuse."""
        ...

    async def lookup(self, user_id: str, sid: str) -> SessionLookup:
        """Whether the session is alive, with the cached user, in one round trip."""
        ...

    async def revoke(self, user_id: str, sid: str) -> bool:
        """Delete one session; whether it existed."""
        ...

    async def revoke_all(self, user_id: str, *, keep_sid: str | None = None) -> int:
        """Delete all the user's sessions but ``keep_sid``; how many were deleted."""
        ...

    async def advance_epoch(
        self, user_id: str, epoch: int, *, keep_sid: str | None = None, remember_seconds: int
    ) -> int:
        """The user's credentials changed and their epoch is now ``epoch``: in one atomic
        step, end every session of an older epoch but ``keep_sid`` (moved to ``epoch``),
        drop the user's one-time tokens and cached entry, and remember ``epoch`` for at
        least ``remember_seconds``. Returns how many live sessions ended."""
        ...

    async def list(self, user_id: str) -> list[SessionInfo]:
        """The user's live sessions."""
        ...

    async def cache_user(self, user_id: str, data: dict[str, Any], ttl_seconds: int) -> None:
        """Keep ``data`` as the cached user for ``ttl_seconds``."""
        ...

    async def drop_cached_user(self, user_id: str) -> None:
        """Forget the cached user so every instance reloads it."""
        ...

    async def ping(self) -> None:
        """Raise ``ServiceUnavailable`` if the store cannot be reached."""
        ...
