"""Redis infrastructure: connecting (``connect``), errors as outages (``errors``), the one
Lua script loader with its shared prelude (``scripts``) and the packed batch call
(``wire``)."""

from authgate.redis.connect import connect_redis
from authgate.redis.errors import redis_errors, unavailable
from authgate.redis.scripts import register_script

__all__ = ["connect_redis", "redis_errors", "register_script", "unavailable"]
