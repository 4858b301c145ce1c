"""The auth service: register, login, refresh, authenticate, logout. No HTTP in here.

``AuthService`` is put together from one part per concern: ``Logins`` (password checks
behind the throttle), ``SessionFlows`` (rotation, authentication, logout and every
revocation), ``AccountFlows`` (a user's life cycle) and, under both of the last,
``CredentialFlows`` (the one path of every credential change and its epoch), over the
collaborators of ``ServiceBase``.
"""

from __future__ import annotations

from authgate.service.accounts import AccountFlows
from authgate.service.logins import Logins
from authgate.service.results import LoginResult, Principal, SessionView, TokenPair, without_hash
from authgate.service.sessions import SessionFlows

__all__ = [
    "AuthService",
    "LoginResult",
    "Principal",
    "SessionView",
    "TokenPair",
    "without_hash",
]


class AuthService(Logins, SessionFlows, AccountFlows):
    """Every auth operation, over a ``UserStore``, a ``SessionStore`` and a hasher."""
