"""The recovery flows: forgot and reset password, verify and change the e-mail address.

No HTTP in here; ``authgate.http.recovery_endpoints`` is the thin layer on top.

Mail is only ever queued on the outbox, so no answer waits for (or reveals anything
through) the SMTP server. ``forgot_password`` does the same work whether or not the
address has an account — the same lookup, the same counters, one token issued and one
message rendered and queued, counted alike by the metrics — and differs only in whether
the outbox delivers the message.
"""

from __future__ import annotations

from datetime import UTC, datetime

from authgate.errors import (
    ConfigError,
    CredentialsChanged,
    FieldError,
    TooManyRequests,
    ValidationError,
)
from authgate.observability.events import (
    EMAIL_CHANGE_REQUESTED,
    EMAIL_CHANGED,
    EMAIL_VERIFICATION_REQUESTED,
    EMAIL_VERIFIED,
    PASSWORD_RESET,
    PASSWORD_RESET_REQUESTED,
    RECOVERY_THROTTLED,
    USER_REGISTERED,
    SecurityEvent,
)
from authgate.recovery.limits import RecoveryLimits
from authgate.recovery.mailer import MailMessage
from authgate.recovery.onetime import CHANGE_EMAIL, RESET, VERIFY, OneTimeTokens
from authgate.recovery.outbox import Outbox
from authgate.recovery.templates import (
    CONFIRM_EMAIL_CHANGE,
    EMAIL_CHANGE_NOTICE,
    RESET_PASSWORD,
    VERIFY_EMAIL,
    MailTemplates,
    valid_for,
)
from authgate.service import AuthService, Principal, without_hash
from authgate.sessions.protocol import ClientInfo
from authgate.users.protocol import EmailStore, User

DEVELOPMENT_PUBLIC_URL = "http://127.0.0.1:8000"
# stands in for the account when an address has none, so both paths do the same work
DECOY = User(
    id="00000000-0000-4000-8000-000000000000",
    username="nobody",
    email="nobody@example.com",
    full_name="Nobody",
    avatar_url=None,
    is_active=False,
    created_at=datetime(2026, 1, 1, tzinfo=UTC),
)


def invalid_token() -> ValidationError:
    """The one answer for a token that is unknown, expired or used."""
    return ValidationError(
        "Invalid or expired link", errors=[FieldError("token", "is invalid, expired or used")]
    )


def too_many(flow: str, wait: int) -> TooManyRequests:
    return TooManyRequests(wait, f"Too many {flow} requests; try again later")


class RecoveryFlows:
    """Forgot/reset password and e-mail verification and change, over an ``AuthService``."""

    def __init__(
        self,
        service: AuthService,
        *,
        tokens: OneTimeTokens,
        limits: RecoveryLimits,
        outbox: Outbox,
        templates: MailTemplates,
        verify_on_register: bool,
    ) -> None:
        self.service = service
        self.settings = service.settings
        self.tokens = tokens
        self.limits = limits
        self.outbox = outbox
        self.templates = templates
        self.verify_on_register = verify_on_register

    # -- helpers ----------------------------------------------------------------------

    def link(self, purpose: str, token: str) -> str:
        """``{AUTHGATE_PUBLIC_URL}/#<purpose>=<token>``: never from the request's ``Host``,
        and in the fragment, which no server or ``Referer`` sees."""
        base = (self.settings.public_url or DEVELOPMENT_PUBLIC_URL).rstrip("/")
        return f"{base}/#{purpose}={token}"

    def _render(
        self, kind: str, to: str, user: User, link: str | None, ttl: int, **extra: str
    ) -> MailMessage:
        values = {
            "username": user.username,
            "full_name": user.full_name,
            "email": user.email,
            "valid_for": valid_for(ttl),
            **extra,
        }
        return self.templates.for_kind(kind).render(kind, to, link, values)

    def _queue(
        self, kind: str, to: str, user: User, link: str | None, ttl: int, **extra: str
    ) -> None:
        self.outbox.submit(self._render(kind, to, user, link, ttl, **extra))

    def _email_store(self) -> EmailStore:
        users = self.service.users
        if not hasattr(users, "mark_email_verified"):
            raise ConfigError("This UserStore cannot verify or change e-mail addresses")
        return users  # type: ignore[return-value]  # checked just above

    async def _check_client(self, flow: str, client: ClientInfo) -> None:
        wait = await self.limits.client(client.ip)
        if wait:
            await self.service.events.emit(RECOVERY_THROTTLED, ip=client.ip, flow=flow)
            raise too_many(flow, wait)

    async def _check_user(self, flow: str, user_id: str, client: ClientInfo) -> None:
        wait = await self.limits.user(flow, user_id)
        if wait:
            await self.service.events.emit(
                RECOVERY_THROTTLED, user_id=user_id, ip=client.ip, flow=flow
            )
            raise too_many(flow, wait)

    # -- forgot and reset -------------------------------------------------------------

    async def forgot_password(self, email: str, client: ClientInfo) -> None:
        """Mail a reset link if ``email`` (normalised) belongs to an active account and its
        hourly limit is not reached; otherwise do the same work and send nothing.

        Raises:
            TooManyRequests: the client is over its limit (whatever the address).
        """
        await self._check_client("forgot-password", client)
        user = await self.service.users.get_by_login(email)
        within_limit = await self.limits.address(email) == 0
        real = user is not None and user.is_active and within_limit
        target = user if real and user is not None else DECOY
        ttl = self.settings.reset_token_ttl
        try:
            token = await self.tokens.issue(target.id, RESET, ttl, epoch=target.credential_epoch)
        except CredentialsChanged:  # the account changed meanwhile: its link would not work
            real, token = False, ""
        message = self._render(RESET_PASSWORD, target.email, target, self.link("reset", token), ttl)
        # rendered and queued on both paths alike; only a real one is delivered
        self.outbox.submit(message, deliver=real)
        await self.service.events.emit(
            PASSWORD_RESET_REQUESTED, user_id=target.id if real else None, ip=client.ip
        )

    async def reset_password(self, token: str, new_password: str, client: ClientInfo) -> int:
        """Set a new password with a reset token, as a credential change from the token's
        epoch: every session of the user ends at once and every other one-time token of
        theirs stops working. Returns sessions revoked.

        Raises:
            ValidationError: on ``token``, the same for unknown, expired and used tokens
                and for one of an older credential epoch.
        """
        redeemed = await self.tokens.consume(token, RESET, drop_others=True)
        user = await self.service.users.get_by_id(redeemed.user_id) if redeemed else None
        if (
            redeemed is None
            or user is None
            or not user.is_active
            or user.credential_epoch != redeemed.epoch
        ):
            raise invalid_token()
        # the link reached the mailbox: the address is proven too
        revoked = await self.service.replace_password(
            user.id, new_password, epoch=redeemed.epoch, email_proven=True
        )
        if revoked is None:
            raise invalid_token()
        await self.service.events.emit(
            PASSWORD_RESET, user_id=user.id, ip=client.ip, revoked=revoked
        )
        return revoked

    # -- verification -----------------------------------------------------------------

    async def send_verification(self, user: User) -> None:
        """Mail ``user`` a link that verifies their current address (none if their
        credentials changed since ``user`` was read)."""
        ttl = self.settings.verify_token_ttl
        try:
            token = await self.tokens.issue(
                user.id, VERIFY, ttl, data=user.email, epoch=user.credential_epoch
            )
        except CredentialsChanged:
            return  # the address may have changed: nothing to verify any more
        self._queue(VERIFY_EMAIL, user.email, user, self.link("verify-email", token), ttl)

    async def on_event(self, event: SecurityEvent) -> None:
        """A ``SecurityEvents`` hook: a new user gets a verification mail when mail is
        configured."""
        if event.name != USER_REGISTERED or not self.verify_on_register or not event.user_id:
            return
        user = await self.service.users.get_by_id(event.user_id)
        if user is not None:
            await self.send_verification(user)

    async def request_verification(self, principal: Principal, client: ClientInfo) -> bool:
        """Mail the caller another verification link; ``False`` if already verified.

        Raises:
            TooManyRequests: over the hourly limit.
        """
        user = await self.service.users.get_by_id(principal.user.id)
        if user is None or user.email_verified:
            return False
        await self._check_user("verify-email", user.id, client)
        await self.send_verification(user)
        await self.service.events.emit(EMAIL_VERIFICATION_REQUESTED, user_id=user.id, ip=client.ip)
        return True

    async def verify_email(self, token: str) -> User:
        """Mark the address the token was sent to as verified (if it is still the user's).

        Raises:
            ValidationError: on ``token`` (unknown, expired, used, or the address changed).
        """
        redeemed = await self.tokens.consume(token, VERIFY)
        if redeemed is None or not await self._email_store().mark_email_verified(
            redeemed.user_id, redeemed.data, epoch=redeemed.epoch
        ):
            raise invalid_token()
        return await self._changed(redeemed.user_id, EMAIL_VERIFIED)

    async def _changed(self, user_id: str, event: str) -> User:
        await self.service.events.emit(event, user_id=user_id)
        user = await self.service.users.get_by_id(user_id)
        if user is None:
            raise invalid_token()
        return without_hash(user)

    # -- change of address ------------------------------------------------------------

    async def request_email_change(
        self, principal: Principal, new_email: str, current_password: str, client: ClientInfo
    ) -> None:
        """Mail a confirmation link to ``new_email`` and a notice to the current address.
        Nothing changes until the link is used; whether the new address is taken is only
        decided then (by the database).

        The link carries the credential epoch the password was checked in: any credential
        change before it is used (a reset by the owner, say) kills it.

        Raises:
            ValidationError: wrong ``currentPassword``, or ``newEmail`` is the current one.
            TooManyRequests: the password check is over its limit, or the mail is: per
                account, per client IP or per destination address.
            CredentialsChanged: the credentials changed while the password was checked.
        """
        await self._check_client("change-email", client)
        user = await self.service.confirm_password(
            principal, current_password, client, via="change-email"
        )
        if new_email == user.email:
            raise ValidationError(
                "That is already your address",
                errors=[FieldError("newEmail", "is already your address")],
            )
        await self._check_user("change-email", user.id, client)
        wait = await self.limits.address(new_email, flow="change-email")
        if wait:
            await self.service.events.emit(
                RECOVERY_THROTTLED, user_id=user.id, ip=client.ip, flow="change-email"
            )
            raise too_many("change-email", wait)
        ttl = self.settings.verify_token_ttl
        token = await self.tokens.issue(
            user.id, CHANGE_EMAIL, ttl, data=new_email, epoch=user.credential_epoch
        )
        link = self.link("confirm-email", token)
        self._queue(CONFIRM_EMAIL_CHANGE, new_email, user, link, ttl, new_email=new_email)
        self._queue(EMAIL_CHANGE_NOTICE, user.email, user, None, ttl, new_email=new_email)
        await self.service.events.emit(EMAIL_CHANGE_REQUESTED, user_id=user.id, ip=client.ip)

    async def confirm_email_change(self, token: str, principal: Principal | None = None) -> User:
        """Switch to the address the link was mailed to (now verified), as a credential
        change from the epoch the link was issued in: every session ends but the one that
        confirms (``principal``'s, when it is the same user's), and every other one-time
        token of the user dies.

        Raises:
            ValidationError: on ``token`` (unknown, expired, used or of an older epoch).
            Conflict: the address was taken meanwhile (409; the database decides).
        """
        redeemed = await self.tokens.consume(token, CHANGE_EMAIL)
        user = await self.service.users.get_by_id(redeemed.user_id) if redeemed else None
        if redeemed is None or user is None or not user.is_active:
            raise invalid_token()
        keep = principal.session_id if principal and principal.user.id == user.id else None
        revoked = await self.service.change_email(
            user.id, redeemed.data, epoch=redeemed.epoch, keep_sid=keep
        )
        if revoked is None:
            raise invalid_token()
        return await self._changed(user.id, EMAIL_CHANGED)
