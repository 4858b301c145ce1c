"""The input rules of the contract (§6), table-driven, on the body parsers."""

from __future__ import annotations

from typing import Any

import pytest

from authgate.errors import ValidationError
from authgate.service.validation import (
    parse_credentials,
    parse_profile_update,
    parse_refresh_token,
    parse_registration,
)

VALID_REGISTRATION: dict[str, Any] = {
    "username": "alice",
    "email": "alice@example.com",
    "fullName": "Alice Liddell",
    "password": "correct horse",
}
WRONG_TYPES = [123, 1.5, ["a"], None, True, {"a": 1}]
WRONG_TYPE_IDS = ["number", "float", "list", "null", "bool", "object"]


def registration(**changes: Any) -> dict[str, Any]:
    return {**VALID_REGISTRATION, **changes}


def field_errors(body: dict[str, Any], parse: Any = parse_registration) -> dict[str, str]:
    """The per-field messages of the ValidationError ``parse`` raises for ``body``."""
    with pytest.raises(ValidationError) as caught:
        parse(body)
    error = caught.value
    assert error.status_code == 400
    assert error.errors, "a ValidationError must say which fields are wrong"
    return {item.field: item.message for item in error.errors}


# --- registration: the good case ------------------------------------------------------------


def test_valid_registration_is_normalised() -> None:
    parsed = parse_registration(
        {
            "username": "Alice_B.c-1",
            "email": "  Alice.Liddell+tag@Example.CO.uk ",
            "fullName": "  Alice Liddell  ",
            "password": "  spaces kept  ",
            "avatarUrl": "https://cdn.example.com/a.png",
        }
    )
    assert parsed.username == "alice_b.c-1"
    assert parsed.email == "alice.liddell+tag@example.co.uk"
    assert parsed.full_name == "Alice Liddell"
    assert parsed.password == "  spaces kept  "  # passwords are never trimmed or lowercased
    assert parsed.avatar_url == "https://cdn.example.com/a.png"


@pytest.mark.parametrize("avatar", [None, ""], ids=["null", "empty"])
def test_registration_avatar_is_optional(avatar: str | None) -> None:
    assert parse_registration(VALID_REGISTRATION).avatar_url is None
    assert parse_registration(registration(avatarUrl=avatar)).avatar_url is None


# --- username -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("username", "stored"),
    [
        ("abc", "abc"),
        ("a" * 32, "a" * 32),
        ("ALICE", "alice"),
        ("a.b", "a.b"),
        ("a_b", "a_b"),
        ("a-b", "a-b"),
        ("007", "007"),
        ("...", "..."),
    ],
)
def test_username_accepted(username: str, stored: str) -> None:
    assert parse_registration(registration(username=username)).username == stored


@pytest.mark.parametrize(
    "username",
    [
        "ab",
        "a" * 33,
        "has space",
        "at@sign",
        "slash/",
        "émile",
        "alice\n",
        "\nalice",
        "al\x00ice",
        "a+b",
        "<script>",
    ],
)
def test_username_refused(username: str) -> None:
    errors = field_errors(registration(username=username))
    assert set(errors) == {"username"}
    assert "3 to 32" in errors["username"]


@pytest.mark.parametrize("username", ["", "   "])
def test_blank_username_refused(username: str) -> None:
    assert field_errors(registration(username=username)) == {"username": "must not be blank"}


# --- email ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("email", "stored"),
    [
        ("Bob@Example.COM", "bob@example.com"),
        ("first.last+tag@sub.example.co.uk", "first.last+tag@sub.example.co.uk"),
        ("x@a-b.io", "x@a-b.io"),
        (" padded@example.com ", "padded@example.com"),
        ("a" * 64 + "@example.com", "a" * 64 + "@example.com"),
    ],
)
def test_email_accepted(email: str, stored: str) -> None:
    assert parse_registration(registration(email=email)).email == stored


@pytest.mark.parametrize(
    "email",
    [
        "no-at-sign",
        "@example.com",
        "user@",
        "user@localhost",
        "a@@example.com",
        "a b@example.com",
        "a@exa mple.com",
        "a@-example.com",
        "a@example-.com",
        "a@example..com",
        "a@.example.com",
        "a" * 65 + "@example.com",
        "a@" + "b" * 250 + ".com",
        "a@example.com\nBcc: x@example.com",
        "<a@example.com>",
    ],
)
def test_email_refused(email: str) -> None:
    assert field_errors(registration(email=email)) == {"email": "must be a valid email address"}


# --- fullName -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("full_name", "stored"),
    [
        ("X", "X"),
        ("n" * 100, "n" * 100),
        ("  " + "n" * 100 + "  ", "n" * 100),
        (" Zoë O'Brien-Łukasz ", "Zoë O'Brien-Łukasz"),
    ],
)
def test_full_name_accepted(full_name: str, stored: str) -> None:
    assert parse_registration(registration(fullName=full_name)).full_name == stored


@pytest.mark.parametrize(
    ("full_name", "message"),
    [
        ("", "must not be blank"),
        ("   ", "must not be blank"),
        ("n" * 101, "must be 1 to 100 characters"),
        ("Alice\x00", "must not contain control characters"),
        ("Alice\nBob", "must not contain control characters"),
    ],
)
def test_full_name_refused(full_name: str, message: str) -> None:
    assert field_errors(registration(fullName=full_name)) == {"fullName": message}


# --- password -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "password",
    [
        "12345678",
        "a" * 72,
        "€" * 24,  # 72 bytes
        "€" * 8,  # 8 characters, 24 bytes
        "p" * 70 + "é",  # 72 bytes
    ],
    ids=["8-chars", "72-bytes", "24-euro-72-bytes", "8-euro", "70-plus-e-acute"],
)
def test_password_accepted(password: str) -> None:
    assert parse_registration(registration(password=password)).password == password


@pytest.mark.parametrize(
    "password",
    ["1234567", "ééééééé", "a"],
    ids=["7-chars", "7-chars-14-bytes", "1-char"],
)
def test_password_too_short(password: str) -> None:
    errors = field_errors(registration(password=password))
    assert set(errors) == {"password"}
    assert "at least 8 characters" in errors["password"]


@pytest.mark.parametrize(
    "password",
    ["a" * 73, "€" * 25, "p" * 71 + "é", "x" * 10_000],
    ids=["73-bytes", "25-euro-75-bytes", "71-plus-e-acute-73-bytes", "10000-bytes"],
)
def test_password_over_72_bytes_is_refused_saying_so(password: str) -> None:
    errors = field_errors(registration(password=password))
    assert set(errors) == {"password"}
    assert "72 bytes" in errors["password"]
    assert "truncated" in errors["password"]


@pytest.mark.parametrize("password", ["password\x00", "\x00password", "pass\x00word123"])
def test_password_with_nul_is_refused(password: str) -> None:
    errors = field_errors(registration(password=password))
    assert set(errors) == {"password"}
    assert "NUL" in errors["password"]


def test_blank_password_is_refused() -> None:
    assert field_errors(registration(password="")) == {"password": "must not be blank"}


# --- types, missing and unknown fields ------------------------------------------------------


@pytest.mark.parametrize("value", WRONG_TYPES, ids=WRONG_TYPE_IDS)
@pytest.mark.parametrize("field", ["username", "email", "fullName", "password"])
def test_registration_field_of_the_wrong_type(field: str, value: Any) -> None:
    assert field_errors(registration(**{field: value})) == {field: "must be a string"}


@pytest.mark.parametrize(
    "value", [v for v in WRONG_TYPES if v is not None], ids=WRONG_TYPE_IDS[:3] + WRONG_TYPE_IDS[4:]
)
def test_avatar_of_the_wrong_type(value: Any) -> None:
    assert field_errors(registration(avatarUrl=value)) == {"avatarUrl": "must be a string"}


def test_missing_fields_are_all_reported() -> None:
    assert field_errors({}) == {
        "username": "is required",
        "email": "is required",
        "fullName": "is required",
        "password": "is required",
    }


def test_every_problem_is_reported_at_once() -> None:
    body = {"username": "x", "email": "nope", "fullName": 7, "password": "short"}
    with pytest.raises(ValidationError) as caught:
        parse_registration(body)
    errors = caught.value.errors
    assert len(errors) == 4
    assert [error.field for error in errors] == ["username", "email", "fullName", "password"]
    for name in ("username", "email", "fullName", "password"):
        assert name in caught.value.message
    assert [error.as_dict()["field"] for error in errors] == [e.field for e in errors]


@pytest.mark.parametrize("extra", ["isAdmin", "role", "id", "password_hash", "passwordHash"])
def test_unknown_registration_fields_are_refused(extra: str) -> None:
    errors = field_errors(registration(**{extra: True}))
    assert errors == {extra: "is not an accepted field"}


def test_unknown_fields_are_reported_with_the_other_problems() -> None:
    errors = field_errors(registration(username="x", isAdmin=True))
    assert set(errors) == {"username", "isAdmin"}


# --- avatarUrl ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "stored"),
    [
        ("https://cdn.example.com/a.png", "https://cdn.example.com/a.png"),
        ("http://example.com", "http://example.com"),
        ("  https://example.com/a.png  ", "https://example.com/a.png"),
        ("https://example.com/" + "a" * 2000, "https://example.com/" + "a" * 2000),
    ],
)
def test_avatar_accepted(url: str, stored: str) -> None:
    assert parse_registration(registration(avatarUrl=url)).avatar_url == stored
    assert parse_profile_update({"avatarUrl": url}).avatar_url == stored


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "data:image/png;base64,AAAA",
        "ftp://example.com/a.png",
        "//example.com/a.png",
        "/relative.png",
        "example.com/a.png",
        "https://",
        "https:///path",
        "https://example.com/" + "a" * 2100,
        "https://example.com/a\x00.png",
        "https://example.com/a\n.png",
        'https://example.com/a b"><x',
    ],
)
def test_avatar_refused(url: str) -> None:
    message = "must be an http(s) URL of at most 2048 characters"
    assert field_errors(registration(avatarUrl=url)) == {"avatarUrl": message}
    assert field_errors({"avatarUrl": url}, parse_profile_update) == {"avatarUrl": message}


# --- login ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "login"),
    [
        ({"username": "Alice", "password": "pw"}, "alice"),
        ({"username": "  alice  ", "password": "pw"}, "alice"),
        ({"email": "Alice@Example.COM", "password": "pw"}, "alice@example.com"),
    ],
)
def test_credentials_accepted(body: dict[str, Any], login: str) -> None:
    parsed = parse_credentials(body)
    assert parsed.login == login
    assert parsed.password == "pw"


def test_credentials_keep_the_password_as_given() -> None:
    assert parse_credentials({"username": "a", "password": " Pass Word "}).password == " Pass Word "


def test_login_with_both_username_and_email_is_refused() -> None:
    errors = field_errors(
        {"username": "alice", "email": "alice@example.com", "password": "pw"}, parse_credentials
    )
    assert set(errors) == {"username"}
    assert "not both" in errors["username"]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({}, {"username": "is required", "password": "is required"}),
        ({"password": "pw"}, {"username": "is required"}),
        ({"username": "alice"}, {"password": "is required"}),
        ({"username": "", "password": "pw"}, {"username": "must not be blank"}),
        ({"email": "  ", "password": "pw"}, {"email": "must not be blank"}),
        ({"username": "alice", "password": ""}, {"password": "must not be blank"}),
        (
            {"username": "alice", "password": "pw", "remember": True},
            {"remember": "is not an accepted field"},
        ),
    ],
)
def test_credentials_refused(body: dict[str, Any], expected: dict[str, str]) -> None:
    assert field_errors(body, parse_credentials) == expected


@pytest.mark.parametrize("value", WRONG_TYPES, ids=WRONG_TYPE_IDS)
@pytest.mark.parametrize("field", ["username", "email", "password"])
def test_credentials_field_of_the_wrong_type(field: str, value: Any) -> None:
    body: dict[str, Any] = {"password": "pw"}
    if field != "email":
        body["username"] = "alice"
    body[field] = value
    assert field_errors(body, parse_credentials) == {field: "must be a string"}


# --- refresh --------------------------------------------------------------------------------


def test_refresh_body_is_optional() -> None:
    assert parse_refresh_token({}) is None
    assert parse_refresh_token({"refreshToken": "a.b.c"}) == "a.b.c"


@pytest.mark.parametrize("value", WRONG_TYPES, ids=WRONG_TYPE_IDS)
def test_refresh_token_of_the_wrong_type(value: Any) -> None:
    assert field_errors({"refreshToken": value}, parse_refresh_token) == {
        "refreshToken": "must be a string"
    }


def test_refresh_body_refuses_unknown_fields() -> None:
    assert field_errors({"refreshToken": "a.b.c", "token": "x"}, parse_refresh_token) == {
        "token": "is not an accepted field"
    }


# --- profile update -------------------------------------------------------------------------


def test_profile_update_of_the_full_name_only() -> None:
    parsed = parse_profile_update({"fullName": "  New Name "})
    assert parsed.full_name == "New Name"
    assert parsed.avatar_url is None
    assert not parsed.clear_avatar


def test_profile_update_of_the_avatar_only() -> None:
    parsed = parse_profile_update({"avatarUrl": "https://example.com/new.png"})
    assert parsed.full_name is None
    assert parsed.avatar_url == "https://example.com/new.png"
    assert not parsed.clear_avatar


@pytest.mark.parametrize("value", [None, "", "   "], ids=["null", "empty", "blank"])
def test_profile_update_clears_the_avatar(value: str | None) -> None:
    parsed = parse_profile_update({"avatarUrl": value})
    assert parsed.avatar_url is None
    assert parsed.clear_avatar
    assert parsed.full_name is None


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({}, {"fullName": "give fullName and/or avatarUrl"}),
        ({"fullName": ""}, {"fullName": "must be 1 to 100 characters"}),
        ({"fullName": "   "}, {"fullName": "must be 1 to 100 characters"}),
        ({"fullName": "n" * 101}, {"fullName": "must be 1 to 100 characters"}),
        ({"fullName": "tab\there"}, {"fullName": "must not contain control characters"}),
        ({"fullName": None}, {"fullName": "must be a string"}),
        ({"fullName": 5}, {"fullName": "must be a string"}),
        ({"avatarUrl": 5}, {"avatarUrl": "must be a string"}),
        ({"fullName": "Ok", "username": "x"}, {"username": "is not an accepted field"}),
        (
            {"email": "new@example.com"},
            {"fullName": "give fullName and/or avatarUrl", "email": "is not an accepted field"},
        ),
        (
            {"fullName": ["a"], "avatarUrl": "ftp://x"},
            {
                "fullName": "must be a string",
                "avatarUrl": "must be an http(s) URL of at most 2048 characters",
            },
        ),
    ],
)
def test_profile_update_refused(body: dict[str, Any], expected: dict[str, str]) -> None:
    assert field_errors(body, parse_profile_update) == expected
