"""The outbox: mail leaves in a background task, never inside a request's time.

A flow submits a finished message and returns at once; one asyncio task, started
and stopped with the gate's lifespan, hands each message to the mailer, retrying a failed
send a few times with a growing pause. A message that still fails, or that finds the
queue full, is logged as an error with its kind and recipient: never lost silently.

So the answer a client gets never depends on how fast, or whether, the SMTP server
answers. The task also waits a short random moment before sending what has queued up,
so the work of sending does not follow the request that asked for it (which would let
a client time whether a mail went out).

A flow that must not tell whether an address has an account (forgot-password) submits its
message on both paths, with ``deliver=False`` on the one that has none: that message takes
the same way through the queue and is counted alike (``mail_sent``), but never reaches
the mailer, so neither the answer, nor the metrics, nor the worker's timing tell them apart.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets

from authgate.observability.observer import Observer
from authgate.recovery.mailer import Mailer, MailMessage

logger = logging.getLogger("authgate.mail")

SEND_ATTEMPTS = 4
FIRST_RETRY_SECONDS = 1.0
MAX_QUEUED = 1000
JITTER_SECONDS = 0.2
STOP_SECONDS = 5.0


class Outbox:
    """A bounded queue of mail and the task that sends it."""

    def __init__(
        self,
        mailer: Mailer,
        observer: Observer,
        *,
        attempts: int = SEND_ATTEMPTS,
        first_retry_seconds: float = FIRST_RETRY_SECONDS,
        max_queued: int = MAX_QUEUED,
        jitter_seconds: float = JITTER_SECONDS,
    ) -> None:
        self.mailer = mailer
        self._observer = observer
        self._attempts = attempts
        self._first_retry = first_retry_seconds
        self._jitter = jitter_seconds
        self._queue: asyncio.Queue[tuple[MailMessage, bool]] = asyncio.Queue(max_queued)
        self._task: asyncio.Task[None] | None = None

    def submit(self, message: MailMessage, *, deliver: bool = True) -> None:
        """Queue ``message`` for sending; returns at once. ``deliver=False``: a stand-in
        that is counted like a sent mail and never sent (see the module's docstring)."""
        try:
            self._queue.put_nowait((message, deliver))
        except asyncio.QueueFull:
            logger.error("mail not sent: the outbox is full (%s to %s)", message.kind, message.to)

    def start(self) -> None:
        """Start sending (the gate's start-up calls it)."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="authgate-outbox")

    async def stop(self, wait_seconds: float = STOP_SECONDS) -> None:
        """Send what is queued (for at most ``wait_seconds``), then stop."""
        if self._task is None:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._queue.join(), wait_seconds)
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None
        while not self._queue.empty():
            message, deliver = self._queue.get_nowait()
            if deliver:
                logger.error("mail not sent: shut down first (%s to %s)", message.kind, message.to)

    async def drain(self) -> None:
        """Wait until every queued message has been sent or given up on."""
        await self._queue.join()

    async def _run(self) -> None:
        random = secrets.SystemRandom()
        while True:
            batch = [await self._queue.get()]
            await asyncio.sleep(random.uniform(0, self._jitter))
            while not self._queue.empty():
                batch.append(self._queue.get_nowait())
            for message, deliver in batch:
                try:
                    if deliver:
                        await self._deliver(message)
                    else:
                        self._observer.mail_sent(message.kind)
                finally:
                    self._queue.task_done()

    async def _deliver(self, message: MailMessage) -> None:
        pause = self._first_retry
        for attempt in range(1, self._attempts + 1):
            try:
                await self.mailer.send(message)
            except Exception as exc:  # any mailer failure is retried, then logged
                if attempt == self._attempts:
                    logger.error(
                        "mail not sent after %d attempts (%s to %s): %s",
                        attempt,
                        message.kind,
                        message.to,
                        type(exc).__name__,
                    )
                    return
                logger.warning(
                    "mail send failed, retrying in %.1fs (%s to %s): %s",
                    pause,
                    message.kind,
                    message.to,
                    type(exc).__name__,
                )
                await asyncio.sleep(pause)
                pause *= 2
            else:
                self._observer.mail_sent(message.kind)
                return
