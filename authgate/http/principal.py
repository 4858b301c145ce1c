"""What the middleware puts in the scope: Starlette's ``BaseUser`` and ``AuthCredentials``."""

from __future__ import annotations

from functools import lru_cache

from starlette.authentication import AuthCredentials, BaseUser

from authgate.service import Principal
from authgate.tokens import TokenClaims
from authgate.users.protocol import User

AUTHENTICATED = "authenticated"
VERIFIED = "verified"


def scopes_of(user: User) -> list[str]:
    """``["authenticated", *roles]`` (roles sorted), plus ``"verified"`` once the user's
    e-mail is verified: what ``request.auth.scopes`` holds for the user."""
    return list(_scopes(user.roles, user.email_verified))


@lru_cache(maxsize=256)  # a few distinct role sets: this runs on every authenticated request
def _scopes(roles: frozenset[str], verified: bool) -> tuple[str, ...]:
    return (AUTHENTICATED, *sorted(roles), *((VERIFIED,) if verified else ()))


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
    """``request.auth``: the scopes (``authenticated``, the user's roles, ``verified``) and
    the access token's claims."""

    def __init__(self, claims: TokenClaims | None = None, scopes: list[str] | None = None) -> None:
        if scopes is None:
            scopes = [AUTHENTICATED] if claims is not None else []
        self.scopes = list(scopes)  # as AuthCredentials keeps them, without its call
        self.claims = claims
