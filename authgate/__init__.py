"""authgate: password login, short-lived JWT access tokens and rotating refresh tokens in
Redis, for Starlette and any ASGI app."""

from authgate.accounts import Accounts
from authgate.config import Settings, parse_duration
from authgate.cookies import ACCESS_COOKIE, REFRESH_COOKIE
from authgate.errors import (
    AuthgateError,
    ConfigError,
    Conflict,
    CsrfRejected,
    FieldError,
    InsufficientScope,
    InvalidCredentials,
    InvalidToken,
    NotAuthenticated,
    NotFound,
    PayloadTooLarge,
    ServiceUnavailable,
    SessionRevoked,
    TooManyRequests,
    ValidationError,
)
from authgate.gate import AuthGate
from authgate.guards import Protect, requires
from authgate.middleware import AuthMiddleware, RequireAuth
from authgate.mounting import AuthWrapped
from authgate.passwords import BcryptPasswordHasher, PasswordHasher
from authgate.principal import AuthenticatedUser, TokenCredentials
from authgate.responses import (
    EXCEPTION_HANDLERS,
    ErrorRenderer,
    envelope,
    error_headers,
    error_response,
    render_envelope,
)
from authgate.routes import AuthEndpoints, auth_router, principal_of
from authgate.service import AuthService, Principal, TokenPair
from authgate.sessions import RedisSessionStore, SessionStore, connect_redis
from authgate.tokens import TokenClaims, TokenCodec, TokenKind
from authgate.users import SqlAlchemyUserStore, User, UserStore

__all__ = [
    "ACCESS_COOKIE",
    "EXCEPTION_HANDLERS",
    "REFRESH_COOKIE",
    "Accounts",
    "AuthEndpoints",
    "AuthGate",
    "AuthMiddleware",
    "AuthService",
    "AuthWrapped",
    "AuthenticatedUser",
    "AuthgateError",
    "BcryptPasswordHasher",
    "ConfigError",
    "Conflict",
    "CsrfRejected",
    "ErrorRenderer",
    "FieldError",
    "InsufficientScope",
    "InvalidCredentials",
    "InvalidToken",
    "NotAuthenticated",
    "NotFound",
    "PasswordHasher",
    "PayloadTooLarge",
    "Principal",
    "Protect",
    "RedisSessionStore",
    "RequireAuth",
    "ServiceUnavailable",
    "SessionRevoked",
    "SessionStore",
    "Settings",
    "SqlAlchemyUserStore",
    "TokenClaims",
    "TokenCodec",
    "TokenCredentials",
    "TokenKind",
    "TokenPair",
    "TooManyRequests",
    "User",
    "UserStore",
    "ValidationError",
    "auth_router",
    "connect_redis",
    "envelope",
    "error_headers",
    "error_response",
    "parse_duration",
    "principal_of",
    "render_envelope",
    "requires",
]
