"""Operator tasks on accounts: find and list users, roles, another user's sessions.

The CLI (and later admin endpoints) call these; no HTTP here. Activation, deactivation and
deletion are ``AuthService.set_active`` and ``AuthService.delete_user``; registration is
``AuthService.register`` — one path for each operation.
"""

from __future__ import annotations

from authgate.errors import ConfigError, NotFound
from authgate.observability.events import ROLE_GRANTED, ROLE_REVOKED
from authgate.service import AuthService, without_hash
from authgate.service.validation import MAX_LOGIN, parse_role
from authgate.sessions.protocol import SessionInfo
from authgate.users.protocol import User, UserDirectory, UserPage, is_user_id

MAX_PAGE = 1000
ADMIN_REVOCATION = "revoked-by-admin"


class Accounts:
    """Account administration over the stores of an ``AuthService``.

    Every change that alters what a request sees (roles) drops the user's cache entry (the
    service's user store does so on every write), so every instance sees it at its next
    request. Sessions end through the service's own ``revoke`` and ``revoke_all``.
    """

    def __init__(self, service: AuthService) -> None:
        self.service = service

    def _directory(self) -> UserDirectory:
        users = self.service.users
        if not all(hasattr(users, name) for name in ("add_role", "remove_role", "list_users")):
            raise ConfigError("This UserStore cannot list users or manage roles")
        return users  # type: ignore[return-value]  # checked just above

    async def find(self, reference: str) -> User:
        """The user named by ``reference``: an id, a username or an e-mail address.

        Raises:
            NotFound: no such user.
        """
        user = None
        if is_user_id(reference):
            user = await self.service.users.get_by_id(reference)
        elif 0 < len(reference) <= MAX_LOGIN and "\x00" not in reference:
            user = await self.service.users.get_by_login(reference.lower())
        if user is None:
            raise NotFound(f"No such user: {reference}")
        return without_hash(user)

    async def list_users(self, *, limit: int = 100, after: str | None = None) -> UserPage:
        """A page of users in username order, from just after the username ``after``."""
        limit = max(1, min(limit, MAX_PAGE))
        page = await self._directory().list_users(limit=limit, after=after)
        return UserPage([without_hash(user) for user in page.users], page.next_after)

    async def grant_role(self, user_id: str, role: str) -> User:
        """Give the user ``role``; it is in their scopes at the next request, everywhere.

        Raises:
            ValidationError: ``role`` is not a valid role name.
            NotFound: no such user.
        """
        role = parse_role(role)
        if not await self._directory().add_role(user_id, role):
            raise NotFound("No such user")
        return await self._changed(user_id, ROLE_GRANTED, role)

    async def revoke_role(self, user_id: str, role: str) -> User:
        """Take ``role`` from the user; gone at the next request, everywhere.

        Raises:
            ValidationError: ``role`` is not a valid role name.
            NotFound: no such user.
        """
        role = parse_role(role)
        if not await self._directory().remove_role(user_id, role):
            raise NotFound("No such user")
        return await self._changed(user_id, ROLE_REVOKED, role)

    async def _changed(self, user_id: str, event: str, role: str) -> User:
        await self.service.events.emit(event, user_id=user_id, role=role)
        return await self.find(user_id)

    async def sessions(self, user_id: str) -> list[SessionInfo]:
        """The user's live sessions, oldest first."""
        return await self.service.sessions.list(user_id)

    async def revoke_session(self, user_id: str, session_id: str) -> None:
        """End one session of the user; its tokens stop working at once, everywhere.

        Raises:
            NotFound: ``session_id`` is not a live session of the user.
        """
        if not await self.service.revoke(user_id, session_id, reason=ADMIN_REVOCATION):
            raise NotFound("No such session")

    async def revoke_sessions(self, user_id: str) -> int:
        """End every session of the user; how many there were."""
        return await self.service.revoke_all(user_id, reason=ADMIN_REVOCATION)
