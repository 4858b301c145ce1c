"""Sessions: refresh rotation, authenticating a request, logout and the caller's session list."""

from __future__ import annotations

import dataclasses
import time

from authgate.errors import NotAuthenticated, NotFound, SessionRevoked
from authgate.observability.events import LOGOUT, REFRESH_REUSE_DETECTED, SESSIONS_REVOKED
from authgate.observability.observer import REFRESH_INVALID
from authgate.service.base import ServiceBase
from authgate.service.results import Principal, SessionView, TokenPair
from authgate.sessions.protocol import ClientInfo, RotationOutcome
from authgate.tokens import TokenKind, is_session_id

LOGOUT_REASON = "logout"


class SessionFlows(ServiceBase):
    """Everything that starts from a token: rotate it, check it, end its session."""

    async def refresh(self, refresh_token: str | None, client: ClientInfo) -> TokenPair:
        """Rotate the session's refresh token (the state machine: ``docs/sessions.md``).

        Raises:
            NotAuthenticated: missing, invalid, expired, revoked or reused token.
        """
        if not refresh_token:
            self.observer.refresh(REFRESH_INVALID)
            raise NotAuthenticated("Refresh token is missing")
        try:
            presented = self.tokens.verify(TokenKind.REFRESH, refresh_token)
        except NotAuthenticated:
            self.observer.refresh(REFRESH_INVALID)
            raise
        fresh = self.tokens.new_claims(TokenKind.REFRESH, sub=presented.sub, sid=presented.sid)
        rotation = await self.sessions.rotate(
            presented.sub, presented.sid, presented.jti, fresh.jti, fresh.iat, fresh.exp, client
        )
        self.observer.refresh(rotation.outcome.value)
        if rotation.outcome is RotationOutcome.REUSED:
            await self.events.emit(
                REFRESH_REUSE_DETECTED,
                user_id=presented.sub,
                session_id=presented.sid,
                ip=client.ip,
            )
            raise SessionRevoked("Refresh token reuse detected; the session has been revoked")
        if rotation.outcome is RotationOutcome.MISSING:
            raise SessionRevoked()
        # the cached user came back with the rotation: no database while it is cached
        cached = rotation.cached_user if self.settings.user_cache_seconds > 0 else None
        user = await self._current_user(presented.sub, cached=cached)
        if user is None or not user.is_active:
            await self.sessions.revoke(presented.sub, presented.sid)
            raise SessionRevoked()
        current = dataclasses.replace(fresh, jti=rotation.jti, iat=rotation.iat, exp=rotation.exp)
        return self._pair(current)

    async def authenticate(self, access_token: str) -> Principal:
        """Verify an access token, check its session is alive and load its user.

        Costs one Redis round trip, plus the database on a user-cache miss.

        Raises:
            NotAuthenticated: bad token, session gone, user gone or inactive.
            ServiceUnavailable: Redis or the database cannot be reached.
        """
        claims = self.tokens.verify(TokenKind.ACCESS, access_token)
        started = time.perf_counter()
        lookup = await self.sessions.lookup(claims.sub, claims.sid)
        self.observer.session_checked(time.perf_counter() - started)
        if not lookup.alive:
            raise SessionRevoked()
        # with the cache off, an entry left by an instance that had it on is not trusted
        cached = lookup.cached_user if self.settings.user_cache_seconds > 0 else None
        user = await self._current_user(claims.sub, cached=cached)
        if user is None or not user.is_active:
            raise SessionRevoked("Account is no longer active")
        return Principal(user, claims)

    async def revoke(
        self,
        user_id: str,
        session_id: str,
        *,
        reason: str,
        ip: str | None = None,
    ) -> bool:
        """End one session of the user: its tokens stop working on every instance at once.
        The one path of every logout and revocation; ``reason`` names it in the event
        (``"logout"`` emits ``LOGOUT``, anything else ``SESSIONS_REVOKED``).

        Returns whether it was a live session of the user (an id that is not a session
        id at all is answered ``False`` without asking the store).
        """
        if not is_session_id(session_id) or not await self.sessions.revoke(user_id, session_id):
            return False
        if reason == LOGOUT_REASON:
            await self.events.emit(LOGOUT, user_id=user_id, session_id=session_id, ip=ip)
        else:
            await self.events.emit(
                SESSIONS_REVOKED,
                user_id=user_id,
                session_id=session_id,
                ip=ip,
                reason=reason,
                revoked=1,
            )
        return True

    async def revoke_all(
        self,
        user_id: str,
        *,
        reason: str,
        session_id: str | None = None,
        ip: str | None = None,
    ) -> int:
        """End every session of the user (not a credential change: one-time tokens and the
        credential epoch stay); how many there were. ``session_id``: the session that
        asked, for the event."""
        revoked = await self.sessions.revoke_all(user_id)
        await self.events.emit(
            SESSIONS_REVOKED,
            user_id=user_id,
            session_id=session_id,
            ip=ip,
            reason=reason,
            revoked=revoked,
        )
        return revoked

    async def logout(self, principal: Principal, client: ClientInfo | None = None) -> None:
        """Delete the caller's session: its tokens stop working on every instance at once."""
        await self.revoke(
            principal.user.id,
            principal.session_id,
            reason=LOGOUT_REASON,
            ip=client.ip if client else None,
        )

    async def logout_with_refresh_token(
        self, refresh_token: str | None, client: ClientInfo | None = None
    ) -> None:
        """End the session a refresh token names: logout for a client whose access token has
        expired but who still holds the refresh token.

        Raises:
            NotAuthenticated: missing or invalid token, or its session is already gone.
        """
        if not refresh_token:
            raise NotAuthenticated()
        claims = self.tokens.verify(TokenKind.REFRESH, refresh_token)
        if not await self.revoke(
            claims.sub, claims.sid, reason=LOGOUT_REASON, ip=client.ip if client else None
        ):
            raise SessionRevoked()

    async def logout_all(self, principal: Principal, client: ClientInfo | None = None) -> int:
        """Delete every session of the caller; how many were deleted."""
        return await self.revoke_all(
            principal.user.id,
            reason="logout-all",
            session_id=principal.session_id,
            ip=client.ip if client else None,
        )

    async def list_sessions(self, principal: Principal) -> list[SessionView]:
        """The caller's live sessions, oldest first, the current one marked."""
        sessions = await self.sessions.list(principal.user.id)
        return [SessionView(info, info.id == principal.session_id) for info in sessions]

    async def revoke_session(
        self, principal: Principal, session_id: str, client: ClientInfo | None = None
    ) -> None:
        """Revoke one of the caller's sessions.

        Raises:
            NotFound: ``session_id`` is not a live session of the caller.
        """
        if not await self.revoke(
            principal.user.id,
            session_id,
            reason="revoked-by-user",
            ip=client.ip if client else None,
        ):
            raise NotFound("No such session")
