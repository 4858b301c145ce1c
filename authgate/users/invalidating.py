"""A ``UserStore`` whose every write drops the user's entry in the shared user cache.

The service reaches the user store only through this wrapper, so no flow can change a user
and forget the cache: every instance reads the change at its next request.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any

# the writes of ``UserStore`` and of its ``EmailStore`` and ``UserDirectory`` extensions;
# each takes the user id first
WRITES = frozenset(
    {
        "set_password_hash",
        "change_credentials",
        "update_profile",
        "set_active",
        "delete",
        "mark_email_verified",
        "add_role",
        "remove_role",
    }
)


class CacheDroppingUsers:
    """Wraps a ``UserStore``: reads pass through; after a write, ``drop(user_id)``.

    Attributes the wrapped store lacks are missing here too, so ``hasattr`` still tells
    which optional protocols (``EmailStore``, ``UserDirectory``) the store speaks.
    """

    def __init__(self, users: Any, drop: Callable[[str], Awaitable[None]]) -> None:
        self.inner = users
        self._drop = drop

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self.inner, name)
        if name not in WRITES:
            return attribute

        @functools.wraps(attribute)
        async def write(user_id: str, *args: Any, **kwargs: Any) -> Any:
            result = await attribute(user_id, *args, **kwargs)
            await self._drop(user_id)
            return result

        return write
