"""Input rules for request bodies: every problem found, not only the first.

Bodies arrive as already-parsed JSON objects; these functions know nothing of HTTP.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from email_validator import EmailNotValidError, validate_email

from authgate.errors import FieldError, ValidationError
from authgate.passwords import BCRYPT_MAX_BYTES, MIN_PASSWORD_LENGTH

USERNAME = re.compile(r"^[A-Za-z0-9_.\-]{3,32}$")
MAX_EMAIL = 254
MAX_FULL_NAME = 100
MAX_URL = 2048
MAX_LOGIN = 320
ROLE = re.compile(r"[a-z0-9_.:\-]{1,64}")
# scopes the middleware gives by itself (authgate.http.principal): a role must not fake them
RESERVED_ROLES = frozenset({"authenticated", "verified"})
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class Registration:
    """A registration body that passed every rule (username and email lowercased)."""

    username: str
    email: str
    full_name: str
    password: str
    avatar_url: str | None


@dataclass(frozen=True, slots=True)
class Credentials:
    """A login body: the login (username or email, lowercased) and the password."""

    login: str
    password: str


@dataclass(frozen=True, slots=True)
class ProfileUpdate:
    """A settings body; ``None`` leaves a field alone, ``clear_avatar`` removes the avatar."""

    full_name: str | None
    avatar_url: str | None
    clear_avatar: bool


class _Checker:
    """Collects field errors while reading a body."""

    def __init__(self, body: dict[str, Any], allowed: set[str]) -> None:
        self.body = body
        self.errors: list[FieldError] = [
            FieldError(name, "is not an accepted field") for name in body if name not in allowed
        ]

    def fail(self, field: str, message: str) -> None:
        self.errors.append(FieldError(field, message))

    def string(self, field: str, *, required: bool = True, nullable: bool = False) -> str | None:
        """The field as a string, or ``None`` after recording why it is not one."""
        if field not in self.body:
            if required:
                self.fail(field, "is required")
            return None
        value = self.body[field]
        if value is None and nullable:
            return None
        if not isinstance(value, str):
            self.fail(field, "must be a string")
            return None
        if required and not value.strip():
            self.fail(field, "must not be blank")
            return None
        return value

    def raise_if_any(self) -> None:
        if self.errors:
            fields = ", ".join(dict.fromkeys(error.field for error in self.errors))
            raise ValidationError(f"Invalid fields: {fields}", errors=self.errors)


def normalize_email(value: str) -> str | None:
    """The address checked and normalised by ``email-validator`` (no DNS lookups), then
    lowercased; ``None`` when it is not a valid address. Registration, login and every
    recovery flow use this one function, so an address compares equal everywhere."""
    value = value.strip()
    if len(value) > MAX_EMAIL or _CONTROL.search(value):
        return None
    try:
        checked = validate_email(value, check_deliverability=False, strict=True)
    except EmailNotValidError:
        return None
    normalized: str = checked.normalized.lower()
    return normalized if len(normalized) <= MAX_EMAIL else None


def check_email(checker: _Checker, field: str) -> str | None:
    """The body's ``field`` as a normalised address, or ``None`` after recording why not."""
    raw = checker.string(field)
    if raw is None:
        return None
    email = normalize_email(raw)
    if email is None:
        checker.fail(field, "must be a valid email address")
    return email


def _present(value: str | None) -> str:
    """A value the checker vouched for (it raised otherwise)."""
    if value is None:  # pragma: no cover - raise_if_any() raised before
        raise ValidationError()
    return value


def _check_password(checker: _Checker, field: str, password: str | None) -> None:
    if password is None:
        return
    if "\x00" in password:
        checker.fail(field, "must not contain NUL characters")
    elif len(password) < MIN_PASSWORD_LENGTH:
        checker.fail(field, f"must be at least {MIN_PASSWORD_LENGTH} characters")
    elif len(password.encode("utf-8")) > BCRYPT_MAX_BYTES:
        checker.fail(
            field,
            f"must be at most {BCRYPT_MAX_BYTES} bytes in UTF-8 (bcrypt's limit); "
            "it is refused rather than silently truncated",
        )


def _check_full_name(checker: _Checker, value: str | None) -> str | None:
    if value is None:
        return None
    name = value.strip()
    if not 1 <= len(name) <= MAX_FULL_NAME:
        checker.fail("fullName", f"must be 1 to {MAX_FULL_NAME} characters")
    elif _CONTROL.search(name):
        checker.fail("fullName", "must not contain control characters")
    return name


def _check_avatar(checker: _Checker, value: str | None) -> str | None:
    if value is None:
        return None
    url = value.strip()
    if not url:
        return None
    if len(url) > MAX_URL or _CONTROL.search(url) or not re.fullmatch(r"https?://[^\s/]+\S*", url):
        checker.fail("avatarUrl", f"must be an http(s) URL of at most {MAX_URL} characters")
    return url


def parse_registration(body: dict[str, Any]) -> Registration:
    """Check a registration body against the input rules.

    Raises:
        ValidationError: listing every field problem.
    """
    checker = _Checker(body, {"username", "email", "fullName", "password", "avatarUrl"})
    username = checker.string("username")
    if username is not None and not USERNAME.fullmatch(username):  # "$" would allow "x\n"
        checker.fail("username", "must be 3 to 32 letters, digits, '_', '.' or '-'")
    email = check_email(checker, "email")
    full_name = _check_full_name(checker, checker.string("fullName"))
    password = checker.string("password")
    _check_password(checker, "password", password)
    avatar_url = _check_avatar(checker, checker.string("avatarUrl", required=False, nullable=True))
    checker.raise_if_any()
    return Registration(
        _present(username).lower(),
        _present(email).lower(),
        _present(full_name),
        _present(password),
        avatar_url,
    )


def parse_credentials(body: dict[str, Any]) -> Credentials:
    """Check a login body: ``username`` or ``email``, and ``password``.

    Raises:
        ValidationError: listing every field problem.
    """
    checker = _Checker(body, {"username", "email", "password"})
    has_username, has_email = "username" in body, "email" in body
    login: str | None = None
    if has_username and has_email:
        checker.fail("username", "give either username or email, not both")
    elif has_email:
        login = checker.string("email")
    else:
        login = checker.string("username")
    password = checker.string("password")
    checker.raise_if_any()
    login = _present(login).strip().lower()
    if "@" in login:  # an address matches however it was written at registration
        login = normalize_email(login) or login
    return Credentials(login, _present(password))


def parse_refresh_token(body: dict[str, Any]) -> str | None:
    """The ``refreshToken`` of a refresh body, if it has one.

    Raises:
        ValidationError: on unknown fields or a non-string token.
    """
    checker = _Checker(body, {"refreshToken"})
    token = checker.string("refreshToken", required=False)
    checker.raise_if_any()
    return token


def parse_password_change(body: dict[str, Any]) -> tuple[str, str]:
    """Check a change-password body; returns ``(current, new)``.

    Raises:
        ValidationError: listing every field problem.
    """
    checker = _Checker(body, {"currentPassword", "newPassword"})
    current = checker.string("currentPassword")
    new = checker.string("newPassword")
    _check_password(checker, "newPassword", new)
    checker.raise_if_any()
    return _present(current), _present(new)


def parse_profile_update(body: dict[str, Any]) -> ProfileUpdate:
    """Check a settings body: ``fullName`` and/or ``avatarUrl`` (``null`` or ``""`` clears it).

    Raises:
        ValidationError: listing every field problem.
    """
    checker = _Checker(body, {"fullName", "avatarUrl"})
    if "fullName" not in body and "avatarUrl" not in body:
        checker.fail("fullName", "give fullName and/or avatarUrl")
    full_name = _check_full_name(checker, checker.string("fullName", required=False))
    avatar_url = _check_avatar(checker, checker.string("avatarUrl", required=False, nullable=True))
    checker.raise_if_any()
    clear = "avatarUrl" in body and avatar_url is None
    return ProfileUpdate(full_name, avatar_url, clear)


def parse_role(name: str) -> str:
    """Check a role name: 1 to 64 lowercase letters, digits, ``_ . : -`` (e.g. ``billing:read``).

    Raises:
        ValidationError: on ``role`` when the name breaks the rule.
    """
    if not ROLE.fullmatch(name):
        raise ValidationError(
            "Invalid role name",
            errors=[FieldError("role", "must be 1 to 64 of a-z, 0-9, '_', '.', ':' or '-'")],
        )
    if name in RESERVED_ROLES:
        raise ValidationError(
            "Invalid role name",
            errors=[FieldError("role", f"'{name}' is a scope authgate gives by itself")],
        )
    return name
