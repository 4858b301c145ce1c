"""authgate's tables (``users``, ``user_roles``) as SQLAlchemy 2 declarative models; the
migrations (``authgate.migrations``) create them and are checked against them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import BigInteger, Boolean, DateTime, ForeignKey, MetaData, String, Uuid, false
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from authgate.users.protocol import User

# PostgreSQL's own default names, spelled out so that every database (SQLite too) has the
# same constraint names and a later migration can refer to them
NAMING_CONVENTION = {
    "pk": "%(table_name)s_pkey",
    "uq": "%(table_name)s_%(column_0_name)s_key",
    "fk": "%(table_name)s_%(column_0_name)s_fkey",
    "ix": "ix_%(table_name)s_%(column_0_name)s",
}


def utc_now() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    """Declarative base of authgate's tables (``Base.metadata`` for migrations)."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UserRow(Base):
    """The ``users`` table. Username and email are stored lowercase and unique."""

    __tablename__ = "users"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    username: Mapped[str] = mapped_column(String(32), unique=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    full_name: Mapped[str] = mapped_column(String(100))
    avatar_url: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    email_verified: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    credential_epoch: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utc_now, onupdate=utc_now
    )
    # loaded in the same query (a LEFT OUTER JOIN): a user costs one query, roles included
    role_rows: Mapped[list[UserRoleRow]] = relationship(lazy="joined", order_by="UserRoleRow.role")

    def to_user(self) -> User:
        return User(
            id=str(self.id),
            username=self.username,
            email=self.email,
            full_name=self.full_name,
            avatar_url=self.avatar_url,
            is_active=self.is_active,
            created_at=self.created_at,
            roles=frozenset(row.role for row in self.role_rows),
            email_verified=self.email_verified,
            password_hash=self.password_hash,
            credential_epoch=self.credential_epoch,
        )


class UserRoleRow(Base):
    """The ``user_roles`` table: one row per role a user has."""

    __tablename__ = "user_roles"

    user_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[str] = mapped_column(String(64), primary_key=True)
