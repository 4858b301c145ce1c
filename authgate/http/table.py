"""The endpoint table: every endpoint of the auth router, in one place.

One ``Endpoint`` per method and path: the handler that answers it (a method of
``AuthEndpoints`` or ``RecoveryEndpoints``) and what the OpenAPI document says of it (its
``Operation``: body, success status and ``data``, every error status, credentials). The
router (``authgate.http.router``) builds its routes from this table, and the document
(``authgate.http.openapi``) describes the same rows: a new endpoint is one more row here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from authgate.http.endpoints import AuthEndpoints
from authgate.http.operation import (
    ACCESS_TOKEN,
    BODY_ERRORS,
    CSRF,
    REFRESH_TOKEN,
    Operation,
    errors,
    ref,
)
from authgate.http.recovery_endpoints import RecoveryEndpoints

HandlerMethod = Callable[[Any, Request], Awaitable[Response]]
"""A handler of an endpoint class, unbound (``AuthEndpoints.login``): the router binds it
to its instance."""


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One endpoint of the auth router.

    Attributes:
        method: the HTTP method, upper case.
        path: the path inside the router (``/sessions/{session_id}``).
        handler: the handler that answers it.
        operation: what the OpenAPI document says of it.
    """

    method: str
    path: str
    handler: HandlerMethod
    operation: Operation


ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint(
        "POST",
        "/register",
        AuthEndpoints.register,
        Operation(
            "register",
            "Create an account",
            201,
            ref("AuthUser"),
            errors(*BODY_ERRORS, CSRF, 409),
            body="AuthRegisterRequest",
            description="400 lists every field problem; 409 when the username or email is taken.",
        ),
    ),
    Endpoint(
        "POST",
        "/login",
        AuthEndpoints.login,
        Operation(
            "login",
            "Log in with username or email and password",
            200,
            ref("AuthLogin"),
            errors(*BODY_ERRORS, 401, CSRF, 429),
            body="AuthLoginRequest",
            cookies="set",
            description=(
                "Sets the `accessToken` and `refreshToken` cookies. Unknown user and wrong "
                "password give the same 401; repeated failures give 429 with `Retry-After`; "
                "403 when a verified e-mail address is required and this one is not."
            ),
        ),
    ),
    Endpoint(
        "POST",
        "/refresh-token",
        AuthEndpoints.refresh,
        Operation(
            "refreshToken",
            "Rotate the refresh token and get a new access token",
            200,
            ref("AuthTokens"),
            errors(*BODY_ERRORS, 401, CSRF),
            body="AuthRefreshRequest",
            body_required=False,
            credentials=(REFRESH_TOKEN,),
            cookies="set",
            description=(
                "The refresh token comes from the body, else the `refreshToken` cookie. A reused "
                "refresh token revokes its whole session. A 401 clears the cookies."
            ),
        ),
    ),
    Endpoint(
        "POST",
        "/logout",
        AuthEndpoints.logout,
        Operation(
            "logout",
            "End this session",
            200,
            None,
            errors(*BODY_ERRORS, 401, CSRF),
            body="AuthRefreshRequest",
            body_required=False,
            credentials=(ACCESS_TOKEN, REFRESH_TOKEN),
            cookies="clear",
            description=(
                "The session is named by the Bearer access token, else by the refresh token in "
                "the body, else by the `accessToken` cookie, else by the `refreshToken` cookie "
                "(once the access token has expired). Clears the cookies, also on 401."
            ),
        ),
    ),
    Endpoint(
        "POST",
        "/logout-all",
        AuthEndpoints.logout_all,
        Operation(
            "logoutAll",
            "End every session of the user",
            200,
            ref("AuthRevoked"),
            errors(*BODY_ERRORS, 401, CSRF),
            authenticated=True,
            cookies="clear",
        ),
    ),
    Endpoint(
        "GET",
        "/me",
        AuthEndpoints.me,
        Operation(
            "me",
            "The current user",
            200,
            ref("AuthUser"),
            errors(401),
            authenticated=True,
        ),
    ),
    Endpoint(
        "PATCH",
        "/me",
        AuthEndpoints.update_profile,
        Operation(
            "updateProfile",
            "Change the user's full name or avatar",
            200,
            ref("AuthUser"),
            errors(*BODY_ERRORS, 401, CSRF),
            body="AuthProfileUpdateRequest",
            authenticated=True,
            description=(
                '`fullName` and/or `avatarUrl` (`null` or `""` removes the avatar); 400 '
                "lists every field problem."
            ),
        ),
    ),
    Endpoint(
        "GET",
        "/sessions",
        AuthEndpoints.sessions,
        Operation(
            "listSessions",
            "The user's live sessions",
            200,
            {"type": "array", "items": ref("AuthSession")},
            errors(401),
            authenticated=True,
        ),
    ),
    Endpoint(
        "DELETE",
        "/sessions/{session_id}",
        AuthEndpoints.revoke_session,
        Operation(
            "revokeSession",
            "End one of the user's sessions",
            200,
            None,
            errors(401, CSRF, 404),
            authenticated=True,
            description="Its tokens stop working at once; 404 when it is not the caller's.",
        ),
    ),
    Endpoint(
        "POST",
        "/change-password",
        AuthEndpoints.change_password,
        Operation(
            "changePassword",
            "Change the password; every other session is revoked",
            200,
            ref("AuthRevoked"),
            errors(*BODY_ERRORS, 401, CSRF, 429),
            body="AuthChangePasswordRequest",
            authenticated=True,
            description="A wrong `currentPassword` is a 400 field error, counted like a login.",
        ),
    ),
    # account recovery and e-mail verification
    Endpoint(
        "POST",
        "/forgot-password",
        RecoveryEndpoints.forgot_password,
        Operation(
            "forgotPassword",
            "Mail a password-reset link",
            202,
            None,
            errors(*BODY_ERRORS, CSRF, 429),
            body="AuthEmailRequest",
            description="202 whether or not the address has an account; 429 past the IP limit.",
        ),
    ),
    Endpoint(
        "POST",
        "/reset-password",
        RecoveryEndpoints.reset_password,
        Operation(
            "resetPassword",
            "Set a new password with a reset token; every session ends",
            200,
            ref("AuthRevoked"),
            errors(*BODY_ERRORS, CSRF),
            body="AuthResetPasswordRequest",
            cookies="clear",
            description=(
                "An unknown, expired or used token is one 400 with a field error on `token`."
            ),
        ),
    ),
    Endpoint(
        "POST",
        "/verify-email/request",
        RecoveryEndpoints.request_verification,
        Operation(
            "requestEmailVerification",
            "Mail another verification link",
            202,
            None,
            errors(*BODY_ERRORS, 401, CSRF, 429),
            body_required=False,
            authenticated=True,
            also_ok=(200,),
            description="200 when the address is already verified.",
        ),
    ),
    Endpoint(
        "POST",
        "/verify-email",
        RecoveryEndpoints.verify_email,
        Operation(
            "verifyEmail",
            "Verify the e-mail address with a token",
            200,
            ref("AuthUser"),
            errors(*BODY_ERRORS, CSRF),
            body="AuthTokenRequest",
        ),
    ),
    Endpoint(
        "POST",
        "/change-email",
        RecoveryEndpoints.change_email,
        Operation(
            "changeEmail",
            "Mail a confirmation link to a new address",
            202,
            None,
            errors(*BODY_ERRORS, 401, CSRF, 429),
            body="AuthChangeEmailRequest",
            authenticated=True,
            description="The address changes only when the link mailed to it is used.",
        ),
    ),
    Endpoint(
        "POST",
        "/change-email/confirm",
        RecoveryEndpoints.confirm_email_change,
        Operation(
            "confirmEmailChange",
            "Change the address with the token mailed to it",
            200,
            ref("AuthUser"),
            errors(*BODY_ERRORS, CSRF, 409),
            body="AuthTokenRequest",
            description="409 when another account took the address meanwhile.",
        ),
    ),
)
