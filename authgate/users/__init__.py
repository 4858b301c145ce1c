"""Users: the ``UserStore`` protocol, the user record and the SQLAlchemy store."""

from authgate.users.database import SqlAlchemyUserStore, UserRow
from authgate.users.protocol import (
    NewUser,
    ProfileChanges,
    User,
    UserDirectory,
    UserPage,
    UserStore,
)

__all__ = [
    "NewUser",
    "ProfileChanges",
    "SqlAlchemyUserStore",
    "User",
    "UserDirectory",
    "UserPage",
    "UserRow",
    "UserStore",
]
