"""Security headers on every response of the example app: the page, its files, the API."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


class SecurityHeaders:
    """A pure ASGI middleware that adds ``SECURITY_HEADERS`` to every HTTP response, so no
    path that serves the page or its files (``/``, ``/static/...``, a 404) goes without."""

    def __init__(self, app: ASGIApp, headers: dict[str, str] | None = None) -> None:
        self.app = app
        chosen = SECURITY_HEADERS if headers is None else headers
        # raw (name, value) pairs made once: this runs on every response
        self.raw = [(name.lower().encode(), value.encode()) for name, value in chosen.items()]
        self.names = frozenset(name for name, _ in self.raw)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        raw, names = self.raw, self.names

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                # a header set by the app wins
                present = names.intersection([name.lower() for name, _ in headers])
                headers += [pair for pair in raw if pair[0] not in present] if present else raw
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
