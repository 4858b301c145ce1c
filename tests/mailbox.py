"""A real SMTP server for the tests (aiosmtpd on a free port) and a mailbox to read it."""

from __future__ import annotations

import asyncio
import email
import re
import threading
import time
from email.message import EmailMessage
from email.policy import default
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from tests.processes import free_port

LINK = re.compile(r"https?://\S+#[a-z-]+=[A-Za-z0-9._~-]+")


class Received:
    """One mail the server accepted."""

    def __init__(self, envelope_to: list[str], raw: bytes) -> None:
        self.envelope_to = envelope_to
        self.message: EmailMessage = email.message_from_bytes(raw, policy=default)

    @property
    def to(self) -> str:
        return str(self.message["To"])

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    def part(self, subtype: str) -> str:
        body = self.message.get_body(preferencelist=(subtype,))
        assert body is not None, f"no text/{subtype} part"
        return str(body.get_content())

    @property
    def text(self) -> str:
        return self.part("plain")

    @property
    def link(self) -> str:
        found = LINK.findall(self.text)
        assert len(found) == 1, self.text
        return str(found[0])

    @property
    def token(self) -> str:
        return self.link.split("#", 1)[1].split("=", 1)[1]


class Mailbox:
    """Collects every mail an aiosmtpd server on 127.0.0.1 receives."""

    def __init__(self, **smtp_options: Any) -> None:
        self.port = free_port()
        self.url = f"smtp://127.0.0.1:{self.port}"
        self.mails: list[Received] = []
        self._lock = threading.Lock()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port, **smtp_options)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw: Any = envelope.original_content or envelope.content
        with self._lock:
            self.mails.append(Received([str(to) for to in envelope.rcpt_tos], bytes(raw)))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[Received]:
        with self._lock:
            return [mail for mail in self.mails if address in mail.envelope_to]

    async def wait_for(self, address: str, count: int = 1, within: float = 10.0) -> Received:
        """The ``count``-th mail to ``address``, waiting for it to arrive."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            mails = self.to(address)
            if len(mails) >= count:
                return mails[count - 1]
            await asyncio.sleep(0.02)
        raise AssertionError(f"no mail #{count} to {address} within {within}s")
