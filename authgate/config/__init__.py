"""Configuration: the ``Settings`` dataclass (``settings``), how each setting is declared
(``rules``: kinds, checks, ``setting()``), what production needs across settings
(``production``) and the docs' table generated from them (``table``)."""

from authgate.config.rules import (
    EMBEDDED_DATABASE_URL,
    MIN_PRODUCTION_BCRYPT_ROUNDS,
    MIN_SECRET_BYTES,
    Network,
    parse_duration,
    parse_networks,
    setting,
)
from authgate.config.settings import Settings, variable
from authgate.config.table import configuration_table

__all__ = [
    "EMBEDDED_DATABASE_URL",
    "MIN_PRODUCTION_BCRYPT_ROUNDS",
    "MIN_SECRET_BYTES",
    "Network",
    "Settings",
    "configuration_table",
    "parse_duration",
    "parse_networks",
    "setting",
    "variable",
]
