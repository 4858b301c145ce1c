"""Driving an ASGI app by hand where an HTTP client cannot: a raw WebSocket handshake."""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

from starlette.types import ASGIApp


async def websocket_handshake(
    app: ASGIApp, path: str, headers: list[tuple[bytes, bytes]]
) -> list[dict[str, Any]]:
    """Open ``path`` as a WebSocket from 203.0.113.7 with ``headers``; what the app sent."""
    scope = {
        "type": "websocket",
        "asgi": {"version": "3.0"},
        "scheme": "ws",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"testserver"), *headers],
        "client": ("203.0.113.7", 4711),
        "server": ("testserver", 80),
        "subprotocols": [],
    }
    incoming = [{"type": "websocket.connect"}]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return incoming.pop(0) if incoming else {"type": "websocket.disconnect", "code": 1000}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(dict(message))

    await app(scope, receive, send)
    return sent
