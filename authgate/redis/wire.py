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

from authgate.redis.pipe import ScriptPipe
from authgate.redis.resp import pack

__all__ = ["PackedScript", "pack"]


class PackedScript:
    """Calls ``script`` on ``client`` (a single Redis) with keys and arguments that are all
    strings, as ``script(keys=..., args=...)`` would."""

    def __init__(self, client: Redis, script: AsyncScript) -> None:
        self.client = client
        self.script = script
        # a connection of its own where it can (pipe.py), else the pool's
        self._pipe = ScriptPipe.of(client)

    async def __call__(self, keys: list[str], args: list[str]) -> Any:
        command = pack("EVALSHA", self.script.sha, str(len(keys)), *keys, *args)
        try:
            return await self._send(command)
        except NoScriptError:  # a restarted or flushed Redis: load it, send it again
            if self._pipe is not None:
                source = self.script.script
                text = source if isinstance(source, str) else bytes(source).decode()
                await self._pipe.call(pack("SCRIPT", "LOAD", text))
            else:
                await self.client.script_load(self.script.script)
            return await self._send(command)

    async def _send(self, command: bytes) -> Any:
        if self._pipe is not None:
            return await self._pipe.call(command)
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
