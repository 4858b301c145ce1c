"""What the HTTP layer takes of a gate: the protocols ``AuthGate`` meets, so the middleware,
``wrap`` and the lifespan are handed their parts and never name the composition root."""

from __future__ import annotations

from typing import Any, Protocol

from starlette.routing import Router

from authgate.config import Settings
from authgate.http.responses import ErrorRenderer
from authgate.service import AuthService


class Lifecycle(Protocol):
    """Start-up and shut-down of authgate's connections and background tasks."""

    async def startup(self) -> None: ...

    async def shutdown(self) -> None: ...


class GateParts(Protocol):
    """What the middleware takes of a gate: its service and its error renderer."""

    @property
    def service(self) -> AuthService: ...

    @property
    def render_error(self) -> ErrorRenderer: ...


class MountableGate(GateParts, Lifecycle, Protocol):
    """What ``wrap`` takes of a gate: the parts, the router, the handlers and the lifecycle."""

    @property
    def settings(self) -> Settings: ...

    @property
    def exception_handlers(self) -> dict[Any, Any]: ...

    def router(self) -> Router: ...
