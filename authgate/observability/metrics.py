"""Prometheus metrics (the ``metrics`` extra: ``pip install authgate[metrics]``).

``gate.enable_metrics()`` makes one ``PrometheusMetrics`` per gate, with its own registry
(so several gates in one process never collide), fed by the security events (logins,
revoked sessions) and by the observer seam (requests, refreshes, the session check, mails).
Every label takes a value from a fixed set: never a user id, an IP, a path or a token.
"""

from __future__ import annotations

from collections.abc import Sequence

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter
from prometheus_client.exposition import generate_latest
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from authgate.observability.collectors import FixedLabelCounter, LatencyHistogram
from authgate.observability.events import (
    LOGIN_FAILED,
    LOGIN_SUCCEEDED,
    LOGIN_THROTTLED,
    LOGOUT,
    PASSWORD_CHANGED,
    PASSWORD_RESET,
    REFRESH_REUSE_DETECTED,
    SESSIONS_REVOKED,
    USER_DEACTIVATED,
    USER_DELETED,
    SecurityEvent,
)
from authgate.observability.observer import (
    REFRESH_INVALID,
    REQUEST_ANONYMOUS,
    REQUEST_AUTHENTICATED,
    REQUEST_FORBIDDEN,
    REQUEST_REJECTED,
    REQUEST_UNAVAILABLE,
)

LOGIN_OUTCOMES = {
    LOGIN_SUCCEEDED: "succeeded",
    LOGIN_FAILED: "failed",
    LOGIN_THROTTLED: "throttled",
}
REQUEST_OUTCOMES = (
    REQUEST_AUTHENTICATED,
    REQUEST_ANONYMOUS,
    REQUEST_REJECTED,
    REQUEST_FORBIDDEN,
    REQUEST_UNAVAILABLE,
)
# the reason a session ended, by event (``sessions.revoked`` says its own reason)
REVOKE_REASONS = {
    LOGOUT: "logout",
    REFRESH_REUSE_DETECTED: "reuse-detected",
    PASSWORD_CHANGED: "password-changed",
    PASSWORD_RESET: "password-reset",
    USER_DEACTIVATED: "user-deactivated",
    USER_DELETED: "user-deleted",
}
SESSIONS_REVOKED_REASONS = ("logout-all", "revoked-by-user")
OTHER = "other"
# a session check is one Redis round trip: sub-millisecond on a LAN, seconds when it hangs
SESSION_CHECK_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 3.0)


class PrometheusMetrics:
    """authgate's counters and histogram, in a registry of their own.

    An ``Observer`` (for the middleware and the service) and a security-event hook
    (``on_event``); ``route()`` serves them in the Prometheus text format.
    """

    def __init__(
        self,
        *,
        refresh_outcomes: Sequence[str],
        mail_kinds: Sequence[str],
        registry: CollectorRegistry | None = None,
    ) -> None:
        """``refresh_outcomes`` and ``mail_kinds``: every value those labels take (the
        gate passes the session store's rotation outcomes and the recovery mails' kinds),
        so each shows at 0 from the start and no other value is ever a label."""
        self.registry = registry if registry is not None else CollectorRegistry()
        logins = Counter(
            "authgate_logins",
            "Login attempts by outcome.",
            ["outcome"],
            registry=self.registry,
        )
        refreshes = Counter(
            "authgate_refreshes",
            "Refresh-token requests by outcome.",
            ["outcome"],
            registry=self.registry,
        )
        # the two metrics every request moves: plain numbers, read when scraped
        self._requests = FixedLabelCounter(
            "authgate_requests",
            "Requests through the middleware by authentication outcome.",
            "outcome",
            REQUEST_OUTCOMES,
        )
        self._session_check = LatencyHistogram(
            "authgate_session_check_seconds",
            "Latency of the Redis session check of an authenticated request.",
            SESSION_CHECK_BUCKETS,
        )
        self.registry.register(self._requests)
        self.registry.register(self._session_check)
        self._revoked = Counter(
            "authgate_sessions_revoked",
            "Sessions ended before their expiry, by reason.",
            ["reason"],
            registry=self.registry,
        )
        self._mails = Counter(
            "authgate_mails_sent",
            "Mails sent, by kind.",
            ["kind"],
            registry=self.registry,
        )
        # children bound up front: every known value shows (at 0), and the hot path does
        # a dict lookup instead of a labels() call
        self._logins = {name: logins.labels(value) for name, value in LOGIN_OUTCOMES.items()}
        self._refreshes = {
            value: refreshes.labels(value) for value in (*refresh_outcomes, REFRESH_INVALID)
        }
        for reason in (*REVOKE_REASONS.values(), *SESSIONS_REVOKED_REASONS):
            self._revoked.labels(reason)
        for kind in mail_kinds:
            self._mails.labels(kind)

    # -- Observer ---------------------------------------------------------------------

    def request(self, outcome: str) -> None:
        self._requests.inc(outcome)

    def refresh(self, outcome: str) -> None:
        counter = self._refreshes.get(outcome)
        if counter is not None:
            counter.inc()

    def session_checked(self, seconds: float) -> None:
        self._session_check.observe(seconds)

    def mail_sent(self, kind: str) -> None:
        self._mails.labels(kind).inc()

    # -- security events --------------------------------------------------------------

    async def on_event(self, event: SecurityEvent) -> None:
        """Count logins and revoked sessions (a ``SecurityEvents`` hook)."""
        login = self._logins.get(event.name)
        if login is not None:
            login.inc()
            return
        if event.name == SESSIONS_REVOKED:
            reason = event.detail.get("reason")
            self._revoke(reason if reason in SESSIONS_REVOKED_REASONS else OTHER, event)
        elif event.name in REVOKE_REASONS:
            self._revoke(REVOKE_REASONS[event.name], event)

    def _revoke(self, reason: str, event: SecurityEvent) -> None:
        revoked = event.detail.get("revoked", 1)
        if isinstance(revoked, int) and revoked > 0:
            self._revoked.labels(reason).inc(revoked)

    # -- serving ----------------------------------------------------------------------

    def render(self) -> bytes:
        """The metrics in the Prometheus text format."""
        return generate_latest(self.registry)

    def route(self, path: str = "/metrics") -> Route:
        """A ``GET`` route serving ``render()``."""

        async def metrics(request: Request) -> Response:
            return Response(self.render(), media_type=CONTENT_TYPE_LATEST)

        return Route(path, metrics, methods=["GET"])
