"""Accounts: registration, profile changes, activation and deletion, and health."""

from __future__ import annotations

from authgate.errors import NotFound
from authgate.observability.events import USER_DEACTIVATED, USER_DELETED, USER_REGISTERED
from authgate.service.base import logger
from authgate.service.credentials import CredentialFlows
from authgate.service.results import Principal, without_hash
from authgate.service.validation import ProfileUpdate, Registration
from authgate.users.protocol import CredentialChange, NewUser, ProfileChanges, User


class AccountFlows(CredentialFlows):
    """A user's life cycle, from registration to deletion."""

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
        await self.events.emit(USER_REGISTERED, user_id=user.id)
        return without_hash(user)

    async def update_profile(self, principal: Principal, update: ProfileUpdate) -> User:
        """Change the caller's full name and/or avatar; every instance sees it at once."""
        changes = ProfileChanges(update.full_name, update.avatar_url, update.clear_avatar)
        user = await self.users.update_profile(principal.user.id, changes)
        if user is None:
            raise NotFound("User not found")
        return without_hash(user)

    async def set_active(self, user_id: str, active: bool) -> bool:
        """Activate or deactivate a user, as a credential change (``CredentialFlows``): every
        session and one-time token ends at once, so a re-activated user starts with none.
        Whether the user exists."""
        revoked = await self.change_credentials(
            user_id, CredentialChange(is_active=active), epoch=None
        )
        if revoked is not None and not active:
            await self.events.emit(USER_DEACTIVATED, user_id=user_id, revoked=revoked)
        return revoked is not None

    async def delete_user(self, user_id: str) -> bool:
        """Delete a user and end every session and one-time token of theirs."""
        existed = await self.users.delete(user_id)
        revoked = await self.end_user_state(user_id)
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
