"""Logins: the password check behind the throttle, and the password change that reuses it."""

from __future__ import annotations

from typing import NoReturn

from authgate.errors import (
    AuthgateError,
    CredentialsChanged,
    EmailNotVerified,
    FieldError,
    InvalidCredentials,
    SessionRevoked,
    TooManyRequests,
    ValidationError,
)
from authgate.limits.logins import account_key_for
from authgate.observability.events import (
    LOGIN_FAILED,
    LOGIN_SUCCEEDED,
    LOGIN_THROTTLED,
    PASSWORD_CHANGED,
)
from authgate.service.credentials import CredentialFlows
from authgate.service.results import LoginResult, Principal, without_hash
from authgate.service.validation import MAX_LOGIN, Credentials
from authgate.sessions.protocol import ClientInfo
from authgate.users.protocol import User


class Logins(CredentialFlows):
    """Password checks, each counted by the throttle before it runs."""

    async def login(self, credentials: Credentials, client: ClientInfo) -> LoginResult:
        """Check the password and open a new session.

        Unknown users are verified against a dummy hash, so both failures cost the same
        and answer the same ``InvalidCredentials``. Each check is counted per account and
        per client IP before it runs; once a limit is full every attempt, even a right
        one, gets ``TooManyRequests`` until the window ends. The session opens only in
        the credential epoch read with the hash: a login that raced a credential change
        opens nothing and answers ``InvalidCredentials``.
        """
        user = None
        # no account has such a login, and PostgreSQL refuses NUL in text: an unknown user
        if len(credentials.login) <= MAX_LOGIN and "\x00" not in credentials.login:
            user = await self.users.get_by_login(credentials.login)
        account = account_key_for(user.id if user else None, credentials.login)
        await self._reserve_check(account, client, user.id if user else None)
        if user is None:
            await self.hasher.dummy_verify(credentials.password)
            await self._login_failed(client, None)
        verified, new_hash = await self.hasher.verify_and_update(
            credentials.password, user.password_hash
        )
        if not verified or not user.is_active:
            await self._login_failed(client, user.id)
        await self._check_succeeded(account, client)
        if self.settings.require_verified_email and not user.email_verified:
            raise EmailNotVerified()  # the right password, but no session until verified
        tokens = await self._open_session(user.id, client, epoch=user.credential_epoch)
        if tokens is None:  # the credentials changed since they were read
            await self._login_failed(client, user.id, reason="credentials-changed")
        if new_hash is not None:  # the same password at today's cost, if nothing changed
            await self.users.set_password_hash(user.id, new_hash, epoch=user.credential_epoch)
        await self.events.emit(
            LOGIN_SUCCEEDED, user_id=user.id, session_id=tokens.access_claims.sid, ip=client.ip
        )
        return LoginResult(without_hash(user), tokens)

    async def _reserve_check(self, account: str, client: ClientInfo, user_id: str | None) -> None:
        """Reserve one password check against the account's and the client's limits before
        it runs, so parallel guesses cannot outrun the count.

        Raises:
            TooManyRequests: a limit is full; no password is checked.
        """
        if self.throttle is None:
            return
        wait = await self.throttle.reserve(account, client.ip)
        if wait > 0:
            await self.events.emit(LOGIN_THROTTLED, user_id=user_id, ip=client.ip, retry_after=wait)
            raise TooManyRequests(wait)

    async def _check_succeeded(self, account: str, client: ClientInfo) -> None:
        if self.throttle is not None:
            await self.throttle.succeeded(account, client.ip)

    async def _login_failed(
        self,
        client: ClientInfo,
        user_id: str | None,
        error: AuthgateError | None = None,
        **detail: str,
    ) -> NoReturn:
        """Report a wrong password and raise; its reserved check stays counted as the failure."""
        await self.events.emit(LOGIN_FAILED, user_id=user_id, ip=client.ip, **detail)
        raise error if error is not None else InvalidCredentials()

    async def confirm_password(
        self, principal: Principal, password: str, client: ClientInfo, *, via: str
    ) -> User:
        """Check the caller's current password, counted by the login throttle like a login
        (so a stolen access token cannot be used to guess the password).

        Returns the stored user (with its hash).

        Raises:
            TooManyRequests: the account or the client is over its limit.
            ValidationError: on ``currentPassword`` when it is wrong.
            SessionRevoked: the user is gone or inactive.
        """
        user_id = principal.user.id
        account = account_key_for(user_id, principal.user.username)
        await self._reserve_check(account, client, user_id)
        stored = await self.users.get_by_id(user_id)
        if stored is None or not stored.is_active:
            raise SessionRevoked()
        verified, _ = await self.hasher.verify_and_update(password, stored.password_hash)
        if not verified:
            wrong = ValidationError(
                "Current password is incorrect",
                errors=[FieldError("currentPassword", "is incorrect")],
            )
            await self._login_failed(client, user_id, wrong, via=via)
        await self._check_succeeded(account, client)
        return stored

    async def change_password(
        self, principal: Principal, current_password: str, new_password: str, client: ClientInfo
    ) -> int:
        """Replace the caller's password; every other session is revoked, this one kept
        (a credential change: see ``CredentialFlows``).

        A wrong current password counts as a failed login (so a stolen access token cannot
        be used to guess the password) and answers ``ValidationError`` on
        ``currentPassword``. Returns how many other sessions were revoked.

        Raises:
            CredentialsChanged: they changed meanwhile (nothing was changed here).
        """
        user_id, sid = principal.user.id, principal.session_id
        stored = await self.confirm_password(
            principal, current_password, client, via="change-password"
        )
        revoked = await self.replace_password(
            user_id, new_password, epoch=stored.credential_epoch, keep_sid=sid
        )
        if revoked is None:
            raise CredentialsChanged()
        await self.events.emit(
            PASSWORD_CHANGED, user_id=user_id, session_id=sid, ip=client.ip, revoked=revoked
        )
        return revoked
