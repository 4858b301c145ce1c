"""What each endpoint of the auth router takes and answers, as data.

One ``Operation`` per route of ``authgate.http.endpoints`` (and of the recovery endpoints): its
body, its success status and ``data``, and every error status it can answer. A new
endpoint needs one more entry here; ``tests/test_openapi.py`` fails on a router route
without one.
"""

from __future__ import annotations

from dataclasses import dataclass

from authgate.http.openapi.schemas import Schema, ref

# Every request through the middleware: Redis or the database unreachable.
UNAVAILABLE = 503
# A body is read: not JSON / wrong fields, too large, not application/json.
BODY_ERRORS = (400, 413, 415)
# An unsafe request authenticated by one of authgate's cookies, from a foreign origin.
CSRF = 403
# What an operation can authenticate by (``Operation.credentials``): an access token
# (``Authorization: Bearer``, which wins, else the ``accessToken`` cookie), or a refresh token
# (the body's ``refreshToken``, which wins, else the ``refreshToken`` cookie).
ACCESS_TOKEN = "access"  # noqa: S105 - a kind of credential
REFRESH_TOKEN = "refresh"  # noqa: S105 - a kind of credential


@dataclass(frozen=True, slots=True)
class Operation:
    """One documented endpoint of the auth router.

    Attributes:
        method: the HTTP method, upper case.
        path: the path inside the router (``/sessions/{session_id}``).
        operation_id: a unique camelCase name.
        summary: one line for the interactive docs.
        status: the success status.
        data: the schema of the success envelope's ``data`` (``None``: ``null``).
        errors: every error status the endpoint can answer.
        body: the request body's component schema, if it takes one.
        body_required: whether the body must be sent.
        authenticated: whether it needs an access token (cookie or Bearer).
        credentials: what it can authenticate by without needing it (``ACCESS_TOKEN``,
            ``REFRESH_TOKEN``); ``authenticated`` implies ``ACCESS_TOKEN``.
        cookies: ``"set"`` when it sets both token cookies, ``"clear"`` when it clears them.
        description: more words for the interactive docs.
        also_ok: other success statuses, whose ``data`` is ``null``.
    """

    method: str
    path: str
    operation_id: str
    summary: str
    status: int
    data: Schema | None
    errors: tuple[int, ...]
    body: str | None = None
    body_required: bool = True
    authenticated: bool = False
    credentials: tuple[str, ...] = ()
    cookies: str = ""
    description: str = ""
    also_ok: tuple[int, ...] = ()


def _errors(*statuses: int) -> tuple[int, ...]:
    return tuple(sorted({*statuses, UNAVAILABLE}))


OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "POST",
        "/register",
        "register",
        "Create an account",
        201,
        ref("AuthUser"),
        _errors(*BODY_ERRORS, CSRF, 409),
        body="AuthRegisterRequest",
        description="400 lists every field problem; 409 when the username or email is taken.",
    ),
    Operation(
        "POST",
        "/login",
        "login",
        "Log in with username or email and password",
        200,
        ref("AuthLogin"),
        _errors(*BODY_ERRORS, 401, CSRF, 429),
        body="AuthLoginRequest",
        cookies="set",
        description=(
            "Sets the `accessToken` and `refreshToken` cookies. Unknown user and wrong "
            "password give the same 401; repeated failures give 429 with `Retry-After`; "
            "403 when a verified e-mail address is required and this one is not."
        ),
    ),
    Operation(
        "POST",
        "/refresh-token",
        "refreshToken",
        "Rotate the refresh token and get a new access token",
        200,
        ref("AuthTokens"),
        _errors(*BODY_ERRORS, 401, CSRF),
        body="AuthRefreshRequest",
        body_required=False,
        credentials=(REFRESH_TOKEN,),
        cookies="set",
        description=(
            "The refresh token comes from the body, else the `refreshToken` cookie. A reused "
            "refresh token revokes its whole session. A 401 clears the cookies."
        ),
    ),
    Operation(
        "POST",
        "/logout",
        "logout",
        "End this session",
        200,
        None,
        _errors(*BODY_ERRORS, 401, CSRF),
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
    Operation(
        "POST",
        "/logout-all",
        "logoutAll",
        "End every session of the user",
        200,
        ref("AuthRevoked"),
        _errors(*BODY_ERRORS, 401, CSRF),
        authenticated=True,
        cookies="clear",
    ),
    Operation(
        "GET",
        "/me",
        "me",
        "The current user",
        200,
        ref("AuthUser"),
        _errors(401),
        authenticated=True,
    ),
    Operation(
        "GET",
        "/sessions",
        "listSessions",
        "The user's live sessions",
        200,
        {"type": "array", "items": ref("AuthSession")},
        _errors(401),
        authenticated=True,
    ),
    Operation(
        "DELETE",
        "/sessions/{session_id}",
        "revokeSession",
        "End one of the user's sessions",
        200,
        None,
        _errors(401, CSRF, 404),
        authenticated=True,
        description="Its tokens stop working at once; 404 when it is not the caller's.",
    ),
    Operation(
        "POST",
        "/change-password",
        "changePassword",
        "Change the password; every other session is revoked",
        200,
        ref("AuthRevoked"),
        _errors(*BODY_ERRORS, 401, CSRF, 429),
        body="AuthChangePasswordRequest",
        authenticated=True,
        description="A wrong `currentPassword` is a 400 field error, counted like a login.",
    ),
    # account recovery and e-mail verification
    Operation(
        "POST",
        "/forgot-password",
        "forgotPassword",
        "Mail a password-reset link",
        202,
        None,
        _errors(*BODY_ERRORS, CSRF, 429),
        body="AuthEmailRequest",
        description="202 whether or not the address has an account; 429 past the IP limit.",
    ),
    Operation(
        "POST",
        "/reset-password",
        "resetPassword",
        "Set a new password with a reset token; every session ends",
        200,
        ref("AuthRevoked"),
        _errors(*BODY_ERRORS, CSRF),
        body="AuthResetPasswordRequest",
        cookies="clear",
        description="An unknown, expired or used token is one 400 with a field error on `token`.",
    ),
    Operation(
        "POST",
        "/verify-email/request",
        "requestEmailVerification",
        "Mail another verification link",
        202,
        None,
        _errors(*BODY_ERRORS, 401, CSRF, 429),
        body_required=False,
        authenticated=True,
        also_ok=(200,),
        description="200 when the address is already verified.",
    ),
    Operation(
        "POST",
        "/verify-email",
        "verifyEmail",
        "Verify the e-mail address with a token",
        200,
        ref("AuthUser"),
        _errors(*BODY_ERRORS, CSRF),
        body="AuthTokenRequest",
    ),
    Operation(
        "POST",
        "/change-email",
        "changeEmail",
        "Mail a confirmation link to a new address",
        202,
        None,
        _errors(*BODY_ERRORS, 401, CSRF, 429),
        body="AuthChangeEmailRequest",
        authenticated=True,
        description="The address changes only when the link mailed to it is used.",
    ),
    Operation(
        "POST",
        "/change-email/confirm",
        "confirmEmailChange",
        "Change the address with the token mailed to it",
        200,
        ref("AuthUser"),
        _errors(*BODY_ERRORS, CSRF, 409),
        body="AuthTokenRequest",
        description="409 when another account took the address meanwhile.",
    ),
)
