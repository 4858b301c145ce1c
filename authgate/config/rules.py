"""How a setting is declared: its kinds (how a variable's text becomes a value), its checks
(the rule its value follows) and ``setting()``, which puts both on a dataclass field."""

from __future__ import annotations

import ipaddress
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from authgate.errors import ConfigError

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
T = TypeVar("T")


def parse_networks(values: Sequence[str]) -> tuple[Network, ...]:
    """``10.0.0.0/8``, ``127.0.0.1``, ``::1`` ... as networks.

    Raises:
        ValueError: a value is not an address or network.
    """
    return tuple(ipaddress.ip_network(value.strip(), strict=False) for value in values)


logger = logging.getLogger("authgate")

EMBEDDED_DATABASE_URL = "sqlite+aiosqlite:///./authgate.db"
MIN_SECRET_BYTES = 32
MIN_PRODUCTION_BCRYPT_ROUNDS = 10

_ORIGIN = re.compile(r"https?://[A-Za-z0-9.\-\[\]:]+")
_PUBLIC_URL = re.compile(r"https?://[A-Za-z0-9.\-\[\]:]+(/[A-Za-z0-9._~\-/]*)?")
_SMTP_URL = re.compile(r"smtps?://\S+")
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")
_DURATION = re.compile(r"^\s*(\d+)\s*([smhd]?)\s*$")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(value: str | int, *, name: str = "duration") -> int:
    """Parse ``30s``, ``15m``, ``2h``, ``7d`` or a bare number of seconds into seconds.

    Raises:
        ConfigError: naming ``name`` when the value is not a duration.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        seconds = value
    else:
        match = _DURATION.match(str(value))
        if match is None:
            raise ConfigError(f"{name} must be a duration like 30s, 15m, 2h, 7d or seconds")
        seconds = int(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if seconds < 0:
        raise ConfigError(f"{name} must not be negative")
    return seconds


# --- kinds: how a variable's text becomes a value -------------------------------------------


def _code(value: object) -> str:
    return f"`{value}`"


@dataclass(frozen=True, slots=True)
class Kind:
    """How a variable's text becomes a value, and how a value reads in the docs.

    Attributes:
        doc: what the variable holds, for the table ("whole number", "duration", ...).
        parse: ``(text, variable) -> value``; raises ``ConfigError`` naming the variable.
        show: a value as the table writes it.
    """

    doc: str
    parse: Callable[[str, str], Any]
    show: Callable[[Any], str] = _code


def _whole_number(raw: str, name: str) -> int:
    try:
        return int(raw.strip())
    except ValueError:
        raise ConfigError(f"{name} must be a whole number") from None


def _flag(raw: str, name: str) -> bool:
    word = raw.strip().lower()
    if word not in (*_TRUE, *_FALSE):
        raise ConfigError(f"{name} must be true or false")
    return word in _TRUE


def _listed(raw: str, name: str) -> tuple[str, ...]:
    # a trailing slash must not make https://app.example/ another origin than https://app.example
    return tuple(item.strip().rstrip("/").lower() for item in raw.split(",") if item.strip())


def _show_duration(seconds: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return _code(f"{seconds // size}{unit}")
    return _code(f"{seconds}s")


text = Kind("text", lambda raw, name: raw.strip())
whole_number = Kind("whole number", _whole_number)
duration = Kind("duration", lambda raw, name: parse_duration(raw, name=name), _show_duration)
flag = Kind("`true` or `false`", _flag, lambda value: _code(str(value).lower()))
comma_list = Kind(
    "comma-separated", _listed, lambda values: _code(",".join(values)) if values else "none"
)


# --- checks: the rule one setting's value follows -------------------------------------------


@dataclass(frozen=True, slots=True)
class Check:
    """A rule one setting's value must follow (an unset ``None`` follows every rule).

    Attributes:
        holds: whether a value follows the rule.
        complaint: the error's words after the variable's name.
        doc: the rule, for the table.
    """

    holds: Callable[[Any], bool]
    complaint: str
    doc: str


positive = Check(lambda value: value > 0, "must be greater than zero", "more than 0")
non_negative = Check(lambda value: value >= 0, "must not be negative", "0 or more")


def between(low: int, high: int, unit: str = "") -> Check:
    """``low <= value <= high``; ``unit`` (" seconds") ends the complaint."""
    return Check(
        lambda value: low <= value <= high,
        f"must be between {low} and {high}{unit}",
        f"{low}-{high}",
    )


def one_of(*choices: str) -> Check:
    """The value is one of ``choices``."""
    return Check(
        lambda value: value in choices,
        "must be " + " or ".join(f"'{choice}'" for choice in choices),
        " or ".join(_code(choice) for choice in choices),
    )


def matching(pattern: re.Pattern[str], complaint: str, doc: str) -> Check:
    """The whole value matches ``pattern``."""
    return Check(lambda value: pattern.fullmatch(value) is not None, complaint, doc)


def _networks(values: Sequence[str]) -> bool:
    try:
        parse_networks(values)
    except ValueError:
        return False
    return True


networks = Check(
    _networks, "must be comma-separated IP addresses or networks", "IP addresses or networks"
)
origins = Check(
    lambda values: all(_ORIGIN.fullmatch(value) for value in values),
    "must be comma-separated origins like https://app.example.com",
    "origins like `https://app.example.com`",
)


# --- the declaration of one setting ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Spec:
    """Everything said about one setting besides its type and default.

    Attributes:
        env: the environment variable (a public name: never renamed).
        parse: how the variable's text becomes the value.
        doc: what the setting means, for the table.
        check: the rule the value follows, wherever it comes from (environment or code).
        shown: the default as the table writes it, where the plain value would mislead.
        file_env: a variable naming a file whose content is the value, read when ``env`` is
            unset.
    """

    env: str
    parse: Kind
    doc: str
    check: Check | None = None
    shown: str | None = None
    file_env: str | None = None


_SPEC = "authgate.setting"


def setting(
    default: T,
    *,
    env: str,
    doc: str,
    parse: Kind = text,
    check: Check | None = None,
    shown: str | None = None,
    file_env: str | None = None,
    secret: bool = False,
) -> T:
    """A ``Settings`` field declared with all there is to know about it (see :class:`Spec`).

    ``secret=True`` keeps the value out of ``repr``.
    """
    spec = Spec(env, parse, doc, check, shown, file_env)
    return field(default=default, repr=not secret, metadata={_SPEC: spec})


def env_variable(declared: Any, name: str) -> str:
    """The environment variable of the setting ``name`` of ``declared`` (the settings
    class or one of its instances).

    Raises:
        KeyError: ``name`` is no setting.
    """
    spec: Spec = declared.__dataclass_fields__[name].metadata[_SPEC]
    return spec.env
