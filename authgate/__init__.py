"""authgate: password login, short-lived JWT access tokens and rotating refresh tokens in
Redis, for Starlette and any ASGI app.

This module is the public API: everything an app needs is importable from here, and
``__all__`` lists it. The rest of the package is laid out by layer (``http`` over
``service`` over the stores ``users``, ``sessions``, ``tokens`` and ``limits``, over the
``redis`` infrastructure) and may change between versions; names that used to be
importable from here or from an older module path still are, with a
``DeprecationWarning`` naming their new home.
"""

from authgate import _compat
from authgate.config import Settings, parse_duration
from authgate.errors import (
    AuthgateError,
    ConfigError,
    Conflict,
    CredentialsChanged,
    CsrfRejected,
    EmailNotVerified,
    FieldError,
    InsufficientScope,
    InvalidCredentials,
    InvalidToken,
    MigrationFailed,
    NotAuthenticated,
    NotFound,
    PayloadTooLarge,
    ServiceUnavailable,
    SessionRevoked,
    TooManyRequests,
    UnsupportedMediaType,
    ValidationError,
)
from authgate.gate import AuthGate
from authgate.http.cookies import ACCESS_COOKIE, REFRESH_COOKIE
from authgate.http.endpoints import in_envelope, optional_principal, principal_of
from authgate.http.guards import Protect, requires
from authgate.http.middleware import AuthMiddleware, RequireAuth
from authgate.http.openapi import auth_openapi, openapi_route
from authgate.http.principal import AuthenticatedUser, TokenCredentials
from authgate.http.responses import ErrorRenderer, envelope, error_headers, render_envelope
from authgate.http.router import alias_route
from authgate.http.wrap import AuthWrapped
from authgate.limits import LoginThrottle
from authgate.observability.events import EventHook, SecurityEvent
from authgate.passwords import BcryptPasswordHasher, PasswordHasher
from authgate.recovery import (
    LogMailer,
    Mailer,
    MailMessage,
    MailTemplate,
    MailTemplates,
    SmtpMailer,
)
from authgate.redis import connect_redis
from authgate.service import AuthService, Principal, TokenPair
from authgate.service.admin import Accounts
from authgate.service.validation import MAX_LOGIN
from authgate.sessions import ClientInfo, RedisSessionStore, SessionStore
from authgate.tokens import TokenClaims, TokenCodec, TokenKind
from authgate.users import CredentialChange, SqlAlchemyUserStore, User, UserStore

_compat.install()

__all__ = [
    "ACCESS_COOKIE",
    "MAX_LOGIN",
    "REFRESH_COOKIE",
    "Accounts",
    "AuthGate",
    "AuthMiddleware",
    "AuthService",
    "AuthWrapped",
    "AuthenticatedUser",
    "AuthgateError",
    "BcryptPasswordHasher",
    "ClientInfo",
    "ConfigError",
    "Conflict",
    "CredentialChange",
    "CredentialsChanged",
    "CsrfRejected",
    "EmailNotVerified",
    "ErrorRenderer",
    "EventHook",
    "FieldError",
    "InsufficientScope",
    "InvalidCredentials",
    "InvalidToken",
    "LogMailer",
    "LoginThrottle",
    "MailMessage",
    "MailTemplate",
    "MailTemplates",
    "Mailer",
    "MigrationFailed",
    "NotAuthenticated",
    "NotFound",
    "PasswordHasher",
    "PayloadTooLarge",
    "Principal",
    "Protect",
    "RedisSessionStore",
    "RequireAuth",
    "SecurityEvent",
    "ServiceUnavailable",
    "SessionRevoked",
    "SessionStore",
    "Settings",
    "SmtpMailer",
    "SqlAlchemyUserStore",
    "TokenClaims",
    "TokenCodec",
    "TokenCredentials",
    "TokenKind",
    "TokenPair",
    "TooManyRequests",
    "UnsupportedMediaType",
    "User",
    "UserStore",
    "ValidationError",
    "alias_route",
    "auth_openapi",
    "connect_redis",
    "envelope",
    "error_headers",
    "in_envelope",
    "openapi_route",
    "optional_principal",
    "parse_duration",
    "principal_of",
    "render_envelope",
    "requires",
]

# parts that were importable from here before the public API was drawn: still importable,
# with a warning that names where they live
_DEPRECATED = {
    "AuthEndpoints": "authgate.http.endpoints",
    "auth_router": "authgate.http.router",
    "EXCEPTION_HANDLERS": "authgate.http.responses",
    "error_response": "authgate.http.responses",
}


__getattr__ = _compat.moved_names("authgate", _DEPRECATED)
