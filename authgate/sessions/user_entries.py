"""The cached user's entry in Redis, and the entries this process has already decoded.

An entry is ``<tag>|<user as JSON>``: the tag is new at every write (8 random characters),
so two reads that give the same tag read the same entry. Each session check of the hot
path sends the tag of the entry this process holds for the user; Redis answers ``1`` when
the entry still carries it and the whole entry only when it has changed (or is new to this
process). An unchanged user therefore costs a few bytes per request instead of its JSON,
and is decoded once per entry, not once per request. The entry is still read on every
request: a dropped entry (the user changed) is a miss on the very next one.

An entry of an older authgate (plain JSON, no tag) is read as before; it is never
answered ``1``, and goes when its time in the cache ends.
"""

from __future__ import annotations

import json
import secrets
from functools import lru_cache
from typing import Any

UNCHANGED = 1  # the hot-path script's answer: the entry still carries the tag sent
KNOWN_USERS = 4096  # decoded entries kept per process (a few hundred bytes each)
TAG_BYTES = 6  # 48 random bits, 8 characters


def encode_entry(data: dict[str, Any]) -> str:
    """A new entry for ``data`` (the user as ``User.to_cache`` gives it), with a new tag."""
    return f"{secrets.token_urlsafe(TAG_BYTES)}|{json.dumps(data)}"


def split_entry(raw: str) -> tuple[str, str]:
    """An entry's tag ("" for an untagged one of an older authgate) and its JSON."""
    if raw.startswith("{"):
        return "", raw
    tag, _, text = raw.partition("|")
    return tag, text


def decode_entry(raw: str) -> dict[str, Any] | None:
    """The user of an entry; None for an unreadable one (a miss)."""
    return _decode(split_entry(raw)[1])


@lru_cache(maxsize=1024)
def _decode(text: str) -> dict[str, Any] | None:
    # the same text gives the same (read-only) dict, so the service reuses the user it
    # built from it
    try:
        decoded = json.loads(text)
    except ValueError:
        return None
    return decoded if isinstance(decoded, dict) else None


Known = tuple[str, dict[str, Any]]  # an entry's tag and its decoded user


class KnownEntries:
    """The entries this process has decoded lately, by user id (bounded)."""

    def __init__(self, limit: int = KNOWN_USERS) -> None:
        self._limit = limit
        self._entries: dict[str, Known] = {}

    def get(self, user_id: str) -> Known | None:
        """The entry held for the user, if any: its tag goes with the user's next check."""
        return self._entries.get(user_id)

    def resolve(self, user_id: str, sent: Known | None, reply: Any) -> dict[str, Any] | None:
        """The cached user a check's ``reply`` stands for, given the entry ``sent`` with it:
        ``UNCHANGED`` means that one, an entry text is decoded (and held), nothing a miss."""
        if reply == UNCHANGED and sent is not None:
            return sent[1]
        if not isinstance(reply, str):
            self._entries.pop(user_id, None)
            return None
        tag, text = split_entry(reply)
        data = _decode(text)
        if data is None or not tag:
            self._entries.pop(user_id, None)
            return data
        if len(self._entries) >= self._limit and user_id not in self._entries:
            self._entries.clear()  # the memory stays bounded whoever logs in
        self._entries[user_id] = (tag, data)
        return data
