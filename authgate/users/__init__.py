"""Users: the ``UserStore`` protocol, the user record and the SQLAlchemy store."""

from authgate.users.database import SqlAlchemyUserStore, UserRow
from authgate.users.protocol import NewUser, ProfileChanges, User, UserStore

__all__ = ["NewUser", "ProfileChanges", "SqlAlchemyUserStore", "User", "UserRow", "UserStore"]
