"""The mails authgate sends, as replaceable templates.

Each ``MailTemplate`` is a subject, a plain-text body and an HTML body written with
``string.Template`` placeholders: ``$link``, ``$username``, ``$full_name``, ``$email``,
``$new_email`` and ``$valid_for`` (e.g. ``1 hour``). Values are HTML-escaped in the HTML
body. Replace any of them with ``dataclasses.replace(MailTemplates(), reset_password=...)``
and pass the result to ``AuthGate(mail_templates=...)``.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from string import Template

from authgate.recovery.mailer import MailMessage

RESET_PASSWORD = "reset-password"  # noqa: S105 - a mail kind
VERIFY_EMAIL = "verify-email"
CONFIRM_EMAIL_CHANGE = "confirm-email-change"
EMAIL_CHANGE_NOTICE = "email-change-notice"
MAIL_KINDS = (RESET_PASSWORD, VERIFY_EMAIL, CONFIRM_EMAIL_CHANGE, EMAIL_CHANGE_NOTICE)


@dataclass(frozen=True, slots=True)
class MailTemplate:
    """Subject, plain text and HTML of one kind of mail."""

    subject: str
    text: str
    html: str

    def render(self, kind: str, to: str, link: str | None, values: dict[str, str]) -> MailMessage:
        """The finished message for ``to``."""
        values = {**values, "link": link or ""}
        escaped = {name: html.escape(value) for name, value in values.items()}
        return MailMessage(
            kind=kind,
            to=to,
            subject=Template(self.subject).safe_substitute(values),
            text=Template(self.text).safe_substitute(values),
            html=Template(self.html).safe_substitute(escaped),
            link=link,
        )


def _html(*paragraphs: str) -> str:
    body = "".join(f"<p>{paragraph}</p>" for paragraph in paragraphs)
    return f'<!doctype html><html><body style="font-family:sans-serif">{body}</body></html>'


@dataclass(frozen=True, slots=True)
class MailTemplates:
    """Every mail's template; each can be replaced."""

    reset_password: MailTemplate = field(
        default_factory=lambda: MailTemplate(
            subject="Reset your password",
            text=(
                "Hello $full_name,\n\nSomeone (hopefully you) asked to reset the password of "
                "the account $username. Choose a new password here:\n\n$link\n\n"
                "The link works once, for $valid_for. If you did not ask for it, ignore this "
                "mail: your password stays as it is.\n"
            ),
            html=_html(
                "Hello $full_name,",
                "Someone (hopefully you) asked to reset the password of the account "
                "<b>$username</b>.",
                '<a href="$link">Choose a new password</a>',
                "The link works once, for $valid_for. If you did not ask for it, ignore this "
                "mail: your password stays as it is.",
            ),
        )
    )
    verify_email: MailTemplate = field(
        default_factory=lambda: MailTemplate(
            subject="Confirm your e-mail address",
            text=(
                "Hello $full_name,\n\nPlease confirm that $email is your address:\n\n$link\n\n"
                "The link works once, for $valid_for.\n"
            ),
            html=_html(
                "Hello $full_name,",
                "Please confirm that <b>$email</b> is your address.",
                '<a href="$link">Confirm my address</a>',
                "The link works once, for $valid_for.",
            ),
        )
    )
    confirm_email_change: MailTemplate = field(
        default_factory=lambda: MailTemplate(
            subject="Confirm your new e-mail address",
            text=(
                "Hello $full_name,\n\nThe account $username asked to use $new_email from now "
                "on. Confirm the change here:\n\n$link\n\nThe link works once, for $valid_for. "
                "Until it is used, the address stays $email.\n"
            ),
            html=_html(
                "Hello $full_name,",
                "The account <b>$username</b> asked to use <b>$new_email</b> from now on.",
                '<a href="$link">Confirm the new address</a>',
                "The link works once, for $valid_for. Until it is used, the address stays $email.",
            ),
        )
    )
    email_change_notice: MailTemplate = field(
        default_factory=lambda: MailTemplate(
            subject="Your e-mail address is being changed",
            text=(
                "Hello $full_name,\n\nSomeone signed in as $username asked to change the "
                "account's address from $email to $new_email. It changes once the link sent "
                "to the new address is used. If this was not you, change your password now.\n"
            ),
            html=_html(
                "Hello $full_name,",
                "Someone signed in as <b>$username</b> asked to change the account's address "
                "from <b>$email</b> to <b>$new_email</b>.",
                "It changes once the link sent to the new address is used. If this was not "
                "you, change your password now.",
            ),
        )
    )

    def for_kind(self, kind: str) -> MailTemplate:
        """The template of ``kind`` (one of ``MAIL_KINDS``)."""
        return {
            RESET_PASSWORD: self.reset_password,
            VERIFY_EMAIL: self.verify_email,
            CONFIRM_EMAIL_CHANGE: self.confirm_email_change,
            EMAIL_CHANGE_NOTICE: self.email_change_notice,
        }[kind]


def valid_for(seconds: int) -> str:
    """``3600`` -> ``"1 hour"``, ``86400`` -> ``"24 hours"``, ``90`` -> ``"2 minutes"``."""
    if seconds % 3600 == 0:
        hours = seconds // 3600
        return f"{hours} hour" + ("s" if hours != 1 else "")
    minutes = max(1, -(-seconds // 60))
    return f"{minutes} minute" + ("s" if minutes != 1 else "")
