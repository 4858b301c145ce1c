"""Security events: emitted through ``logging`` with structured fields, and to async hooks.

An event carries who and where (user id, session id, client IP) and never a token, a hash
or a password. Logged on the ``authgate.security`` logger with ``extra={"event": name, ...}``
and the message ``key=value ...``, where every value is escaped (``log_value``): a path, a
user agent or a username from a request never puts a CR, an LF or any other control
character in a log line, so it can neither forge a line nor hide one.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

logger = logging.getLogger("authgate.security")

LOGIN_SUCCEEDED = "login.succeeded"
LOGIN_FAILED = "login.failed"
LOGIN_THROTTLED = "login.throttled"
REFRESH_REUSE_DETECTED = "refresh.reuse_detected"
LOGOUT = "logout"
SESSIONS_REVOKED = "sessions.revoked"
PASSWORD_CHANGED = "password.changed"  # noqa: S105 - an event name
USER_REGISTERED = "user.registered"
USER_DEACTIVATED = "user.deactivated"
USER_DELETED = "user.deleted"
ROLE_GRANTED = "role.granted"
ROLE_REVOKED = "role.revoked"
CSRF_REJECTED = "csrf.rejected"
PASSWORD_RESET_REQUESTED = "password.reset_requested"  # noqa: S105 - an event name
PASSWORD_RESET = "password.reset"  # noqa: S105 - an event name
EMAIL_VERIFICATION_REQUESTED = "email.verification_requested"
EMAIL_VERIFIED = "email.verified"
EMAIL_CHANGE_REQUESTED = "email.change_requested"
EMAIL_CHANGED = "email.changed"
RECOVERY_THROTTLED = "recovery.throttled"

_SPECIAL = re.compile(r'[ "\\=]')
_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape_char(char: str) -> str:
    escaped = _ESCAPES.get(char)
    if escaped is not None:
        return escaped
    if char.isprintable():
        return char
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def escape_controls(text: str) -> str:
    """``text`` with backslash escapes for ``\\``, ``"`` and every character that is not
    printable (CR, LF, tab, other control characters, U+2028, ...); unchanged when every
    character is printable."""
    if text.isprintable():
        return text
    return "".join(map(_escape_char, text))


def log_value(value: object) -> str:
    """``value`` as it goes into a ``key=value`` log line.

    Bare when it is printable and holds no space, ``"``, ``\\`` or ``=``; else in double
    quotes, with backslash escapes for ``"``, ``\\`` and every non-printable character. No
    CR, LF or other control character is ever left in the result.
    """
    text = value if isinstance(value, str) else str(value)
    if text and text.isprintable() and _SPECIAL.search(text) is None:
        return text
    return '"' + "".join(map(_escape_char, text)) + '"'


def _log_field(value: Any) -> Any:
    # the record's attributes, for a formatter that prints them (%(path)s): no control
    # character in a string either
    return escape_controls(value) if isinstance(value, str) else value


_WARNINGS = {
    LOGIN_FAILED,
    LOGIN_THROTTLED,
    REFRESH_REUSE_DETECTED,
    CSRF_REJECTED,
    RECOVERY_THROTTLED,
}


@dataclass(frozen=True, slots=True)
class SecurityEvent:
    """One security-relevant thing that happened."""

    name: str
    user_id: str | None = None
    session_id: str | None = None
    ip: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    def fields(self) -> dict[str, Any]:
        return {
            "event": self.name,
            "user_id": self.user_id,
            "session_id": self.session_id,
            "ip": self.ip,
            **self.detail,
        }


EventHook = Callable[[SecurityEvent], Awaitable[None]]


class SecurityEvents:
    """Emits events to the log and to every registered hook; a failing hook is logged, and
    never fails the request that caused the event."""

    def __init__(self, hooks: list[EventHook] | None = None) -> None:
        self.hooks: list[EventHook] = list(hooks or [])

    def add_hook(self, hook: EventHook) -> None:
        """Call ``hook`` (an async function) with every event."""
        self.hooks.append(hook)

    async def emit(
        self,
        name: str,
        *,
        user_id: str | None = None,
        session_id: str | None = None,
        ip: str | None = None,
        **detail: Any,
    ) -> None:
        event = SecurityEvent(name, user_id, session_id, ip, detail)
        level = logging.WARNING if name in _WARNINGS else logging.INFO
        fields = event.fields()
        # the one place request-derived values (path, ip, user agent, ...) reach the log
        summary = " ".join(
            f"{log_value(key)}={log_value(value)}"
            for key, value in fields.items()
            if value is not None
        )
        extra = {key: _log_field(value) for key, value in fields.items()}
        logger.log(level, "%s", summary, extra=extra)
        for hook in self.hooks:
            try:
                await hook(event)
            except Exception:
                logger.exception("security event hook failed for %s", name)
