"""Users: the ``UserStore`` protocol and the user record (``protocol``), the tables
(``tables``), the engine (``engine``), the SQLAlchemy store (``store``) and the wrapper that
drops the cached user on every write (``invalidating``)."""

from authgate.users.engine import create_engine
from authgate.users.protocol import (
    CredentialChange,
    NewUser,
    ProfileChanges,
    User,
    UserDirectory,
    UserPage,
    UserStore,
)
from authgate.users.store import SqlAlchemyUserStore
from authgate.users.tables import Base, UserRoleRow, UserRow

__all__ = [
    "Base",
    "CredentialChange",
    "NewUser",
    "ProfileChanges",
    "SqlAlchemyUserStore",
    "User",
    "UserDirectory",
    "UserPage",
    "UserRoleRow",
    "UserRow",
    "UserStore",
    "create_engine",
]
