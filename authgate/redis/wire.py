"""The hot path's one script call, packed in one go.

redis-py packs a command argument by argument in Python (encode, length, join), and a
batch of session checks has three arguments per request: on the hot path that was a good
part of a request's cost. ``PackedScript`` builds the whole ``EVALSHA`` in one join and
sends it on a connection of the client's pool, keeping everything else redis-py's own
call does: the pool's bounded wait for a connection, the connection's retry policy (once,
after a broken connection; see ``connection.py``), a connection dropped on an error or a
cancellation mid-call, and NOSCRIPT answered by loading the script once.

Only for a single Redis: on a Cluster the checks go as a pipeline (``redis_store.py``).
"""

from __future__ import annotations

from typing import Any

from redis.asyncio import Redis
from redis.asyncio.connection import AbstractConnection
from redis.commands.core import AsyncScript
from redis.exceptions import NoScriptError


def pack(*args: str) -> bytes:
    """``args`` as one Redis command in RESP, the way redis-py would send it (UTF-8)."""
    encoded = [arg.encode() for arg in args]
    return b"".join([b"*%d\r\n" % len(encoded), *[b"$%d\r\n%s\r\n" % (len(a), a) for a in encoded]])


class PackedScript:
    """Calls ``script`` on ``client`` (a single Redis) with keys and arguments that are all
    strings, as ``script(keys=..., args=...)`` would."""

    def __init__(self, client: Redis, script: AsyncScript) -> None:
        self.client = client
        self.script = script

    async def __call__(self, keys: list[str], args: list[str]) -> Any:
        command = pack("EVALSHA", self.script.sha, str(len(keys)), *keys, *args)
        try:
            return await self._send(command)
        except NoScriptError:  # a restarted or flushed Redis: load it, send it again
            await self.client.script_load(self.script.script)
            return await self._send(command)

    async def _send(self, command: bytes) -> Any:
        pool = self.client.connection_pool
        connection = await pool.get_connection()  # type: ignore[no-untyped-call]
        try:
            return await connection.retry.call_with_retry(
                lambda: _round_trip(connection, command),
                lambda error: connection.disconnect(),
            )
        finally:
            await pool.release(connection)


async def _round_trip(connection: AbstractConnection, command: bytes) -> Any:
    # both drop the connection themselves when interrupted, so no half-read reply is left
    # on it for the next caller
    await connection.send_packed_command(command)
    return await connection.read_response()
