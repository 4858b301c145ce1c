"""Outcomes worth counting that are not security events: how each request authenticated,
how each refresh ended, how long the session check took, which mails went out.

The middleware and the service report them to an ``Observers`` fan-out, empty by default
(a loop over nothing on the hot path). ``authgate.observability.metrics.PrometheusMetrics`` is one
observer; anything with the same methods can be added.
"""

from __future__ import annotations

from typing import Protocol

# how a request went through the middleware
REQUEST_AUTHENTICATED = "authenticated"
REQUEST_ANONYMOUS = "anonymous"  # no token, or a bad one, on a public path
REQUEST_REJECTED = "rejected"  # 401 on a protected path
REQUEST_FORBIDDEN = "forbidden"  # 403: a cross-site cookie request, or a scope missing
REQUEST_UNAVAILABLE = "unavailable"  # 503: Redis or the database down

# how a refresh ended (besides RotationOutcome's rotated, grace, reused and missing)
REFRESH_INVALID = "invalid"  # no token, a bad signature, expired, or an access token


class Observer(Protocol):
    """Receives outcomes; every method must be cheap and must not raise."""

    def request(self, outcome: str) -> None:
        """A request went through the middleware with ``outcome`` (``REQUEST_*``)."""
        ...

    def refresh(self, outcome: str) -> None:
        """A refresh ended: a ``RotationOutcome`` value or ``REFRESH_INVALID``."""
        ...

    def session_checked(self, seconds: float) -> None:
        """The Redis session check of an authenticated request took ``seconds``."""
        ...

    def mail_sent(self, kind: str) -> None:
        """A mail of ``kind`` (a fixed name such as ``"verify-email"``) was sent."""
        ...


_PER_REQUEST = ("request", "session_checked")


class Observers:
    """Passes every outcome on to each added observer (none by default)."""

    def __init__(self) -> None:
        self._observers: list[Observer] = []

    def add(self, observer: Observer) -> None:
        """Report every outcome to ``observer`` too."""
        self._observers.append(observer)
        # the two reports of every request: with one observer (the usual case) its own
        # methods are called, with no loop in between
        for name in _PER_REQUEST:
            if getattr(type(self), name) is not getattr(Observers, name):
                continue  # a subclass's own method stays its own
            if len(self._observers) == 1:
                setattr(self, name, getattr(observer, name))
            else:
                vars(self).pop(name, None)

    def request(self, outcome: str) -> None:
        for observer in self._observers:
            observer.request(outcome)

    def refresh(self, outcome: str) -> None:
        for observer in self._observers:
            observer.refresh(outcome)

    def session_checked(self, seconds: float) -> None:
        for observer in self._observers:
            observer.session_checked(seconds)

    def mail_sent(self, kind: str) -> None:
        for observer in self._observers:
            observer.mail_sent(kind)
