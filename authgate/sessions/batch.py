"""Coalesced session checks: many requests' checks share one Redis round trip.

A check joins the batch being gathered; a batch is sent at the start of the next
event-loop turn, or, while the previous batch is still on its way, as soon as that one is
back (one batch in flight per reader, so a busy server sends few, large batches instead
of many small ones), but never more than ``SLOW_BATCH_SECONDS`` after it left: a hung
batch does not make the next one wait for its timeout. Either way every check reads Redis
*after* its request arrived: a logout on any instance is seen by the very next request.
On a single Redis a batch is one script call; on a Cluster one pipeline, which redis-py
sends as one round trip per node.

Faults stay local: a batch whose call fails fails its own checks only (the store turns
that into 503); a request that goes away (its task cancelled) drops out of its batch
without disturbing the others; and a batch never waits longer than ``BATCH_TIMEOUT``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

# the pool wait, one socket timeout and the retry's backoff fit well inside: this only
# bounds a batch if something below it ever forgot its own timeout
BATCH_TIMEOUT_SECONDS = 10.0
MAX_BATCH = 256
# a batch away longer than this (Redis hanging) no longer holds the next one back, so a
# check never waits for another batch's timeout before its own is sent
SLOW_BATCH_SECONDS = 0.05

# (user id, sid) -> (session alive, the cached user, decoded, or None)
Answer = tuple[bool, dict[str, Any] | None]
Reader = Callable[[list[tuple[str, str]]], Awaitable[list[Answer]]]


@dataclass(slots=True)
class _Check:
    user_id: str
    sid: str
    answer: asyncio.Future[Answer]


class CoalescingReader:
    """Sends the session checks of each event-loop turn to ``read`` together.

    Args:
        read: checks a list of (user id, sid) pairs in one round trip.
        failure: the error each check of a failed batch raises, made from the cause (one
            per check: a shared instance would collect every request's traceback).
        max_batch: the most checks in one call; a larger turn is split.
    """

    def __init__(
        self,
        read: Reader,
        failure: Callable[[Exception], Exception],
        *,
        max_batch: int = MAX_BATCH,
    ) -> None:
        self._read = read
        self._failure = failure
        self._max_batch = max_batch
        self._pending: list[_Check] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._sender: asyncio.Task[None] | None = None
        self._in_flight: set[asyncio.Future[None]] = set()  # batches on their way
        self.batches = 0  # round trips sent, for tests and benchmarks

    def check(self, user_id: str, sid: str) -> asyncio.Future[Answer]:
        """Whether the session is alive, and the cached user, read after this call: a
        future to await (returned as it is, so the wait costs no coroutine of its own)."""
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # a new loop: nothing pending can be sent by the old one
            self._abandon()
            self._loop = loop
        check = _Check(user_id, sid, loop.create_future())
        self._pending.append(check)
        if self._sender is None:  # its first batch goes out at the next turn
            self._sender = loop.create_task(self._send_batches())
        return check.answer

    def _abandon(self) -> None:
        for check in self._pending:
            check.answer.cancel()
        self._pending = []
        self._sender = None

    async def _send_batches(self) -> None:
        # a task's first step runs at the next turn: every check made until then is here;
        # the checks made while a batch is away make the next one
        try:
            while checks := [check for check in self._pending if not check.answer.done()]:
                self._pending = []
                batch = asyncio.ensure_future(self._send_all(checks))
                self._in_flight.add(batch)
                batch.add_done_callback(self._in_flight.discard)
                await asyncio.wait((batch,), timeout=SLOW_BATCH_SECONDS)
            self._pending = []
        except asyncio.CancelledError:
            self._abandon()
            raise
        finally:
            if self._sender is asyncio.current_task():
                self._sender = None

    async def _send_all(self, checks: list[_Check]) -> None:
        if len(checks) <= self._max_batch:
            await self._send(checks)
            return
        chunks = range(0, len(checks), self._max_batch)
        await asyncio.gather(*(self._send(checks[i : i + self._max_batch]) for i in chunks))

    async def _send(self, checks: list[_Check]) -> None:
        if not checks:  # every check of the batch went away before it was sent
            return
        self.batches += 1
        try:
            async with asyncio.timeout(BATCH_TIMEOUT_SECONDS):
                answers = await self._read([(c.user_id, c.sid) for c in checks])
        except asyncio.CancelledError:
            for check in checks:
                check.answer.cancel()
            raise
        except Exception as exc:
            for check in checks:
                if not check.answer.done():
                    check.answer.set_exception(self._failure(exc))
            return
        for check, answer in zip(checks, answers, strict=True):
            if not check.answer.done():
                check.answer.set_result(answer)
