"""The recovery endpoints: parse, call ``RecoveryFlows``, answer.

Their paths and methods are the endpoint table's (``authgate.http.table``), beside the
other auth endpoints, in the same router.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from authgate.http.cookies import clear_token_cookies
from authgate.http.endpoints import Endpoints, optional_principal, principal_of
from authgate.http.responses import ErrorRenderer, envelope, render_envelope
from authgate.recovery.flows import RecoveryFlows
from authgate.recovery.validation import (
    parse_email_change,
    parse_forgot_password,
    parse_password_reset,
    parse_token,
)

RESET_LINK_SENT = "If an account uses this address, a link to reset its password is on its way"


class RecoveryEndpoints(Endpoints):
    """The password-reset, e-mail verification and e-mail change endpoints, bound to one
    ``RecoveryFlows``."""

    def __init__(self, flows: RecoveryFlows, render_error: ErrorRenderer = render_envelope) -> None:
        super().__init__(flows.settings, render_error)
        self.flows = flows

    async def forgot_password(self, request: Request) -> Response:
        email = parse_forgot_password(await self._body(request))
        await self.flows.forgot_password(email, self.client(request))
        return envelope(202, None, RESET_LINK_SENT)

    async def reset_password(self, request: Request) -> Response:
        token, new_password = parse_password_reset(await self._body(request))
        revoked = await self.flows.reset_password(token, new_password, self.client(request))
        response = envelope(200, {"revoked": revoked}, "Password reset; please log in")
        clear_token_cookies(response, self.settings)  # every session has ended
        return response

    async def request_verification(self, request: Request) -> Response:
        principal = principal_of(request)
        await self._body(request, allow_empty=True)
        if await self.flows.request_verification(principal, self.client(request)):
            return envelope(202, None, "A verification link is on its way")
        return envelope(200, None, "Email already verified")

    async def verify_email(self, request: Request) -> Response:
        user = await self.flows.verify_email(parse_token(await self._body(request)))
        return envelope(200, user.public(), "Email verified")

    async def change_email(self, request: Request) -> Response:
        principal = principal_of(request)
        new_email, current = parse_email_change(await self._body(request))
        await self.flows.request_email_change(principal, new_email, current, self.client(request))
        return envelope(202, None, "A confirmation link is on its way to the new address")

    async def confirm_email_change(self, request: Request) -> Response:
        token = parse_token(await self._body(request))
        principal = optional_principal(request)
        user = await self.flows.confirm_email_change(token, principal)
        return envelope(200, user.public(), "Email changed")
