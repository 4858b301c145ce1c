"""Input rules for the recovery endpoints' bodies (the rules of ``authgate.service.validation``)."""

from __future__ import annotations

from typing import Any

from authgate.service.validation import _check_password, _Checker, _present, check_email


def parse_forgot_password(body: dict[str, Any]) -> str:
    """``{email}`` -> the normalised address.

    Raises:
        ValidationError: listing every field problem.
    """
    checker = _Checker(body, {"email"})
    email = check_email(checker, "email")
    checker.raise_if_any()
    return _present(email)


def parse_password_reset(body: dict[str, Any]) -> tuple[str, str]:
    """``{token, newPassword}`` -> ``(token, new password)``; password rules as at registration.

    Raises:
        ValidationError: listing every field problem.
    """
    checker = _Checker(body, {"token", "newPassword"})
    token = checker.string("token")
    new = checker.string("newPassword")
    _check_password(checker, "newPassword", new)
    checker.raise_if_any()
    return _present(token), _present(new)


def parse_token(body: dict[str, Any]) -> str:
    """``{token}`` -> the token.

    Raises:
        ValidationError: listing every field problem.
    """
    checker = _Checker(body, {"token"})
    token = checker.string("token")
    checker.raise_if_any()
    return _present(token)


def parse_email_change(body: dict[str, Any]) -> tuple[str, str]:
    """``{newEmail, currentPassword}`` -> ``(normalised new address, current password)``.

    Raises:
        ValidationError: listing every field problem.
    """
    checker = _Checker(body, {"newEmail", "currentPassword"})
    email = check_email(checker, "newEmail")
    current = checker.string("currentPassword")
    checker.raise_if_any()
    return _present(email), _present(current)
