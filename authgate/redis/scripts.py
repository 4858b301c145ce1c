"""The one loader of authgate's Lua scripts.

Each script is a ``lua/<name>.lua`` file of the package that owns it (``authgate.sessions``,
``authgate.limits``, ``authgate.recovery``), with a header on its KEYS and ARGV. The loader
puts the shared prelude (``authgate/redis/lua/prelude.lua``: how a session record is read,
the user's credential epoch) in front of every script, so no script spells those out again,
and registers it once with the client (``EVALSHA``, reloaded by redis-py after a
``SCRIPT FLUSH``).
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files

from redis.asyncio import Redis, RedisCluster
from redis.commands.core import AsyncScript


@cache
def prelude() -> str:
    """The shared Lua prelude."""
    return files("authgate.redis").joinpath("lua", "prelude.lua").read_text(encoding="utf-8")


@cache
def script_source(package: str, name: str) -> str:
    """The prelude and the text of ``<package>/lua/<name>.lua``."""
    own = files(package).joinpath("lua", f"{name}.lua").read_text(encoding="utf-8")
    return f"{prelude()}\n{own}"


def register_script(client: Redis | RedisCluster, package: str, name: str) -> AsyncScript:
    """``<package>/lua/<name>.lua`` (after the prelude), registered with ``client``."""
    return client.register_script(script_source(package, name))
