"""How sessions are laid out in Redis: all of one user's sessions in one small hash.

Every key of a user shares one Cluster hash tag, the user's *tag* (``user_tag``), so each
script touches a single slot and runs atomically on a single Redis or on Redis Cluster. A
user id in the canonical spelling of a UUID is tagged by its 16 bytes in URL-safe base64
(22 characters, no padding); any other user id by ``~`` and the id itself (``~`` is no
base64url character, so no such tag is ever a UUID's)::

    <prefix>:{<tag>}:s          hash, one to three fields per session     (TTL: latest exp,
                                and the user's credential epoch           or the epoch's own)
        @                       "<epoch>": the user's credential epoch    (absent: 0)
        <sid>                   "<iat>,<lifetime>,<jti>,<previous>[,<epoch>]"  (seconds: exp
                                                                          is iat + lifetime;
                                                                          no epoch: 0)
        <sid>.                  "<created>,<last used>,<ip>,<device>"     (ms; last used
                                                                          counts from iat)
        <sid>@                  "<ip>", only where the line above would pass 64 bytes with
                                it (an address as long as IPv6's); its ip part is then empty
    <prefix>:{<tag>}:user       the cached user as JSON                   (TTL: user cache)
    <prefix>:{<tag>}:onetime:<purpose>  the user's one-time tokens        (recovery/onetime.py)
    <prefix>:{<tag>}:moved      which hashes of an older authgate were moved in (moved.py)

The numbers of a session's two lines are spelled in base 36 and separated by ``,``. An
older authgate spelled them in decimal, separated by ``|``: the character after a value's
first number tells which, and every reader takes both (every write is in base 36).

Every field and value stays under Redis's ``hash-max-listpack-value`` (64 bytes) and a user
has at most a few dozen sessions, so the hash is kept as a compact *listpack*: a session
costs its fields and no key of its own. A session is alive until its ``exp``: every read
compares it with the clock, and the fields of an expired session go at the user's next
login (the hash itself expires with the user's latest session). "Last used" is the last
refresh (or the login); the grace window counts from it. Of the previous ``jti`` only its
first 8 characters are kept (48 random bits): enough to know the immediate predecessor
among the tokens authgate signed for this session, which is all the grace window needs.
Session ids contain no ``.`` or ``@``. Each figure is chosen to keep a session that has
been refreshed, with a browser's device name and an IPv4 address, in the allocator's
112-byte class, and the sessions key of a UUID user (35 characters with the default
prefix) in the 48-byte class: 200 bytes by ``MEMORY USAGE`` for a user's only session.

The credential epoch is the copy, in Redis, of the number the user store bumps at every
credential change. A session is alive only while its own epoch is not older than the
user's; a login opens its session only with the epoch it read together with the password
it checked, and only if that epoch is still current; the change's last step
(``advance_epoch.lua``) ends the sessions of older epochs and the user's one-time tokens.
"""

from __future__ import annotations

import base64
import re
import uuid
from functools import lru_cache
from typing import NamedTuple

from authgate.sessions.devices import describe_device
from authgate.sessions.protocol import ClientInfo, SessionInfo

LISTPACK_VALUE_BYTES = 64  # Redis's default hash-max-listpack-value
MAX_IP = 45  # the longest textual IPv6 address
PREVIOUS_CHARS = 8  # of the previous jti, kept for the grace window
# the widest "<created>|<last used>|" (13 + 1 + 10 + 1 digits and bars, the decimal
# spelling: base 36 is shorter) and the separator after the ip: the device fits in what is
# left even when the ip has a field of its own
META_OVERHEAD = 26
MAX_DEVICE_BYTES = LISTPACK_VALUE_BYTES - META_OVERHEAD - 1
OTHER_ID = "~"  # starts the tag of a user id that is not a UUID: base64url never uses it
DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"
# what str(uuid.UUID(...)) spells, and nothing else
CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")

# a session's line and its meta line, in base 36 (",") or in an older authgate's decimal ("|")
_SESSION = (
    (re.compile(r"([0-9A-Za-z]+),([0-9A-Za-z]+),([^,]*),([^,]*),?([0-9A-Za-z]*)"), 36),
    (re.compile(r"([0-9]+)\|([0-9]+)\|([^|]*)\|([^|]*)\|?([0-9]*)"), 10),
)
_META = (
    (re.compile(r"([0-9A-Za-z]+),(-?[0-9A-Za-z]+),([^,]*),(.*)", re.DOTALL), 36),
    (re.compile(r"([0-9]+)\|(-?[0-9]+)\|([^|]*)\|(.*)", re.DOTALL), 10),
)


@lru_cache(maxsize=4096)
def user_tag(user_id: str) -> str:
    """The Cluster hash tag of every key of ``user_id``: a UUID in its canonical spelling
    (lowercase, with hyphens) as its 16 bytes in URL-safe base64 without padding (22
    characters), any other id as ``~`` and the id itself, so the two kinds never meet."""
    if CANONICAL_UUID.fullmatch(user_id):
        raw = bytes.fromhex(user_id.replace("-", ""))
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
    return OTHER_ID + user_id


def is_tag(text: str) -> bool:
    """Whether ``text`` is spelled like a user's tag (``user_tag`` of some user id)."""
    if text.startswith(OTHER_ID):
        return True
    if len(text) != 22 or not text.isascii():
        return False
    try:
        return user_tag(str(uuid.UUID(bytes=base64.urlsafe_b64decode(text + "==")))) == text
    except ValueError:
        return False


def sessions_key(prefix: str, user_id: str) -> str:
    return f"{prefix}:{{{user_tag(user_id)}}}:s"


def user_key(prefix: str, user_id: str) -> str:
    return f"{prefix}:{{{user_tag(user_id)}}}:user"


@lru_cache(maxsize=4096)  # every authenticated request asks for both
def check_keys(prefix: str, user_id: str) -> tuple[str, str]:
    """The two keys a session check reads: ``sessions_key`` and ``user_key``."""
    return sessions_key(prefix, user_id), user_key(prefix, user_id)


def moved_key(prefix: str, user_id: str) -> str:
    """Which hashes of an older authgate were moved into the user's (``moved.py``)."""
    return f"{prefix}:{{{user_tag(user_id)}}}:moved"


ONETIME_PURPOSES = ("reset", "verify", "change-email")


def onetime_key(prefix: str, user_id: str, purpose: str) -> str:
    """The hash of the user's outstanding one-time tokens of ``purpose``."""
    return f"{prefix}:{{{user_tag(user_id)}}}:onetime:{purpose}"


class Session(NamedTuple):
    """A session's first field, read."""

    iat: int
    lifetime: int
    jti: str
    previous: str
    epoch: int

    @property
    def exp(self) -> int:
        return self.iat + self.lifetime


def parse_session(value: str | None) -> Session | None:
    """A session's first field (either spelling), or ``None`` for anything else."""
    for pattern, base in _SESSION:
        found = pattern.fullmatch(value or "")
        if found:
            iat, lifetime, jti, previous, epoch = found.groups()
            return Session(
                _figure(iat, base), _figure(lifetime, base), jti, previous, _figure(epoch, base)
            )
    return None


def base36(number: int) -> str:
    """``number`` in base 36, as the scripts write it."""
    if number < 0:
        return "-" + base36(-number)
    text = ""
    while True:
        number, digit = divmod(number, 36)
        text = DIGITS[digit] + text
        if not number:
            return text


def _figure(text: str, base: int) -> int:
    """The number ``text`` (digits of ``base``, as a pattern above matched them) spells; 0
    for none."""
    return int(text, base) if text else 0


def epoch_of(session: str | None) -> int:
    """The credential epoch a session's first field records (0 when it records none)."""
    parsed = parse_session(session)
    return parsed.epoch if parsed else 0


def device_of(user_agent: str) -> str:
    """What a session keeps of its user agent: the readable device, cut to fit its field."""
    device = describe_device(user_agent).encode()[:MAX_DEVICE_BYTES]
    return device.decode(errors="ignore")


def client_fields(ip: str, device: str) -> tuple[str, str, str]:
    """The (ip in the meta line, device, ip in a field of its own) of a session: the ip
    moves to its own field only when the meta line could pass 64 bytes with it."""
    ip = ip.replace(",", "").replace("|", "")[:MAX_IP]  # a canonical address has neither
    if META_OVERHEAD + len(ip) + len(device.encode()) > LISTPACK_VALUE_BYTES:
        return "", device, ip
    return ip, device, ""


def _number(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        return 0


def expires_at(session: str | None) -> int:
    """The ``exp`` (seconds) of a session's first field; 0 for none."""
    parsed = parse_session(session)
    return parsed.exp if parsed else 0


def session_alive(session: str | None, user_epoch: str | None, now_s: int) -> bool:
    """Whether a session (its first field) is unexpired and of the user's current epoch."""
    parsed = parse_session(session)
    return parsed is not None and _alive(parsed, user_epoch, now_s)


def _alive(session: Session, user_epoch: str | None, now_s: int) -> bool:
    return session.exp > now_s and session.epoch >= _number(user_epoch or "0")


def parse_meta(value: str) -> tuple[int, int, str, str]:
    """A session's meta field (either spelling): created (ms), last used (ms after iat), ip
    and device; zeros and empty strings for anything else."""
    for pattern, base in _META:
        found = pattern.fullmatch(value)
        if found:
            created, last, ip, device = found.groups()
            return _figure(created, base), _figure(last, base), ip, device
    return 0, 0, "", ""


def session_infos(fields: dict[str, str], now_s: int) -> list[SessionInfo]:
    """The live sessions in a user's hash, oldest first."""
    sessions = []
    epoch = fields.get("@")
    for sid, value in fields.items():
        session = parse_session(value)
        if "." in sid or "@" in sid or session is None or not _alive(session, epoch, now_s):
            continue
        created, last, ip, device = parse_meta(fields.get(f"{sid}.", ""))
        sessions.append(
            SessionInfo(
                id=sid,
                created_at_ms=created,
                last_used_at_ms=session.iat * 1000 + last,
                ip=ip or fields.get(f"{sid}@", ""),
                user_agent=device,
                device=device,
            )
        )
    return sorted(sessions, key=lambda s: s.created_at_ms)


def client_args(client: ClientInfo) -> tuple[str, str, str]:
    """``client_fields`` of the client a login or a refresh came from."""
    return client_fields(client.ip, device_of(client.user_agent))
