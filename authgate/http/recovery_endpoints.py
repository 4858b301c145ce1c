"""The recovery endpoints, added to the auth router: parse, call ``RecoveryFlows``, answer."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from authgate.config import parse_networks
from authgate.http.bodies import read_json_object
from authgate.http.cookies import clear_token_cookies
from authgate.http.endpoints import client_of, in_envelope, optional_principal, principal_of
from authgate.http.responses import ErrorRenderer, envelope, render_envelope
from authgate.recovery.flows import RecoveryFlows
from authgate.recovery.validation import (
    parse_email_change,
    parse_forgot_password,
    parse_password_reset,
    parse_token,
)
from authgate.sessions.protocol import ClientInfo

RESET_LINK_SENT = "If an account uses this address, a link to reset its password is on its way"


class RecoveryEndpoints:
    """The recovery endpoints (forgot and reset password, verify and change the e-mail
    address), bound to one ``RecoveryFlows``."""

    def __init__(self, flows: RecoveryFlows, render_error: ErrorRenderer = render_envelope) -> None:
        self.flows = flows
        self.render = render_error
        self.settings = flows.settings
        self.trusted_proxies = parse_networks(flows.settings.trusted_proxies)

    def client(self, request: Request) -> ClientInfo:
        return client_of(request, self.trusted_proxies)

    async def _body(self, request: Request) -> dict[str, object]:
        return await read_json_object(request, max_bytes=self.settings.max_body_bytes)

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
        await read_json_object(request, max_bytes=self.settings.max_body_bytes, allow_empty=True)
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

    def routes(self) -> list[Route]:
        return [
            Route(
                "/forgot-password", in_envelope(self.forgot_password, self.render), methods=["POST"]
            ),
            Route(
                "/reset-password", in_envelope(self.reset_password, self.render), methods=["POST"]
            ),
            Route(
                "/verify-email/request",
                in_envelope(self.request_verification, self.render),
                methods=["POST"],
            ),
            Route("/verify-email", in_envelope(self.verify_email, self.render), methods=["POST"]),
            Route("/change-email", in_envelope(self.change_email, self.render), methods=["POST"]),
            Route(
                "/change-email/confirm",
                in_envelope(self.confirm_email_change, self.render),
                methods=["POST"],
            ),
        ]
