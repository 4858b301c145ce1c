"""The SQLAlchemy 2 async user store (PostgreSQL via asyncpg; SQLite for trying out).

Its schema is ``authgate.users.tables``, brought up to date by ``authgate.migrations``
(``authgate db upgrade``, or the gate's start-up).
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import delete, select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from authgate.users.engine import database_errors
from authgate.users.protocol import (
    CredentialChange,
    NewUser,
    ProfileChanges,
    User,
    UserPage,
    is_user_id,
)
from authgate.users.tables import UserRoleRow, UserRow, utc_now


class SqlAlchemyUserStore:
    """``UserStore`` on a SQLAlchemy async engine."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)

    async def create(self, new_user: NewUser) -> User:
        row = UserRow(
            username=new_user.username.lower(),
            email=new_user.email.lower(),
            full_name=new_user.full_name,
            avatar_url=new_user.avatar_url,
            password_hash=new_user.password_hash,
            is_active=True,
            credential_epoch=0,
            role_rows=[],
        )
        async with database_errors(), self._sessions() as session, session.begin():
            session.add(row)
        return row.to_user()

    async def get_by_id(self, user_id: str) -> User | None:
        if not is_user_id(user_id):
            return None
        async with database_errors(), self._sessions() as session:
            row = await session.get(UserRow, uuid.UUID(user_id))
            return None if row is None else row.to_user()

    async def get_by_login(self, login: str) -> User | None:
        login = login.lower()
        column = UserRow.email if "@" in login else UserRow.username
        async with database_errors(), self._sessions() as session:
            result = await session.execute(select(UserRow).where(column == login))
            row = result.unique().scalar_one_or_none()
            return None if row is None else row.to_user()

    async def set_password_hash(
        self, user_id: str, password_hash: str, *, epoch: int | None = None
    ) -> None:
        where = () if epoch is None else (UserRow.credential_epoch == epoch,)
        await self._update(user_id, *where, password_hash=password_hash)

    async def change_credentials(
        self, user_id: str, change: CredentialChange, *, epoch: int | None = None
    ) -> int | None:
        if not is_user_id(user_id):
            return None
        values: dict[str, Any] = {
            "credential_epoch": UserRow.credential_epoch + 1,
            "updated_at": utc_now(),
        }
        if change.password_hash is not None:
            values["password_hash"] = change.password_hash
        if change.email is not None:
            values["email"] = change.email.lower()
        if change.email_verified is not None:
            values["email_verified"] = change.email_verified
        if change.is_active is not None:
            values["is_active"] = change.is_active
        statement = update(UserRow).where(UserRow.id == uuid.UUID(user_id))
        if epoch is not None:
            statement = statement.where(UserRow.credential_epoch == epoch)
        statement = statement.values(**values).returning(UserRow.credential_epoch)
        async with database_errors(), self._sessions() as session, session.begin():
            new_epoch = (await session.execute(statement)).scalar_one_or_none()
        return None if new_epoch is None else int(new_epoch)

    async def update_profile(self, user_id: str, changes: ProfileChanges) -> User | None:
        values: dict[str, Any] = {}
        if changes.full_name is not None:
            values["full_name"] = changes.full_name
        if changes.avatar_url is not None or changes.clear_avatar:
            values["avatar_url"] = changes.avatar_url
        if values and not await self._update(user_id, **values):
            return None
        return await self.get_by_id(user_id)

    async def set_active(self, user_id: str, active: bool) -> bool:
        return await self._update(user_id, is_active=active)

    async def mark_email_verified(
        self, user_id: str, email: str, *, epoch: int | None = None
    ) -> bool:
        where = () if epoch is None else (UserRow.credential_epoch == epoch,)
        return await self._update(user_id, UserRow.email == email, *where, email_verified=True)

    async def delete(self, user_id: str) -> bool:
        if not is_user_id(user_id):
            return False
        key = uuid.UUID(user_id)
        async with database_errors(), self._sessions() as session, session.begin():
            # explicitly: SQLite does not enforce the foreign key's ON DELETE CASCADE by default
            await session.execute(delete(UserRoleRow).where(UserRoleRow.user_id == key))
            result = await session.execute(delete(UserRow).where(UserRow.id == key))
        return bool(getattr(result, "rowcount", 0))

    async def add_role(self, user_id: str, role: str) -> bool:
        return await self._change_roles(user_id, role, grant=True)

    async def remove_role(self, user_id: str, role: str) -> bool:
        return await self._change_roles(user_id, role, grant=False)

    async def _change_roles(self, user_id: str, role: str, *, grant: bool) -> bool:
        if not is_user_id(user_id):
            return False
        key = uuid.UUID(user_id)
        touch = update(UserRow).where(UserRow.id == key).values(updated_at=utc_now())
        held = select(UserRoleRow).where(UserRoleRow.user_id == key, UserRoleRow.role == role)
        async with database_errors(), self._sessions() as session, session.begin():
            # updating the user first locks its row, so concurrent changes to one user's roles
            # (and a concurrent delete) wait for each other instead of colliding
            touched = await session.execute(touch)
            if not getattr(touched, "rowcount", 0):
                return False
            current = (await session.execute(held)).scalar_one_or_none()
            if grant and current is None:
                session.add(UserRoleRow(user_id=key, role=role))
            elif not grant and current is not None:
                await session.delete(current)
        return True

    async def list_users(self, *, limit: int, after: str | None = None) -> UserPage:
        statement = select(UserRow).order_by(UserRow.username).limit(limit + 1)
        if after is not None:
            statement = statement.where(UserRow.username > after.lower())
        async with database_errors(), self._sessions() as session:
            rows = list((await session.execute(statement)).unique().scalars())
        users = [row.to_user() for row in rows[:limit]]
        more = len(rows) > limit
        return UserPage(users, users[-1].username if more and users else None)

    async def ping(self) -> None:
        async with database_errors(), self.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    async def _update(self, user_id: str, *where: Any, **values: Any) -> bool:
        if not is_user_id(user_id):
            return False
        values["updated_at"] = utc_now()
        statement = update(UserRow).where(UserRow.id == uuid.UUID(user_id), *where).values(**values)
        async with database_errors(), self._sessions() as session, session.begin():
            result = await session.execute(statement)
        return bool(getattr(result, "rowcount", 0))
