"""Password hashing: a small protocol and the bcrypt default, always off the event loop."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol, TypeVar

from passlib.context import CryptContext

BCRYPT_MAX_BYTES = 72
MIN_PASSWORD_LENGTH = 8
_CURRENT_IDENT = "$2b$"
# bcrypt threads run at the kernel's idle priority (SCHED_IDLE), or where that is refused
# at the lowest nice level: on a busy core the kernel gives the loop (every other request)
# the CPU first, and bcrypt what is left
WORKER_NICENESS = 19

T = TypeVar("T")


def _lower_priority() -> None:
    """Lower the calling thread's priority (Linux schedules threads one by one)."""
    if sys.platform != "linux":
        return
    thread = threading.get_native_id()
    try:
        os.sched_setscheduler(thread, os.SCHED_IDLE, os.sched_param(0))
    except (OSError, AttributeError):
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, thread, WORKER_NICENESS)


class PasswordHasher(Protocol):
    """Hashes and verifies passwords; implementations must not block the event loop."""

    async def hash(self, password: str) -> str:
        """Hash ``password`` for storage."""
        ...

    async def verify_and_update(self, password: str, stored_hash: str) -> tuple[bool, str | None]:
        """Check ``password`` against ``stored_hash``.

        Returns:
            ``(verified, new_hash)``; ``new_hash`` is set when the stored hash is outdated
            and should be replaced.
        """
        ...

    async def dummy_verify(self, password: str) -> None:
        """Spend the time of one verification, for an unknown user."""
        ...


def fits_bcrypt(password: str) -> bool:
    """Whether bcrypt would hash ``password`` whole (at most 72 UTF-8 bytes, no NUL)."""
    return "\x00" not in password and len(password.encode("utf-8")) <= BCRYPT_MAX_BYTES


class BcryptPasswordHasher:
    """bcrypt through passlib's ``CryptContext``, run in worker threads of lower priority
    (one per core), so a stream of logins cannot starve the requests sharing the core.

    A hash whose cost is below ``rounds`` or whose variant is not ``$2b$`` (for example
    ``$2a$`` from Node's bcrypt) verifies, and is reported for re-hashing.
    """

    def __init__(self, rounds: int = 12) -> None:
        self._context = CryptContext(
            schemes=["bcrypt"],
            deprecated="auto",
            bcrypt__default_rounds=rounds,  # not bcrypt__rounds: that also caps the cost
            bcrypt__min_rounds=rounds,
        )
        self._dummy_hash: str | None = None
        self._workers = ThreadPoolExecutor(
            max_workers=os.cpu_count() or 1,
            thread_name_prefix="authgate-bcrypt",
            initializer=_lower_priority,
        )

    async def _run(self, function: Callable[..., T], *args: object) -> T:
        """``function(*args)`` on a low-priority bcrypt worker thread."""
        return await asyncio.get_running_loop().run_in_executor(self._workers, function, *args)

    async def hash(self, password: str) -> str:
        if not fits_bcrypt(password):
            raise ValueError("password does not fit bcrypt (over 72 bytes or contains NUL)")
        return await self._run(self._context.hash, password)

    async def verify_and_update(self, password: str, stored_hash: str) -> tuple[bool, str | None]:
        if not fits_bcrypt(password):
            await self.dummy_verify("x")
            return False, None
        return await self._run(self._verify_and_update, password, stored_hash)

    async def dummy_verify(self, password: str) -> None:
        dummy_hash = self._dummy_hash
        if dummy_hash is None:
            created: str = await self._run(self._context.hash, "authgate-dummy")
            self._dummy_hash = dummy_hash = created
        candidate = password if fits_bcrypt(password) else "x"
        await self._run(self._safe_verify, candidate, dummy_hash)

    def _verify_and_update(self, password: str, stored_hash: str) -> tuple[bool, str | None]:
        try:
            verified, new_hash = self._context.verify_and_update(password, stored_hash)
        except (ValueError, TypeError):
            return False, None  # not a hash this context knows: never a match
        if verified and new_hash is None and not stored_hash.startswith(_CURRENT_IDENT):
            new_hash = self._context.hash(password)
        return bool(verified), new_hash

    def _safe_verify(self, password: str, stored_hash: str) -> None:
        with contextlib.suppress(ValueError, TypeError):
            self._context.verify(password, stored_hash)
