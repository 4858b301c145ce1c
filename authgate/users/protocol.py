"""The user record and the ``UserStore`` protocol an app implements to bring its own users."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, Protocol


@lru_cache(maxsize=4096)  # the public user is built on every authenticated request
def utc_iso(moment: datetime) -> str:
    """``moment`` as an ISO 8601 string in UTC (naive datetimes are taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class User:
    """A user as authgate sees it. ``password_hash`` never leaves the service layer."""

    id: str
    username: str
    email: str
    full_name: str
    avatar_url: str | None
    is_active: bool
    created_at: datetime
    roles: frozenset[str] = frozenset()
    email_verified: bool = False
    password_hash: str = field(default="", repr=False)
    # bumped by every credential change (``CredentialChange``); read with the hash
    credential_epoch: int = 0

    def public(self) -> dict[str, Any]:
        """The public user object of the API (camelCase, no hash; roles sorted)."""
        return {
            "id": self.id,
            "username": self.username,
            "email": self.email,
            "fullName": self.full_name,
            "avatarUrl": self.avatar_url,
            "createdAt": utc_iso(self.created_at),
            "roles": sorted(self.roles),
            "emailVerified": self.email_verified,
        }

    def to_cache(self) -> dict[str, Any]:
        """What the shared user cache keeps: everything but the hash."""
        return {
            "id": self.id,
            "username": self.username,
            "email": self.email,
            "full_name": self.full_name,
            "avatar_url": self.avatar_url,
            "is_active": self.is_active,
            "created_at": utc_iso(self.created_at),
            "roles": sorted(self.roles),
            "email_verified": self.email_verified,
        }

    @classmethod
    def from_cache(cls, data: dict[str, Any]) -> User:
        created = datetime.fromisoformat(str(data["created_at"]).replace("Z", "+00:00"))
        return cls(
            id=str(data["id"]),
            username=str(data["username"]),
            email=str(data["email"]),
            full_name=str(data["full_name"]),
            avatar_url=None if data["avatar_url"] is None else str(data["avatar_url"]),
            is_active=bool(data["is_active"]),
            created_at=created,
            # KeyError on an entry written before roles existed: a cache miss, not "no roles"
            roles=frozenset(str(role) for role in data["roles"]),
            email_verified=bool(data["email_verified"]),  # KeyError: an older entry, a miss
        )


@dataclass(frozen=True, slots=True)
class NewUser:
    """A validated registration, ready to store."""

    username: str
    email: str
    full_name: str
    password_hash: str = field(repr=False)
    avatar_url: str | None = None


@dataclass(frozen=True, slots=True)
class CredentialChange:
    """What a credential change writes with its new epoch; ``None`` leaves a field alone.

    ``email_verified`` with no new ``email`` marks the current address verified.
    """

    password_hash: str | None = field(default=None, repr=False)
    email: str | None = None
    email_verified: bool | None = None
    is_active: bool | None = None


@dataclass(frozen=True, slots=True)
class ProfileChanges:
    """Fields to change on a user; ``None`` leaves a field alone."""

    full_name: str | None = None
    avatar_url: str | None = None
    clear_avatar: bool = False


def is_user_id(value: str) -> bool:
    """Whether ``value`` looks like a user id (a UUID) — cheap guard before a query."""
    try:
        uuid.UUID(value)
    except (ValueError, TypeError, AttributeError):
        return False
    return True


class UserStore(Protocol):
    """Where users live. Raise ``Conflict`` on a taken username/email and
    ``ServiceUnavailable`` when the backend cannot be reached."""

    async def create(self, new_user: NewUser) -> User:
        """Insert a user; the store's unique constraints decide conflicts."""
        ...

    async def get_by_id(self, user_id: str) -> User | None:
        """The user with ``user_id``, or ``None``."""
        ...

    async def get_by_login(self, login: str) -> User | None:
        """The user whose username or email is ``login`` (already lowercased), with hash."""
        ...

    async def set_password_hash(
        self, user_id: str, password_hash: str, *, epoch: int | None = None
    ) -> None:
        """Replace the user's password hash with one of the same password (a re-hash at a
        newer cost), only while the credential epoch is ``epoch`` when it is given. Not a
        credential change: a new password goes through ``change_credentials``."""
        ...

    async def change_credentials(
        self, user_id: str, change: CredentialChange, *, epoch: int | None = None
    ) -> int | None:
        """Apply ``change`` and bump the user's credential epoch, in one atomic step, and
        only if the epoch is still ``epoch`` (when given). Returns the new epoch, or
        ``None`` when there is no such user or the epoch has moved on. ``Conflict`` if a
        new e-mail address is taken."""
        ...

    async def update_profile(self, user_id: str, changes: ProfileChanges) -> User | None:
        """Apply ``changes`` and return the new user, or ``None`` if there is none."""
        ...

    async def set_active(self, user_id: str, active: bool) -> bool:
        """Activate or deactivate; whether the user exists."""
        ...

    async def delete(self, user_id: str) -> bool:
        """Delete the user; whether it existed."""
        ...

    async def ping(self) -> None:
        """Raise ``ServiceUnavailable`` if the store cannot be reached."""
        ...


@dataclass(frozen=True, slots=True)
class UserPage:
    """One page of users in username order; ``next_after`` continues it (``None``: the end)."""

    users: list[User]
    next_after: str | None


class EmailStore(UserStore, Protocol):
    """A ``UserStore`` that can verify and change e-mail addresses (recovery needs it)."""

    async def mark_email_verified(
        self, user_id: str, email: str, *, epoch: int | None = None
    ) -> bool:
        """Mark the address verified if it is still the user's ``email`` (and the credential
        epoch still ``epoch``, when given); whether it was."""
        ...


class UserDirectory(UserStore, Protocol):
    """A ``UserStore`` an operator can administer: roles and listing (the CLI needs it)."""

    async def add_role(self, user_id: str, role: str) -> bool:
        """Give the user ``role`` (no change if they have it); whether the user exists."""
        ...

    async def remove_role(self, user_id: str, role: str) -> bool:
        """Take ``role`` from the user (no change if they lack it); whether the user exists."""
        ...

    async def list_users(self, *, limit: int, after: str | None = None) -> UserPage:
        """Up to ``limit`` users whose username sorts after ``after``, in username order."""
        ...
