"""Limits: the one reserve counter (``counter``), how clients are counted (``addresses``)
and the login throttle built on them (``logins``)."""

from authgate.limits.logins import LoginThrottle, RedisLoginThrottle, account_key_for

__all__ = ["LoginThrottle", "RedisLoginThrottle", "account_key_for"]
