"""Mail: settings, the SMTP mailer against a real SMTP server, and the background outbox."""

from __future__ import annotations

import asyncio
import logging
from typing import Any
from urllib.parse import quote

import pytest
from aiosmtpd.smtp import AuthResult

from authgate import AuthGate, ConfigError, Settings
from authgate.observability.observer import Observers
from authgate.recovery import LogMailer, MailMessage, MailTemplates, Outbox, SmtpMailer
from authgate.recovery.mailer import SmtpServer
from authgate.recovery.templates import RESET_PASSWORD, valid_for
from tests.conftest import GateFactory
from tests.mailbox import Mailbox
from tests.processes import closed_port

SECRETS = {"ACCESS_TOKEN_SECRET": "a" * 40, "REFRESH_TOKEN_SECRET": "r" * 40}


def message(to: str = "alice@example.com") -> MailMessage:
    return MailTemplates().reset_password.render(
        RESET_PASSWORD,
        to,
        "https://app.example.com/#reset=tok<en>",
        {"full_name": "Alice <b>", "username": "alice", "valid_for": valid_for(3600)},
    )


class Counting(Observers):
    def __init__(self) -> None:
        super().__init__()
        self.mails: list[str] = []

    def mail_sent(self, kind: str) -> None:
        self.mails.append(kind)


def test_mail_settings_are_read_from_the_environment() -> None:
    settings = Settings.from_env(
        {
            **SECRETS,
            "AUTHGATE_PUBLIC_URL": "https://app.example.com/",
            "AUTHGATE_SMTP_URL": "smtps://me:p%40ss@mail.example.com:465",
            "AUTHGATE_MAIL_FROM": "App <no-reply@example.com>",
            "AUTHGATE_RESET_TOKEN_TTL": "30m",
            "AUTHGATE_VERIFY_TOKEN_TTL": "2d",
            "AUTHGATE_REQUIRE_VERIFIED_EMAIL": "true",
        }
    )
    assert settings.public_url == "https://app.example.com/"
    assert settings.mail_from == "App <no-reply@example.com>"
    assert (settings.reset_token_ttl, settings.verify_token_ttl) == (1800, 2 * 86400)
    assert settings.require_verified_email is True
    assert "p%40ss" not in repr(settings)  # the SMTP password stays out of reprs
    server = SmtpServer.from_url(settings.smtp_url or "")
    assert (server.hostname, server.port, server.username, server.password) == (
        "mail.example.com",
        465,
        "me",
        "p@ss",
    )
    assert server.implicit_tls
    assert (Settings().reset_token_ttl, Settings().verify_token_ttl) == (3600, 86400)
    assert Settings().require_verified_email is False


@pytest.mark.parametrize(
    ("variable", "value", "complaint"),
    [
        ("AUTHGATE_PUBLIC_URL", "app.example.com", "AUTHGATE_PUBLIC_URL"),
        ("AUTHGATE_PUBLIC_URL", "https://app.example.com/?x=1", "AUTHGATE_PUBLIC_URL"),
        ("AUTHGATE_SMTP_URL", "http://mail.example.com", "AUTHGATE_SMTP_URL"),
        ("AUTHGATE_REQUIRE_VERIFIED_EMAIL", "perhaps", "AUTHGATE_REQUIRE_VERIFIED_EMAIL"),
        ("AUTHGATE_RESET_TOKEN_TTL", "0", "AUTHGATE_RESET_TOKEN_TTL"),
    ],
)
def test_bad_mail_settings_stop_start_up(variable: str, value: str, complaint: str) -> None:
    with pytest.raises(ConfigError, match=complaint):
        Settings.from_env({**SECRETS, variable: value})


def production(**overrides: object) -> Settings:
    values: dict[str, object] = {
        "env": "production",
        "access_token_secret": "a" * 40,
        "refresh_token_secret": "r" * 40,
        "database_url": "postgresql+asyncpg://db.example/app",
        "redis_url": "redis://redis.example:6379",
        **overrides,
    }
    return Settings(**values)  # type: ignore[arg-type]


async def test_production_refuses_to_start_without_a_mailer_or_a_public_url() -> None:
    with pytest.raises(ConfigError, match="AUTHGATE_SMTP_URL must be set in production"):
        AuthGate(production(public_url="https://app.example.com"))
    with pytest.raises(ConfigError, match="AUTHGATE_PUBLIC_URL must be set in production"):
        production(smtp_url="smtp://mail.example.com").checked()
    with pytest.raises(ConfigError, match="AUTHGATE_PUBLIC_URL must be set in production"):
        AuthGate(production(), mailer=LogMailer())
    gate = AuthGate(
        production(smtp_url="smtp://mail.example.com", public_url="https://app.example.com")
    )
    assert isinstance(gate.outbox.mailer, SmtpMailer)
    await gate.shutdown()


async def test_smtp_mailer_delivers_plain_text_and_html(mailbox: Mailbox) -> None:
    mailer = SmtpMailer(mailbox.url, "App <no-reply@example.com>")

    await mailer.send(message())

    mail = await mailbox.wait_for("alice@example.com")
    assert mail.subject == "Reset your password"
    assert mail.message["From"] == "App <no-reply@example.com>"
    assert "https://app.example.com/#reset=tok<en>" in mail.text
    assert "Alice <b>" in mail.text
    html = mail.part("html")
    assert "Alice &lt;b&gt;" in html  # values are escaped in the HTML body
    assert 'href="https://app.example.com/#reset=tok&lt;en&gt;"' in html


async def test_smtp_mailer_logs_in_with_the_urls_credentials() -> None:
    logins: list[tuple[bytes, bytes]] = []

    def authenticator(
        server: object, session: object, envelope: object, mechanism: str, data: Any
    ) -> AuthResult:
        logins.append((data.login, data.password))
        return AuthResult(success=data.password == b"p@ss word")

    box = Mailbox(authenticator=authenticator, auth_require_tls=False)
    box.controller.start()
    try:
        good = f"smtp://mailer:{quote('p@ss word')}@127.0.0.1:{box.port}"
        await SmtpMailer(good, "no-reply@example.com").send(message())
    finally:
        box.controller.stop()
    assert [mail.to for mail in box.mails] == ["alice@example.com"]
    assert logins == [(b"mailer", b"p@ss word")]  # the URL's user and (unquoted) password


async def test_the_outbox_sends_in_the_background_and_counts_each_mail(mailbox: Mailbox) -> None:
    observer = Counting()
    outbox = Outbox(SmtpMailer(mailbox.url, "no-reply@example.com"), observer)
    outbox.start()
    try:
        for index in range(3):
            outbox.submit(message(f"user{index}@example.com"))  # returns at once
        await outbox.drain()
    finally:
        await outbox.stop()
    assert sorted(mail.to for mail in mailbox.mails) == [
        f"user{index}@example.com" for index in range(3)
    ]
    assert observer.mails == [RESET_PASSWORD] * 3


async def test_a_failing_send_is_retried_and_then_logged_never_lost_silently(
    caplog: pytest.LogCaptureFixture,
) -> None:
    observer = Counting()
    mailer = SmtpMailer(f"smtp://127.0.0.1:{closed_port()}", "no-reply@example.com")
    outbox = Outbox(mailer, observer, attempts=3, first_retry_seconds=0.01)
    outbox.start()
    with caplog.at_level(logging.WARNING, logger="authgate.mail"):
        outbox.submit(message("lost@example.com"))
        await asyncio.wait_for(outbox.drain(), 10)
    await outbox.stop()
    retries = [r for r in caplog.records if r.levelno == logging.WARNING]
    failures = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(retries) == 2
    assert len(failures) == 1
    assert "after 3 attempts" in failures[0].getMessage()
    assert "lost@example.com" in failures[0].getMessage()
    assert "tok" not in caplog.text  # the link (a one-time token) is never logged
    assert observer.mails == []


async def test_a_gate_starts_and_stops_its_outbox(make_gate: GateFactory, mailbox: Mailbox) -> None:
    gate = await make_gate(smtp_url=mailbox.url, public_url="https://app.example.com")
    gate.outbox.submit(message("bob@example.com"))
    await gate.shutdown()  # sends what is queued before it stops
    assert [mail.to for mail in mailbox.mails] == ["bob@example.com"]
