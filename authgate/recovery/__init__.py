"""Account recovery and e-mail verification.

``mailer`` (the ``Mailer`` protocol, SMTP and log mailers), ``templates`` (the replaceable
mails), ``outbox`` (sending in the background), ``onetime`` (one-time tokens in Redis),
``flows`` (forgot/reset password, verify and change e-mail; no HTTP), ``limits`` (how
often they may mail) and ``validation`` (their input rules). Their endpoints are
``authgate.http.recovery_endpoints``, added to the auth router.
"""

from authgate.recovery.mailer import LogMailer, Mailer, MailMessage, SmtpMailer
from authgate.recovery.outbox import Outbox
from authgate.recovery.templates import MailTemplate, MailTemplates

__all__ = [
    "LogMailer",
    "MailMessage",
    "MailTemplate",
    "MailTemplates",
    "Mailer",
    "Outbox",
    "SmtpMailer",
]
