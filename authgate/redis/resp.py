"""Commands in RESP, Redis's wire format, packed in one go."""

from __future__ import annotations


def pack(*args: str) -> bytes:
    """``args`` as one Redis command in RESP, the way redis-py would send it (UTF-8)."""
    encoded = [arg.encode() for arg in args]
    return b"".join([b"*%d\r\n" % len(encoded), *[b"$%d\r\n%s\r\n" % (len(a), a) for a in encoded]])
