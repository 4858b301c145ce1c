"""The errors authgate raises, each knowing the HTTP status it maps to.

The whole tree::

    AuthgateError
    ├── ConfigError                 settings are missing, malformed or unsafe (not HTTP)
    ├── MigrationFailed             the database refused a migration (not HTTP)
    ├── ValidationError       400   a request body broke the input rules (per-field errors)
    ├── PayloadTooLarge       413   a request body is over the size limit
    ├── UnsupportedMediaType  415   a request body is not sent as application/json
    ├── NotAuthenticated      401   no valid credentials
    │   ├── InvalidCredentials      wrong username/email or password
    │   ├── InvalidToken            a token failed verification
    │   └── SessionRevoked          the token's session is gone, or a refresh token was reused
    │       └── CredentialsChanged  a credential change came in while this request ran
    ├── CsrfRejected          403   an unsafe cookie request from a foreign origin
    ├── EmailNotVerified      403   a right password, but the address is not verified yet
    ├── InsufficientScope     403   logged in, but without a scope the route requires
    ├── NotFound              404   no such resource (for this caller)
    ├── Conflict              409   a unique field is already taken
    ├── TooManyRequests       429   login throttled; carries ``retry_after``
    └── ServiceUnavailable    503   Redis or the database cannot be reached
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class FieldError:
    """One problem with one field of a request body."""

    field: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}


class AuthgateError(Exception):
    """Base of every error authgate raises."""

    status_code: int = 500
    default_message: str = "Internal server error"

    def __init__(self, message: str | None = None, *, errors: list[FieldError] | None = None):
        self.message = message or self.default_message
        self.errors: list[FieldError] = list(errors or [])
        super().__init__(self.message)


class ConfigError(AuthgateError):
    """Settings are missing, malformed or unsafe; raised at start-up."""

    default_message = "Invalid configuration"


class MigrationFailed(AuthgateError):
    """The database is reachable but a migration failed (or its revision is unknown)."""

    default_message = "Migration failed"


class ValidationError(AuthgateError):
    """A request body broke the input rules; ``errors`` lists every field problem."""

    status_code = 400
    default_message = "Invalid request body"


class PayloadTooLarge(AuthgateError):
    """A request body is over the size limit."""

    status_code = 413
    default_message = "Request body too large"


class UnsupportedMediaType(AuthgateError):
    """A request body is not sent as ``application/json``."""

    status_code = 415
    default_message = "Request body must be sent as application/json"


class NotAuthenticated(AuthgateError):
    """No valid credentials came with the request."""

    status_code = 401
    default_message = "Authentication required"


class InvalidCredentials(NotAuthenticated):
    """Unknown user or wrong password (deliberately indistinguishable)."""

    default_message = "Invalid user credentials"


class InvalidToken(NotAuthenticated):
    """A token is malformed, forged, expired or of the wrong type."""

    default_message = "Invalid or expired token"


class SessionRevoked(NotAuthenticated):
    """The token's session no longer exists, or a refresh token was reused."""

    default_message = "Session is no longer valid"


class CredentialsChanged(SessionRevoked):
    """The user's credentials changed (their epoch moved on) while this request ran."""

    default_message = "Your credentials changed meanwhile; please log in again"


class CsrfRejected(AuthgateError):
    """An unsafe request authenticated by cookie came from a foreign origin."""

    status_code = 403
    default_message = (
        "Cross-site request refused: a request authenticated by cookie must send this "
        "site's Origin (or Referer); scripts can use Authorization: Bearer instead"
    )


class EmailNotVerified(AuthgateError):
    """The password is right but ``AUTHGATE_REQUIRE_VERIFIED_EMAIL`` wants a verified address."""

    status_code = 403
    default_message = "Email not verified"


class InsufficientScope(AuthgateError):
    """Logged in, but without a scope (a role) the route requires; ``missing`` names them.

    ``bearer`` says the request sent its token as ``Authorization: Bearer``, so the answer
    carries ``WWW-Authenticate: Bearer error="insufficient_scope"``.
    """

    status_code = 403
    default_message = "Insufficient scope"

    def __init__(
        self, missing: Sequence[str] = (), *, bearer: bool = False, message: str | None = None
    ):
        self.missing = tuple(missing)
        self.bearer = bearer
        if message is None and self.missing:
            message = "Requires the scope " + ", ".join(self.missing)
        super().__init__(message)


class NotFound(AuthgateError):
    """The resource does not exist (or is not the caller's)."""

    status_code = 404
    default_message = "Not found"


class Conflict(AuthgateError):
    """A unique field (username or email) is already taken."""

    status_code = 409
    default_message = "Already exists"


class TooManyRequests(AuthgateError):
    """Too many failed logins; retry after ``retry_after`` seconds."""

    status_code = 429
    default_message = "Too many failed login attempts"

    def __init__(self, retry_after: int, message: str | None = None):
        super().__init__(message)
        self.retry_after = max(1, int(retry_after))


class ServiceUnavailable(AuthgateError):
    """A backing service (Redis or the database) cannot be reached."""

    status_code = 503
    default_message = "Service temporarily unavailable"


def email_taken() -> Conflict:
    """The one answer for an e-mail address another account has."""
    return Conflict(
        "Email is already registered", errors=[FieldError("email", "is already registered")]
    )
