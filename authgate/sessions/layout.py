"""How sessions are laid out in Redis: all of one user's sessions in one small hash.

Every key of a user shares the Cluster hash tag ``{<user id>}``, so each script touches a
single slot and runs atomically on a single Redis or on Redis Cluster::

    <prefix>:{<user id>}:s      hash, one to three fields per session     (TTL: latest exp,
                                and the user's credential epoch           or the epoch's own)
        @                       "<epoch>": the user's credential epoch    (absent: 0)
        <sid>                   "<iat>|<lifetime>|<jti>|<previous>[|<epoch>]"  (seconds: exp
                                                                          is iat + lifetime;
                                                                          no epoch: 0)
        <sid>.                  "<created>|<last used>|<ip>|<device>"     (ms; last used
                                                                          counts from iat)
        <sid>@                  "<ip>", only where the line above would pass 64 bytes with
                                it (an address as long as IPv6's); its ip part is then empty
    <prefix>:{<user id>}:user   the cached user as JSON                   (TTL: user cache)
    <prefix>:{<user id>}:onetime:<purpose>  the user's one-time tokens    (recovery/onetime.py)

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
128-byte class.

The credential epoch is the copy, in Redis, of the number the user store bumps at every
credential change. A session is alive only while its own epoch is not older than the
user's; a login opens its session only with the epoch it read together with the password
it checked, and only if that epoch is still current; the change's last step
(``advance_epoch.lua``) ends the sessions of older epochs and the user's one-time tokens.
"""

from __future__ import annotations

from authgate.sessions.devices import describe_device
from authgate.sessions.protocol import ClientInfo, SessionInfo

LISTPACK_VALUE_BYTES = 64  # Redis's default hash-max-listpack-value
MAX_IP = 45  # the longest textual IPv6 address
PREVIOUS_CHARS = 8  # of the previous jti, kept for the grace window
# the widest "<created>|<last used>|" (13 + 1 + 10 + 1 digits and bars) and the bar after
# the ip: the device fits in what is left even when the ip has a field of its own
META_OVERHEAD = 26
MAX_DEVICE_BYTES = LISTPACK_VALUE_BYTES - META_OVERHEAD - 1


def sessions_key(prefix: str, user_id: str) -> str:
    return f"{prefix}:{{{user_id}}}:s"


def user_key(prefix: str, user_id: str) -> str:
    return f"{prefix}:{{{user_id}}}:user"


ONETIME_PURPOSES = ("reset", "verify", "change-email")


def onetime_key(prefix: str, user_id: str, purpose: str) -> str:
    """The hash of the user's outstanding one-time tokens of ``purpose``."""
    return f"{prefix}:{{{user_id}}}:onetime:{purpose}"


def epoch_of(session: str | None) -> int:
    """The credential epoch a session's first field records (0 when it records none)."""
    if not session:
        return 0
    parts = session.split("|")
    return _number(parts[4]) if len(parts) > 4 else 0


def device_of(user_agent: str) -> str:
    """What a session keeps of its user agent: the readable device, cut to fit its field."""
    device = describe_device(user_agent).encode()[:MAX_DEVICE_BYTES]
    return device.decode(errors="ignore")


def client_fields(ip: str, device: str) -> tuple[str, str, str]:
    """The (ip in the meta line, device, ip in a field of its own) of a session: the ip
    moves to its own field only when the meta line could pass 64 bytes with it."""
    ip = ip[:MAX_IP]
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
    if not session:
        return 0
    iat, _, rest = session.partition("|")
    return _number(iat) + _number(rest.partition("|")[0])


def session_alive(session: str | None, user_epoch: str | None, now_s: int) -> bool:
    """Whether a session (its first field) is unexpired and of the user's current epoch."""
    return expires_at(session) > now_s and epoch_of(session) >= _number(user_epoch or "0")


def session_infos(fields: dict[str, str], now_s: int) -> list[SessionInfo]:
    """The live sessions in a user's hash, oldest first."""
    sessions = []
    epoch = fields.get("@")
    for sid, session in fields.items():
        if "." in sid or "@" in sid or not session_alive(session, epoch, now_s):
            continue
        created, _, rest = fields.get(f"{sid}.", "").partition("|")
        last, _, rest = rest.partition("|")
        ip, _, device = rest.partition("|")
        iat = _number(session.partition("|")[0])
        sessions.append(
            SessionInfo(
                id=sid,
                created_at_ms=_number(created),
                last_used_at_ms=iat * 1000 + _number(last),
                ip=ip or fields.get(f"{sid}@", ""),
                user_agent=device,
                device=device,
            )
        )
    return sorted(sessions, key=lambda s: s.created_at_ms)


def client_args(client: ClientInfo) -> tuple[str, str, str]:
    """``client_fields`` of the client a login or a refresh came from."""
    return client_fields(client.ip, device_of(client.user_agent))
