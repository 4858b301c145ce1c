"""A connection of its own for the hot path's one script call, pipelined.

redis-py's asyncio connection reads through a ``StreamReader`` and takes a connection from
the pool for each call: a future or two, a lock and a few coroutines per round trip, which
cost several times what the round trip's own system calls do. The hot path makes one call
per batch of session checks, so ``ScriptPipe`` gives it a plain ``asyncio.Protocol`` on one
TCP connection: the call writes its (already packed) command, hiredis reads the reply in
``data_received``, and the reply resolves the oldest waiting call. Calls may overlap
(replies come back in order), so a slow batch never holds a connection another one needs.

The connection is one of the pool's, taken once and kept (so it counts against
``AUTHGATE_REDIS_MAX_CONNECTIONS`` like any other, and was opened, logged in and pointed at
its database by redis-py itself); only its reading is taken over. What redis-py's call
does is kept: the socket timeout, one retry on a new connection after a connection error
(never after a timeout), a connection dropped after a timeout or an unreadable reply, and
redis-py's own error classes (``NoScriptError``, ``ResponseError``, ``ConnectionError``,
``TimeoutError``), so the store treats both paths alike. A call cancelled on its way
leaves no reply behind: its reply is read and dropped in turn.

Only where it applies: a plain TCP connection with hiredis installed, from a pool of
``connect_redis`` with room for more than the pipe (``ScriptPipe.usable``); the caller
uses redis-py's own connections otherwise.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any

from redis._parsers.base import BaseParser
from redis.asyncio import Redis
from redis.asyncio.connection import AbstractConnection, Connection
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

try:
    import hiredis
except ImportError:  # pragma: no cover - depends on the installed extras
    hiredis = None  # type: ignore[assignment]

from authgate.redis.connect import CompanionPool

# a connection error is retried once, after the first delay of the client's retry policy
# (connect.py)
RETRY_DELAY_SECONDS = 0.1
MIN_POOL = 4  # a smaller pool keeps all its connections for everything else


class _Replies(asyncio.Protocol):
    """The protocol of the pipe's connection: each reply resolves the oldest waiting call."""

    def __init__(self, connection: AbstractConnection, transport: Any) -> None:
        self.connection = connection  # the pool's, to give back once this one is done
        self.transport: asyncio.Transport = transport
        # redis-py's own protocol of the connection: told when it closes, so that its
        # stream (which redis-py closes and waits for) knows too
        self.streams = transport.get_protocol()
        self.reader = hiredis.Reader(encoding="utf-8", replyError=BaseParser.parse_error)
        self.waiting: deque[asyncio.Future[Any]] = deque()
        self.closed = False

    def data_received(self, data: bytes) -> None:
        self.reader.feed(data)
        try:
            while (reply := self.reader.gets()) is not False:
                waiter = self.waiting.popleft()
                if waiter.done():  # cancelled meanwhile: its reply is dropped
                    continue
                if isinstance(reply, Exception):
                    waiter.set_exception(reply)
                else:
                    waiter.set_result(reply)
        except (hiredis.ProtocolError, IndexError):  # nothing the connection can go on from
            self.close(RedisConnectionError("Unreadable reply from Redis"))

    def eof_received(self) -> bool:
        self.close(RedisConnectionError("Connection closed by server."))
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.close(RedisConnectionError("Connection closed by server."))
        self.streams.connection_lost(exc)

    def send(self, command: bytes) -> asyncio.Future[Any]:
        """Write ``command``; the future of its reply."""
        waiter = asyncio.get_running_loop().create_future()
        if self.closed:
            waiter.set_exception(RedisConnectionError("Connection closed"))
            return waiter
        self.waiting.append(waiter)
        self.transport.write(command)
        return waiter

    def close(self, error: Exception) -> None:
        """Fail every waiting call with ``error`` and close the connection."""
        self.closed = True
        while self.waiting:
            waiter = self.waiting.popleft()
            if not waiter.done():
                waiter.set_exception(error)
        self.transport.close()


class ScriptPipe:
    """Sends packed commands to the server of ``client`` on one connection of its pool."""

    def __init__(self, client: Redis) -> None:
        pool = client.connection_pool
        assert isinstance(pool, CompanionPool)
        self._pool = pool
        self._timeout: float | None = pool.connection_kwargs.get("socket_timeout")
        self._replies: _Replies | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._connecting: asyncio.Lock | None = None
        pool.companions.append(self.close)  # closed with the client

    @classmethod
    def of(cls, client: Redis) -> ScriptPipe | None:
        """The pipe of ``client``'s pool (one per pool, shared by every script sent on it),
        or ``None`` where it is not ``usable``."""
        if not cls.usable(client):
            return None
        pool = client.connection_pool
        assert isinstance(pool, CompanionPool)
        if pool.script_pipe is None:
            pool.script_pipe = cls(client)
        pipe: ScriptPipe = pool.script_pipe
        return pipe

    @staticmethod
    def usable(client: Redis) -> bool:
        """Whether the pipe can serve ``client``: plain TCP, hiredis, a pool of
        ``connect_redis`` (which closes the pipe with it) with room for more than it."""
        pool = client.connection_pool
        return (
            hiredis is not None
            and isinstance(pool, CompanionPool)
            and pool.connection_class is Connection
            and pool.max_connections >= MIN_POOL
        )

    def close(self) -> None:
        """Stop using the connection (the client is being closed; it closes the pool's
        connections itself). A later call takes a new one."""
        if self._replies is not None:
            self._replies.close(RedisConnectionError("Connection closed by the client"))

    async def call(self, command: bytes) -> Any:
        """Send ``command`` (packed RESP) and return its reply, sent once more on a new
        connection after a connection error (as the client's retry policy does)."""
        try:
            return await self._call(command)
        except RedisConnectionError:
            await asyncio.sleep(RETRY_DELAY_SECONDS)
            return await self._call(command)

    async def _call(self, command: bytes) -> Any:
        replies = self._replies
        if replies is None or replies.closed or self._loop is not asyncio.get_running_loop():
            replies = await self._connect()
        reply = replies.send(command)
        try:
            async with asyncio.timeout(self._timeout):
                return await reply
        except TimeoutError:
            # whatever is still on its way is not waited for: a new connection next time
            replies.close(RedisTimeoutError("Timeout reading from Redis"))
            raise RedisTimeoutError("Timeout reading from Redis") from None

    async def _connect(self) -> _Replies:
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # a new event loop: nothing of the old one is usable
            self._loop, self._connecting = loop, asyncio.Lock()
        assert self._connecting is not None
        async with self._connecting:  # one connection, however many calls ask at once
            replies = self._replies
            if replies is not None and not replies.closed:
                return replies
            self._replies = None
            if replies is not None:  # give the closed one back, for the pool to reopen
                await replies.connection.disconnect()
                await self._pool.release(replies.connection)
            connection = await self._pool.get_connection()  # type: ignore[no-untyped-call]
            writer = getattr(connection, "_writer", None)
            transport: Any = writer.transport if writer is not None else None
            # uvloop's transports have the methods without subclassing asyncio's
            if not all(hasattr(transport, name) for name in ("set_protocol", "get_protocol")):
                # pragma: no cover - a redis-py without a stream writer
                await self._pool.release(connection)
                raise RedisConnectionError("No connection to take over")
            replies = _Replies(connection, transport)
            transport.set_protocol(replies)
            self._replies = replies
            return replies
