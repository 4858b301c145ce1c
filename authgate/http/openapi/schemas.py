"""JSON Schemas (OpenAPI 3.1, JSON Schema 2020-12) of the auth API's bodies and envelope.

Every name is prefixed with ``Auth`` so the components merge into a host app's OpenAPI
document (FastAPI's, for one) without clashing with the app's own models.
"""

from __future__ import annotations

from typing import Any

from authgate.http.operation import Schema, ref
from authgate.passwords import BCRYPT_MAX_BYTES, MIN_PASSWORD_LENGTH
from authgate.service.validation import MAX_EMAIL, MAX_FULL_NAME, MAX_URL

__all__ = ["SCHEMAS", "Schema", "ref", "success_envelope"]


def _object(properties: dict[str, Schema], required: list[str], **extra: Any) -> Schema:
    return {
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
        **extra,
    }


_STRING: Schema = {"type": "string"}
_TIME: Schema = {"type": "string", "format": "date-time", "description": "ISO 8601, UTC"}
_TOKEN: Schema = {"type": "string", "description": "A JWT", "minLength": 1}
_PASSWORD: Schema = {
    "type": "string",
    "format": "password",
    "minLength": MIN_PASSWORD_LENGTH,
    "description": (
        f"At least {MIN_PASSWORD_LENGTH} characters and at most {BCRYPT_MAX_BYTES} bytes in "
        "UTF-8 (bcrypt's limit; longer is refused, never truncated); no NUL characters."
    ),
}
_CURRENT_PASSWORD: Schema = {"type": "string", "format": "password", "minLength": 1}
_USERNAME: Schema = {
    "type": "string",
    "pattern": "^[A-Za-z0-9_.\\-]{3,32}$",
    "description": "3 to 32 letters, digits, '_', '.' or '-'; stored lowercase.",
}
_EMAIL: Schema = {"type": "string", "format": "email", "maxLength": MAX_EMAIL}
_FULL_NAME: Schema = {"type": "string", "minLength": 1, "maxLength": MAX_FULL_NAME}
_AVATAR: Schema = {"type": ["string", "null"], "format": "uri", "maxLength": MAX_URL}

SCHEMAS: dict[str, Schema] = {
    "AuthUser": _object(
        {
            "id": _STRING,
            "username": _STRING,
            "email": _STRING,
            "fullName": _STRING,
            "avatarUrl": {"type": ["string", "null"]},
            "createdAt": _TIME,
            "roles": {"type": "array", "items": _STRING, "description": "Sorted role names"},
            "emailVerified": {"type": "boolean"},
        },
        ["id", "username", "email", "fullName", "avatarUrl", "createdAt", "roles"],
        description="The public user: never a password hash or a token.",
    ),
    "AuthSession": _object(
        {
            "id": _STRING,
            "createdAt": _TIME,
            "lastUsedAt": _TIME,
            "ip": _STRING,
            "userAgent": _STRING,
            "device": {"type": "string", "maxLength": 80},
            "current": {"type": "boolean", "description": "The session of this request"},
        },
        ["id", "createdAt", "lastUsedAt", "ip", "userAgent", "device", "current"],
    ),
    "AuthTokens": _object(
        {"accessToken": _TOKEN, "refreshToken": _TOKEN},
        ["accessToken", "refreshToken"],
        description="Also set as the HttpOnly cookies; browser apps should ignore these.",
    ),
    "AuthLogin": _object(
        {"user": ref("AuthUser"), "accessToken": _TOKEN, "refreshToken": _TOKEN},
        ["user", "accessToken", "refreshToken"],
    ),
    "AuthRevoked": _object(
        {"revoked": {"type": "integer", "minimum": 0, "description": "Sessions ended"}},
        ["revoked"],
    ),
    "AuthFieldError": _object(
        {"field": _STRING, "message": _STRING},
        ["field", "message"],
    ),
    "AuthError": _object(
        {
            "statusCode": {"type": "integer", "minimum": 400, "maximum": 599},
            "data": {"type": "null"},
            "message": {"type": "string", "minLength": 1},
            "success": {"const": False},
            "errors": {
                "type": "array",
                "items": ref("AuthFieldError"),
                "description": "Every problem found in the body, one per field problem",
            },
        },
        ["statusCode", "data", "message", "success", "errors"],
        description="The envelope of every error.",
    ),
    "AuthRegisterRequest": _object(
        {
            "username": _USERNAME,
            "email": _EMAIL,
            "fullName": _FULL_NAME,
            "password": _PASSWORD,
            "avatarUrl": _AVATAR,
        },
        ["username", "email", "fullName", "password"],
        examples=[
            {
                "username": "ada",
                "email": "ada@example.com",
                "fullName": "Ada Lovelace",
                "password": "correct horse battery",
            }
        ],
    ),
    "AuthLoginRequest": _object(
        {"username": _STRING, "email": _STRING, "password": _CURRENT_PASSWORD},
        ["password"],
        oneOf=[{"required": ["username"]}, {"required": ["email"]}],
        description="`username` or `email` (not both), matched case-insensitively.",
        examples=[{"username": "ada", "password": "correct horse battery"}],
    ),
    "AuthRefreshRequest": _object(
        {"refreshToken": _TOKEN},
        [],
        description="Optional: the body's `refreshToken` wins over the cookie.",
    ),
    "AuthChangePasswordRequest": _object(
        {"currentPassword": _CURRENT_PASSWORD, "newPassword": _PASSWORD},
        ["currentPassword", "newPassword"],
    ),
    "AuthEmailRequest": _object({"email": _EMAIL}, ["email"]),
    "AuthResetPasswordRequest": _object(
        {"token": _STRING, "newPassword": _PASSWORD}, ["token", "newPassword"]
    ),
    "AuthTokenRequest": _object({"token": _STRING}, ["token"]),
    "AuthChangeEmailRequest": _object(
        {"newEmail": _EMAIL, "currentPassword": _CURRENT_PASSWORD},
        ["newEmail", "currentPassword"],
    ),
    "AuthProfileUpdateRequest": _object(
        {"fullName": _FULL_NAME, "avatarUrl": _AVATAR},
        [],
        anyOf=[{"required": ["fullName"]}, {"required": ["avatarUrl"]}],
        description='`fullName` and/or `avatarUrl`; `null` or `""` removes the avatar.',
        examples=[{"fullName": "Ada King", "avatarUrl": "https://example.com/ada.png"}],
    ),
}


def success_envelope(status: int, data: Schema | None) -> Schema:
    """The envelope of a success with ``status`` whose ``data`` is ``data`` (``None``: null)."""
    return _object(
        {
            "statusCode": {"const": status},
            "data": data if data is not None else {"type": "null"},
            "message": {"type": "string", "minLength": 1},
            "success": {"const": True},
        },
        ["statusCode", "data", "message", "success"],
    )
