"""Old module paths of authgate, before it was laid out by layer, kept importing.

``import authgate.middleware`` (or ``from authgate.routes import principal_of``) still
works: it gives the module's new home (``authgate.http.middleware``), the very same module
object, with a ``DeprecationWarning`` that names it. Installed from ``authgate/__init__``.
A name that moved out of a module which is still there (``authgate.tokens.SecretKey``)
imports through that module's ``__getattr__`` (``moved_names``), with the same warning.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import warnings
from collections.abc import Callable, Mapping
from types import ModuleType
from typing import Any

MOVED = {
    "authgate.accounts": "authgate.service.admin",
    "authgate.bodies": "authgate.http.bodies",
    "authgate.clientip": "authgate.http.clientip",
    "authgate.cookies": "authgate.http.cookies",
    "authgate.csrf": "authgate.http.csrf",
    "authgate.devices": "authgate.sessions.devices",
    "authgate.events": "authgate.observability.events",
    "authgate.guards": "authgate.http.guards",
    "authgate.hot_metrics": "authgate.observability.collectors",
    "authgate.lifespan": "authgate.http.lifespan",
    "authgate.metrics": "authgate.observability.metrics",
    "authgate.middleware": "authgate.http.middleware",
    "authgate.mounting": "authgate.http.wrap",
    "authgate.observer": "authgate.observability.observer",
    "authgate.openapi": "authgate.http.openapi",
    "authgate.openapi.operations": "authgate.http.operation",
    "authgate.openapi.schemas": "authgate.http.openapi.schemas",
    "authgate.principal": "authgate.http.principal",
    "authgate.recovery.bodies": "authgate.recovery.validation",
    "authgate.recovery.routes": "authgate.http.recovery_endpoints",
    "authgate.responses": "authgate.http.responses",
    "authgate.routes": "authgate.http.endpoints",
    "authgate.sessions.connection": "authgate.redis.connect",
    "authgate.sessions.wire": "authgate.redis.wire",
    "authgate.throttle": "authgate.limits.logins",
    "authgate.token_cache": "authgate.tokens.cache",
    "authgate.users.database": "authgate.users",
    "authgate.validation": "authgate.service.validation",
}


class MovedModules(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds an old module path and loads it as its new home (a warning on the way)."""

    def find_spec(
        self, fullname: str, path: object = None, target: object = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in MOVED:
            return None
        return importlib.machinery.ModuleSpec(fullname, self)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        new = MOVED[spec.name]
        warnings.warn(
            f"{spec.name} has moved to {new}; import it from there (or from authgate)",
            DeprecationWarning,
            stacklevel=2,
        )
        return importlib.import_module(new)

    def exec_module(self, module: ModuleType) -> None:
        # the import system set the old name's spec on the shared module: give it its own
        # back (its own name stays, as create_module left it)
        module.__spec__ = importlib.util.find_spec(module.__name__)


def install() -> None:
    """Put the finder on ``sys.meta_path`` (once)."""
    if not any(isinstance(finder, MovedModules) for finder in sys.meta_path):
        # first: an old path under an old package that is a new one (authgate.openapi.schemas
        # under authgate.http.openapi) would otherwise be found by the path finder, in the
        # new package's folder, and loaded a second time as a module of its own
        sys.meta_path.insert(0, MovedModules())


def moved_names(module: str, homes: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``module``: each name of ``homes`` is looked up in its
    new home (``homes[name]``, a module) with a ``DeprecationWarning``; any other name is
    an ``AttributeError``."""

    def __getattr__(name: str) -> Any:
        home = homes.get(name)
        if home is None:
            raise AttributeError(f"module {module!r} has no attribute {name!r}")
        warnings.warn(
            f"{module}.{name} has moved to {home}; import it from there",
            DeprecationWarning,
            stacklevel=2,
        )
        return getattr(importlib.import_module(home), name)

    return __getattr__
