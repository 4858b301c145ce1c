"""The auth service: register, login, refresh, authenticate, logout. No HTTP in here."""

from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import dataclass
from typing import NoReturn

from authgate.config import Settings
from authgate.errors import (
    AuthgateError,
    FieldError,
    InvalidCredentials,
    NotAuthenticated,
    NotFound,
    SessionRevoked,
    TooManyRequests,
    ValidationError,
)
from authgate.events import (
    LOGIN_FAILED,
    LOGIN_SUCCEEDED,
    LOGIN_THROTTLED,
    LOGOUT,
    PASSWORD_CHANGED,
    REFRESH_REUSE_DETECTED,
    SESSIONS_REVOKED,
    USER_DEACTIVATED,
    USER_DELETED,
    SecurityEvents,
)
from authgate.observer import REFRESH_INVALID, Observer, Observers
from authgate.passwords import PasswordHasher
from authgate.sessions.protocol import ClientInfo, RotationOutcome, SessionInfo, SessionStore
from authgate.throttle import LoginThrottle, account_key_for
from authgate.tokens import TokenClaims, TokenCodec, TokenKind, new_token_id
from authgate.users.protocol import NewUser, ProfileChanges, User, UserStore
from authgate.validation import MAX_LOGIN, Credentials, ProfileUpdate, Registration

logger = logging.getLogger("authgate")


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


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated request: the user and the verified access token's claims."""

    user: User
    claims: TokenClaims

    @property
    def session_id(self) -> str:
        return self.claims.sid


def _without_hash(user: User) -> User:
    return dataclasses.replace(user, password_hash="")


class AuthService:
    """Every auth operation, over a ``UserStore``, a ``SessionStore`` and a hasher."""

    def __init__(
        self,
        settings: Settings,
        *,
        users: UserStore,
        sessions: SessionStore,
        hasher: PasswordHasher,
        tokens: TokenCodec,
        throttle: LoginThrottle | None = None,
        events: SecurityEvents | None = None,
        observer: Observer | None = None,
    ) -> None:
        self.settings = settings
        self.users = users
        self.sessions = sessions
        self.hasher = hasher
        self.tokens = tokens
        self.throttle = throttle
        self.events = events if events is not None else SecurityEvents()
        self.observer = observer if observer is not None else Observers()

    async def register(self, registration: Registration) -> User:
        """Create a user; the store's unique constraints decide a race (``Conflict``)."""
        password_hash = await self.hasher.hash(registration.password)
        user = await self.users.create(
            NewUser(
                username=registration.username,
                email=registration.email,
                full_name=registration.full_name,
                password_hash=password_hash,
                avatar_url=registration.avatar_url,
            )
        )
        logger.info("user registered", extra={"user_id": user.id})
        return _without_hash(user)

    async def login(self, credentials: Credentials, client: ClientInfo) -> LoginResult:
        """Check the password and open a new session.

        Unknown users are verified against a dummy hash, so both failures cost the same
        and answer the same ``InvalidCredentials``. Each check is counted per account and
        per client IP before it runs; once a limit is full every attempt, even a right
        one, gets ``TooManyRequests`` until the window ends.
        """
        user = None
        # no account has such a login, and PostgreSQL refuses NUL in text: an unknown user
        if len(credentials.login) <= MAX_LOGIN and "\x00" not in credentials.login:
            user = await self.users.get_by_login(credentials.login)
        account = account_key_for(user.id if user else None, credentials.login)
        await self._reserve_check(account, client, user.id if user else None)
        if user is None:
            await self.hasher.dummy_verify(credentials.password)
            await self._login_failed(client, None)
        verified, new_hash = await self.hasher.verify_and_update(
            credentials.password, user.password_hash
        )
        if not verified or not user.is_active:
            await self._login_failed(client, user.id)
        await self._check_succeeded(account, client)
        if new_hash is not None:
            await self.users.set_password_hash(user.id, new_hash)
        tokens = await self._open_session(user.id, client)
        await self.events.emit(
            LOGIN_SUCCEEDED, user_id=user.id, session_id=tokens.access_claims.sid, ip=client.ip
        )
        return LoginResult(_without_hash(user), tokens)

    async def _reserve_check(self, account: str, client: ClientInfo, user_id: str | None) -> None:
        """Reserve one password check against the account's and the client's limits before
        it runs, so parallel guesses cannot outrun the count.

        Raises:
            TooManyRequests: a limit is full; no password is checked.
        """
        if self.throttle is None:
            return
        wait = await self.throttle.reserve(account, client.ip)
        if wait > 0:
            await self.events.emit(LOGIN_THROTTLED, user_id=user_id, ip=client.ip, retry_after=wait)
            raise TooManyRequests(wait)

    async def _check_succeeded(self, account: str, client: ClientInfo) -> None:
        if self.throttle is not None:
            await self.throttle.succeeded(account, client.ip)

    async def _login_failed(
        self,
        client: ClientInfo,
        user_id: str | None,
        error: AuthgateError | None = None,
        **detail: str,
    ) -> NoReturn:
        """Report a wrong password and raise; its reserved check stays counted as the failure."""
        await self.events.emit(LOGIN_FAILED, user_id=user_id, ip=client.ip, **detail)
        raise error if error is not None else InvalidCredentials()

    async def _open_session(self, user_id: str, client: ClientInfo) -> TokenPair:
        sid = new_token_id()
        refresh = self.tokens.new_claims(TokenKind.REFRESH, sub=user_id, sid=sid)
        await self.sessions.create(user_id, sid, refresh.jti, refresh.iat, refresh.exp, client)
        return self._pair(refresh)

    def _pair(self, refresh: TokenClaims) -> TokenPair:
        access_token, access = self.tokens.issue(TokenKind.ACCESS, sub=refresh.sub, sid=refresh.sid)
        return TokenPair(
            access_token=access_token,
            refresh_token=self.tokens.encode(TokenKind.REFRESH, refresh),
            access_claims=access,
            refresh_claims=refresh,
        )

    async def refresh(self, refresh_token: str | None, client: ClientInfo) -> TokenPair:
        """Rotate the session's refresh token (see the README for the state machine).

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
        user = await self._current_user(presented.sub, cached=None)
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

    async def _current_user(self, user_id: str, *, cached: dict[str, object] | None) -> User | None:
        if cached is not None:
            try:
                return User.from_cache(cached)
            except (KeyError, ValueError, TypeError):
                pass  # an unreadable cache entry is a miss
        user = await self.users.get_by_id(user_id)
        if user is None:
            return None
        user = _without_hash(user)
        await self.sessions.cache_user(user_id, user.to_cache(), self.settings.user_cache_seconds)
        return user

    async def logout(self, principal: Principal, client: ClientInfo | None = None) -> None:
        """Delete the caller's session: its tokens stop working on every instance at once."""
        await self.sessions.revoke(principal.user.id, principal.session_id)
        await self.events.emit(
            LOGOUT,
            user_id=principal.user.id,
            session_id=principal.session_id,
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
        if not await self.sessions.revoke(claims.sub, claims.sid):
            raise SessionRevoked()
        await self.events.emit(
            LOGOUT, user_id=claims.sub, session_id=claims.sid, ip=client.ip if client else None
        )

    async def logout_all(self, principal: Principal, client: ClientInfo | None = None) -> int:
        """Delete every session of the caller; how many were deleted."""
        revoked = await self.sessions.revoke_all(principal.user.id)
        await self.events.emit(
            SESSIONS_REVOKED,
            user_id=principal.user.id,
            session_id=principal.session_id,
            ip=client.ip if client else None,
            reason="logout-all",
            revoked=revoked,
        )
        return revoked

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
        if (
            not session_id
            or len(session_id) > 64
            or not await self.sessions.revoke(principal.user.id, session_id)
        ):
            raise NotFound("No such session")
        await self.events.emit(
            SESSIONS_REVOKED,
            user_id=principal.user.id,
            session_id=session_id,
            ip=client.ip if client else None,
            reason="revoked-by-user",
            revoked=1,
        )

    async def change_password(
        self, principal: Principal, current_password: str, new_password: str, client: ClientInfo
    ) -> int:
        """Replace the caller's password; every other session is revoked, this one kept.

        A wrong current password counts as a failed login (so a stolen access token cannot
        be used to guess the password) and answers ``ValidationError`` on
        ``currentPassword``. Returns how many other sessions were revoked.
        """
        user_id, sid = principal.user.id, principal.session_id
        account = account_key_for(user_id, principal.user.username)
        await self._reserve_check(account, client, user_id)
        stored = await self.users.get_by_id(user_id)
        if stored is None or not stored.is_active:
            raise SessionRevoked()
        verified, _ = await self.hasher.verify_and_update(current_password, stored.password_hash)
        if not verified:
            wrong = ValidationError(
                "Current password is incorrect",
                errors=[FieldError("currentPassword", "is incorrect")],
            )
            await self._login_failed(client, user_id, wrong, via="change-password")
        await self._check_succeeded(account, client)
        new_hash = await self.hasher.hash(new_password)
        # All or nothing for the other sessions: they end before the new password exists
        # (if Redis fails here, nothing has changed), and once more after it is stored, for
        # a login with the old password that raced in between.
        revoked = await self.sessions.revoke_all(user_id, keep_sid=sid)
        await self.users.set_password_hash(user_id, new_hash)
        revoked += await self.sessions.revoke_all(user_id, keep_sid=sid)
        await self.sessions.drop_cached_user(user_id)
        await self.events.emit(
            PASSWORD_CHANGED, user_id=user_id, session_id=sid, ip=client.ip, revoked=revoked
        )
        return revoked

    async def update_profile(self, principal: Principal, update: ProfileUpdate) -> User:
        """Change the caller's full name and/or avatar; every instance sees it at once."""
        changes = ProfileChanges(update.full_name, update.avatar_url, update.clear_avatar)
        user = await self.users.update_profile(principal.user.id, changes)
        await self.sessions.drop_cached_user(principal.user.id)
        if user is None:
            raise NotFound("User not found")
        return _without_hash(user)

    async def set_active(self, user_id: str, active: bool) -> bool:
        """Activate or deactivate a user; deactivation revokes every session at once."""
        exists = await self.users.set_active(user_id, active)
        if not active:
            revoked = await self.sessions.revoke_all(user_id)
            await self.events.emit(USER_DEACTIVATED, user_id=user_id, revoked=revoked)
        await self.sessions.drop_cached_user(user_id)
        return exists

    async def delete_user(self, user_id: str) -> bool:
        """Delete a user and revoke every session of theirs."""
        existed = await self.users.delete(user_id)
        revoked = await self.sessions.revoke_all(user_id)
        await self.sessions.drop_cached_user(user_id)
        await self.events.emit(USER_DELETED, user_id=user_id, revoked=revoked)
        return existed

    async def health(self) -> dict[str, str]:
        """``{"redis": "ok" | "unavailable", "database": ...}``."""
        status: dict[str, str] = {}
        for name, check in (("redis", self.sessions.ping), ("database", self.users.ping)):
            try:
                await check()
                status[name] = "ok"
            except Exception:  # a health check reports any failure, it never raises
                logger.warning("health check failed: %s", name, exc_info=True)
                status[name] = "unavailable"
        return status
