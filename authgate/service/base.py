"""What every part of the auth service shares: its stores, hasher, codec and hooks."""

from __future__ import annotations

import logging
from typing import cast

from authgate.config import Settings
from authgate.limits.logins import LoginThrottle
from authgate.observability.events import SecurityEvents
from authgate.observability.observer import Observer, Observers
from authgate.passwords import PasswordHasher
from authgate.service.results import TokenPair, without_hash
from authgate.sessions.protocol import ClientInfo, SessionStore
from authgate.tokens import TokenClaims, TokenCodec, TokenKind, new_session_id
from authgate.users.invalidating import CacheDroppingUsers
from authgate.users.protocol import User, UserStore

logger = logging.getLogger("authgate")
USERS_FROM_CACHE = 1024


class ServiceBase:
    """The service's collaborators, and the steps more than one of its parts takes."""

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
        # every write drops the user's cache entry (see CacheDroppingUsers)
        self.users = cast(UserStore, CacheDroppingUsers(users, sessions.drop_cached_user))
        self.sessions = sessions
        self.hasher = hasher
        self.tokens = tokens
        self.throttle = throttle
        self.events = events if events is not None else SecurityEvents()
        self.observer = observer if observer is not None else Observers()
        # users built from cache entries, by the entry's identity (see _current_user)
        self._users_from_cache: dict[int, tuple[dict[str, object], User]] = {}

    async def _open_session(
        self, user_id: str, client: ClientInfo, *, epoch: int
    ) -> TokenPair | None:
        """A new session in the credential ``epoch`` read with the password just checked;
        ``None`` (nothing opened) when a credential change has moved the epoch on."""
        sid = new_session_id()
        refresh = self.tokens.new_claims(TokenKind.REFRESH, sub=user_id, sid=sid)
        if not await self.sessions.create(
            user_id, sid, refresh.jti, refresh.iat, refresh.exp, client, epoch=epoch
        ):
            return None
        return self._pair(refresh)

    def _pair(self, refresh: TokenClaims) -> TokenPair:
        access_token, access = self.tokens.issue(TokenKind.ACCESS, sub=refresh.sub, sid=refresh.sid)
        return TokenPair(
            access_token=access_token,
            refresh_token=self.tokens.encode(TokenKind.REFRESH, refresh),
            access_claims=access,
            refresh_claims=refresh,
        )

    async def _current_user(self, user_id: str, *, cached: dict[str, object] | None) -> User | None:
        if cached is not None:
            known = self._users_from_cache.get(id(cached))
            if known is not None and known[0] is cached:  # the store reuses decoded entries
                return known[1]
            try:
                from_cache = User.from_cache(cached)
            except (KeyError, ValueError, TypeError):
                pass  # an unreadable cache entry is a miss
            else:
                if len(self._users_from_cache) >= USERS_FROM_CACHE:
                    self._users_from_cache.clear()
                # the entry holds ``cached`` itself, so its id cannot be reused meanwhile
                self._users_from_cache[id(cached)] = (cached, from_cache)
                return from_cache
        stored = await self.users.get_by_id(user_id)
        if stored is None:
            return None
        user = without_hash(stored)
        await self.sessions.cache_user(user_id, user.to_cache(), self.settings.user_cache_seconds)
        return user
