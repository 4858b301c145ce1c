"""What the middleware puts in the scope: Starlette's ``BaseUser`` and ``AuthCredentials``."""

from __future__ import annotations

from starlette.authentication import AuthCredentials, BaseUser

from authgate.service import Principal
from authgate.tokens import TokenClaims
from authgate.users.protocol import User

AUTHENTICATED = "authenticated"


class AuthenticatedUser(BaseUser):
    """``request.user`` for a valid access token: the user, plus its session."""

    def __init__(self, principal: Principal) -> None:
        self.principal = principal

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def display_name(self) -> str:
        return self.principal.user.full_name

    @property
    def identity(self) -> str:
        return self.principal.user.id

    @property
    def user(self) -> User:
        return self.principal.user

    @property
    def id(self) -> str:
        return self.principal.user.id

    @property
    def username(self) -> str:
        return self.principal.user.username

    @property
    def session_id(self) -> str:
        return self.principal.session_id


class TokenCredentials(AuthCredentials):
    """``request.auth``: the ``authenticated`` scope and the access token's claims."""

    def __init__(self, claims: TokenClaims | None = None) -> None:
        super().__init__([AUTHENTICATED] if claims is not None else [])
        self.claims = claims
