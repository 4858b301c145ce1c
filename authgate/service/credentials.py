"""Credential changes: the one path every change of a password, an address or an
account's state takes, so that what the old credentials allowed ends with them.

Each change is three steps, in this order:

1. every other session of the user ends (if Redis cannot be reached, nothing changed);
2. the user store writes the change and bumps the user's credential epoch in one atomic
   step, and only from the epoch the caller read (a change that raced another one, or a
   token of an older epoch, changes nothing);
3. Redis takes the new epoch (``SessionStore.advance_epoch``): every session of an older
   epoch ends, the kept one moves to the new epoch, every one-time token of the user and
   the cached user go.

A login reads the epoch with the password hash it checks and opens its session only while
that epoch is current, so a login with the old password that raced the change either
opened its session before step 3 (which ends it) or opens nothing.
"""

from __future__ import annotations

from authgate.errors import email_taken
from authgate.service.base import ServiceBase
from authgate.users.protocol import CredentialChange

# the epoch a deleted user's Redis state is moved to: no session or token reaches it
GONE_EPOCH = 10**12


class CredentialFlows(ServiceBase):
    """Every credential change, through ``change_credentials``."""

    @property
    def _epoch_memory(self) -> int:
        """How long Redis remembers an epoch: as long as anything issued in one can live."""
        settings = self.settings
        return max(
            settings.refresh_token_expiry, settings.reset_token_ttl, settings.verify_token_ttl
        )

    async def change_credentials(
        self,
        user_id: str,
        change: CredentialChange,
        *,
        epoch: int | None,
        keep_sid: str | None = None,
    ) -> int | None:
        """Apply ``change`` as a credential change (see the module's docstring).

        Args:
            epoch: the credential epoch the caller read (with the password it checked, or
                from the one-time token it redeemed); ``None`` for an operator's change,
                which applies whatever the epoch.
            keep_sid: the one session the change keeps (moved to the new epoch).

        Returns:
            How many sessions ended, or ``None`` when nothing changed: there is no such
            user, or the epoch had moved on.
        """
        ended = await self.sessions.revoke_all(user_id, keep_sid=keep_sid)
        new_epoch = await self.users.change_credentials(user_id, change, epoch=epoch)
        if new_epoch is None:
            return None
        ended += await self.sessions.advance_epoch(
            user_id, new_epoch, keep_sid=keep_sid, remember_seconds=self._epoch_memory
        )
        return ended

    async def replace_password(
        self,
        user_id: str,
        new_password: str,
        *,
        epoch: int,
        keep_sid: str | None = None,
        email_proven: bool = False,
    ) -> int | None:
        """Hash ``new_password`` (off the event loop) and make it the user's password.

        Args:
            email_proven: the change came through a link mailed to the current address
                (a reset), so that address is verified too.

        Returns:
            As ``change_credentials``.
        """
        new_hash = await self.hasher.hash(new_password)
        change = CredentialChange(password_hash=new_hash, email_verified=email_proven or None)
        return await self.change_credentials(user_id, change, epoch=epoch, keep_sid=keep_sid)

    async def change_email(
        self, user_id: str, new_email: str, *, epoch: int, keep_sid: str | None = None
    ) -> int | None:
        """Make ``new_email`` (proven by the link mailed to it) the user's address.

        Raises:
            Conflict: the address is taken (the user store's unique constraint decides).

        Returns:
            As ``change_credentials``.
        """
        # a taken address is answered before any session ends (the database still decides
        # a race, after the sessions ended: safe, if rare)
        holder = await self.users.get_by_login(new_email)
        if holder is not None and holder.id != user_id:
            raise email_taken()
        change = CredentialChange(email=new_email, email_verified=True)
        return await self.change_credentials(user_id, change, epoch=epoch, keep_sid=keep_sid)

    async def end_user_state(self, user_id: str) -> int:
        """A deleted user's Redis state ends: every session, token and the cached user."""
        return await self.sessions.advance_epoch(
            user_id, GONE_EPOCH, remember_seconds=self._epoch_memory
        )
