"""Mailers: the ``Mailer`` protocol, the SMTP mailer and the development mailer that logs.

A mailer only delivers a finished ``MailMessage``; the outbox (``authgate.recovery.outbox``)
calls it in the background, so no request ever waits for it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Protocol
from urllib.parse import unquote, urlsplit

from authgate.errors import ConfigError

logger = logging.getLogger("authgate.mail")

SMTP_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True, slots=True)
class MailMessage:
    """One mail: plain text plus HTML. ``kind`` is a fixed name (``"reset-password"``...)
    used for metrics and logs; ``link`` is the one-time link in it, if any."""

    kind: str
    to: str
    subject: str
    text: str
    html: str
    link: str | None = field(default=None, repr=False)

    def to_email(self, sender: str) -> EmailMessage:
        """The message as a MIME ``multipart/alternative`` e-mail from ``sender``."""
        message = EmailMessage()
        message["From"] = sender
        message["To"] = self.to
        message["Subject"] = self.subject
        message.set_content(self.text)
        message.add_alternative(self.html, subtype="html")
        return message


class Mailer(Protocol):
    """Delivers mail. Raise on failure: the outbox retries a few times and logs the loss."""

    async def send(self, message: MailMessage) -> None:
        """Deliver ``message`` or raise."""
        ...


class LogMailer:
    """The development mailer: writes each message, link included, to the log.

    Only for development: the log then holds working one-time links.
    """

    def __init__(self) -> None:
        self.sent: list[MailMessage] = []

    async def send(self, message: MailMessage) -> None:
        self.sent.append(message)
        del self.sent[:-100]  # keep the last hundred for a look in a debugger, no more
        logger.info(
            "mail (not sent: no AUTHGATE_SMTP_URL) to=%s subject=%r\n%s",
            message.to,
            message.subject,
            message.text,
        )


@dataclass(frozen=True, slots=True)
class SmtpServer:
    """Where and how to reach an SMTP server, read from ``smtp://user:pass@host:port``."""

    hostname: str
    port: int
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    implicit_tls: bool = False

    @classmethod
    def from_url(cls, url: str) -> SmtpServer:
        """``smtp://`` (STARTTLS when the server offers it) or ``smtps://`` (implicit TLS).

        Raises:
            ConfigError: the URL is not an SMTP URL.
        """
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ConfigError("AUTHGATE_SMTP_URL must look like smtp://user:pass@host:port")
        implicit = parts.scheme == "smtps"
        try:
            port = parts.port or (465 if implicit else 587)
        except ValueError:
            raise ConfigError("AUTHGATE_SMTP_URL has an invalid port") from None
        return cls(
            hostname=parts.hostname,
            port=port,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            implicit_tls=implicit,
        )


class SmtpMailer:
    """Sends over SMTP with aiosmtplib (the ``smtp`` extra: ``pip install authgate[smtp]``).

    ``smtps://`` connects with TLS; ``smtp://`` upgrades with STARTTLS whenever the server
    offers it. Certificates are verified.
    """

    def __init__(self, url: str, sender: str, *, timeout: float = SMTP_TIMEOUT_SECONDS) -> None:
        try:
            import aiosmtplib  # noqa: F401 - fail at start-up, not at the first mail
        except ImportError:  # pragma: no cover - depends on the installed extras
            raise ConfigError(
                "AUTHGATE_SMTP_URL needs aiosmtplib: install authgate[smtp]"
            ) from None
        self.server = SmtpServer.from_url(url)
        self.sender = sender
        self.timeout = timeout

    async def send(self, message: MailMessage) -> None:
        import aiosmtplib

        server = self.server
        await aiosmtplib.send(
            message.to_email(self.sender),
            hostname=server.hostname,
            port=server.port,
            username=server.username,
            password=server.password,
            use_tls=server.implicit_tls,
            start_tls=False if server.implicit_tls else None,  # None: when offered
            timeout=self.timeout,
        )
