"""The ASGI lifespan of a wrapped app: authgate's start-up and shut-down around the inner
app's own lifespan, which is forwarded when the app speaks the protocol and skipped when
it does not (an app that returns at once, or raises, as Django's ``ASGIHandler`` does).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import MutableMapping
from typing import TYPE_CHECKING, Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

if TYPE_CHECKING:
    from authgate.http.parts import Lifecycle

logger = logging.getLogger("authgate")
_APP_ENDED = "authgate.http.lifespan.app-ended"


class LifespanFailed(Exception):
    """The inner app answered ``lifespan.startup.failed`` or ``lifespan.shutdown.failed``."""


class InnerLifespan:
    """Runs the inner app's lifespan in a task and talks to it through two queues."""

    def __init__(self, app: ASGIApp, scope: Scope) -> None:
        self.app = app
        self.scope = scope
        self.to_app: asyncio.Queue[Message] = asyncio.Queue()
        self.from_app: asyncio.Queue[Message] = asyncio.Queue()
        self.task: asyncio.Task[None] | None = None
        self.running = False

    async def _run(self) -> None:
        try:
            await self.app(self.scope, self.to_app.get, self._send)
        finally:
            self.from_app.put_nowait({"type": _APP_ENDED})

    async def _send(self, message: MutableMapping[str, Any]) -> None:
        await self.from_app.put(dict(message))

    async def _answer(self, phase: str) -> None:
        message = await self.from_app.get()
        if message["type"] == f"lifespan.{phase}.complete":
            return
        if message["type"] == f"lifespan.{phase}.failed":
            raise LifespanFailed(message.get("message", "") or f"the app's {phase} failed")
        # the app ended without answering
        self.running = False
        assert self.task is not None
        error = self.task.exception() if not self.task.cancelled() else None
        if phase == "startup":
            logger.info("the wrapped app does not speak the ASGI lifespan (%r); going on", error)
            return
        raise LifespanFailed(f"the app ended during {phase}: {error!r}")

    async def startup(self) -> None:
        """Start the inner app's lifespan; return when it has started (or does not speak it).

        Raises:
            LifespanFailed: the app answered ``lifespan.startup.failed``.
        """
        self.task = asyncio.create_task(self._run())
        self.running = True
        await self.to_app.put({"type": "lifespan.startup"})
        await self._answer("startup")

    async def shutdown(self) -> None:
        """Shut the inner app's lifespan down, if it is running.

        Raises:
            LifespanFailed: the app answered ``lifespan.shutdown.failed``.
        """
        if self.running:
            self.running = False
            await self.to_app.put({"type": "lifespan.shutdown"})
            await self._answer("shutdown")
        await self.close()

    async def close(self) -> None:
        """Wait for the lifespan task to end (a second at most), keeping its error quiet."""
        if self.task is None:
            return
        if not self.task.done():
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(asyncio.shield(self.task), 1.0)
        if not self.task.done():
            self.task.cancel()
        with contextlib.suppress(BaseException):  # already reported through _answer
            await self.task


async def serve_lifespan(
    gate: Lifecycle, app: ASGIApp, scope: Scope, receive: Receive, send: Send
) -> None:
    """Answer one ASGI lifespan: ``gate.startup()`` then the app's start-up; at the end the
    app's shut-down then ``gate.shutdown()``. A failure is reported as ``*.failed``."""
    inner = InnerLifespan(app, scope)
    await receive()  # lifespan.startup
    try:
        await gate.startup()
        await inner.startup()
    except Exception as exc:
        logger.exception("start-up failed")
        await inner.close()
        await gate.shutdown()
        message = str(exc) if isinstance(exc, LifespanFailed) else type(exc).__name__
        await send({"type": "lifespan.startup.failed", "message": message})
        return
    await send({"type": "lifespan.startup.complete"})
    await receive()  # lifespan.shutdown
    failure = ""
    try:
        await inner.shutdown()
    except Exception as exc:
        logger.exception("shut-down failed")
        failure = str(exc) if isinstance(exc, LifespanFailed) else type(exc).__name__
    finally:
        await gate.shutdown()
    if failure:
        await send({"type": "lifespan.shutdown.failed", "message": failure})
    else:
        await send({"type": "lifespan.shutdown.complete"})
