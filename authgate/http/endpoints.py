"""The auth endpoints: thin handlers that parse, call the service and shape the envelope.

``Endpoints`` is what every handler class shares (the settings, the error renderer, the
client and the body of a request); ``AuthEndpoints`` holds the login, token, session and
profile handlers, ``authgate.http.recovery_endpoints`` the recovery ones. Which path and
method each answers, and what the OpenAPI document says of it, is the endpoint table's
(``authgate.http.table``); the router (``authgate.http.router``) builds the routes from it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import wraps

from starlette.requests import Request
from starlette.responses import Response

from authgate._compat import moved_names
from authgate.config import Network, Settings, parse_networks
from authgate.errors import AuthgateError, CsrfRejected, NotAuthenticated
from authgate.http.bodies import read_json_object
from authgate.http.clientip import client_ip
from authgate.http.cookies import REFRESH_COOKIE, clear_token_cookies, set_token_cookies
from authgate.http.csrf import (
    ORIGIN_CHECK,
    OriginCheck,
    carries_token_cookie,
    normalize_origins,
    origin_allowed,
)
from authgate.http.middleware import find_credential
from authgate.http.principal import AuthenticatedUser
from authgate.http.responses import ErrorRenderer, envelope, render_envelope
from authgate.observability.events import CSRF_REJECTED
from authgate.service import AuthService, Principal, TokenPair
from authgate.service.validation import (
    parse_credentials,
    parse_password_change,
    parse_profile_update,
    parse_refresh_token,
    parse_registration,
)
from authgate.sessions.protocol import ClientInfo

Handler = Callable[[Request], Awaitable[Response]]
"""An endpoint as Starlette calls it: the request in, the response out."""


def principal_of(request: Request) -> Principal:
    """The request's authenticated principal (set by ``AuthMiddleware``).

    Raises:
        NotAuthenticated: the request is not authenticated.
    """
    user = request.scope.get("user")
    if not isinstance(user, AuthenticatedUser):
        raise NotAuthenticated()
    return user.principal


def optional_principal(request: Request) -> Principal | None:
    """The request's principal when it is authenticated, else ``None``."""
    user = request.scope.get("user")
    return user.principal if isinstance(user, AuthenticatedUser) else None


def client_of(request: Request, trusted_proxies: tuple[Network, ...] = ()) -> ClientInfo:
    """The client's address (the socket's, unless behind a trusted proxy) and user agent."""
    return ClientInfo(
        ip=client_ip(request.scope, trusted_proxies),
        user_agent=request.headers.get("user-agent", ""),
    )


def in_envelope(endpoint: Handler, render: ErrorRenderer = render_envelope) -> Handler:
    """Turn authgate errors into responses (``render``: the envelope by default) even where
    the app installed no handlers."""

    @wraps(endpoint)
    async def wrapper(request: Request) -> Response:
        try:
            return await endpoint(request)
        except AuthgateError as exc:
            return render(request, exc)

    return wrapper


def token_data(tokens: TokenPair) -> dict[str, str]:
    return {"accessToken": tokens.access_token, "refreshToken": tokens.refresh_token}


class Endpoints:
    """What every endpoint class shares: the settings, the error renderer, and a request's
    client and JSON body.

    Args:
        settings: the gate's settings (body limit, trusted proxies, cookies).
        render_error: turns an error an endpoint answers itself (a refresh's 401, say) into
            its response; the router renders the raised ones with the same.
    """

    def __init__(self, settings: Settings, render_error: ErrorRenderer = render_envelope) -> None:
        self.settings = settings
        self.render = render_error
        self.trusted_proxies = parse_networks(settings.trusted_proxies)

    def client(self, request: Request) -> ClientInfo:
        """The request's client: its address (behind the trusted proxies) and user agent."""
        return client_of(request, self.trusted_proxies)

    async def _body(self, request: Request, *, allow_empty: bool = False) -> dict[str, object]:
        """The request's JSON object, within the body limit (``{}`` if empty and allowed)."""
        return await read_json_object(
            request, max_bytes=self.settings.max_body_bytes, allow_empty=allow_empty
        )


class AuthEndpoints(Endpoints):
    """The login, token, session and profile endpoints, bound to one ``AuthService``."""

    def __init__(self, service: AuthService, render_error: ErrorRenderer = render_envelope) -> None:
        super().__init__(service.settings, render_error)
        self.service = service
        self.trusted_origins = normalize_origins(service.settings.trusted_origins)

    async def register(self, request: Request) -> Response:
        registration = parse_registration(await self._body(request))
        user = await self.service.register(registration)
        return envelope(201, user.public(), "User registered")

    async def login(self, request: Request) -> Response:
        credentials = parse_credentials(await self._body(request))
        result = await self.service.login(credentials, self.client(request))
        data = {"user": result.user.public(), **token_data(result.tokens)}
        response = envelope(200, data, "Logged in")
        set_token_cookies(
            response, self.settings, result.tokens.access_token, result.tokens.refresh_token
        )
        return response

    async def _check_origin(self, request: Request) -> None:
        """Refuse, as ``AuthMiddleware`` does, a request going by a cookie from a foreign
        origin (with the middleware's check, when it left one in the scope).

        Raises:
            CsrfRejected: the origin is neither the app's own nor trusted.
        """
        check = request.scope.get(ORIGIN_CHECK)
        if isinstance(check, OriginCheck):
            if origin_allowed(request.scope, check.trusted_origins):
                return
            check.refused = True
            ip, path = check.ip, check.path
        else:  # no middleware in front
            if origin_allowed(request.scope, self.trusted_origins):
                return
            ip, path = self.client(request).ip or None, request.url.path
        await self.service.events.emit(CSRF_REJECTED, ip=ip, path=path)
        raise CsrfRejected()

    async def refresh(self, request: Request) -> Response:
        # the body's token wins over the cookie's, and needs no origin check: a cross-site
        # page cannot put the victim's token in a body
        token = parse_refresh_token(await self._body(request, allow_empty=True))
        if not token:
            if carries_token_cookie(request.scope):
                await self._check_origin(request)
            token = request.cookies.get(REFRESH_COOKIE)
        try:
            tokens = await self.service.refresh(token, self.client(request))
        except NotAuthenticated as exc:
            response = self.render(request, exc)
            clear_token_cookies(response, self.settings)
            return response
        response = envelope(200, token_data(tokens), "Tokens refreshed")
        set_token_cookies(response, self.settings, tokens.access_token, tokens.refresh_token)
        return response

    async def logout(self, request: Request) -> Response:
        # lenient on purpose: whatever else the body holds, logout still ends the session
        body = await self._body(request, allow_empty=True)
        body_token = body.get("refreshToken")
        if not isinstance(body_token, str) or not body_token:
            body_token = None
        user = request.scope.get("user")
        by_bearer = isinstance(user, AuthenticatedUser) and not find_credential(request.scope)[1]
        # Bearer, else the body's refresh token, else the cookies; only these are checked
        if not by_bearer and body_token is None and carries_token_cookie(request.scope):
            await self._check_origin(request)
        try:
            if isinstance(user, AuthenticatedUser) and (by_bearer or body_token is None):
                await self.service.logout(user.principal, self.client(request))
            else:  # no access token, or the body's refresh token: it names the session
                refresh_token = body_token or request.cookies.get(REFRESH_COOKIE)
                await self.service.logout_with_refresh_token(refresh_token, self.client(request))
        except NotAuthenticated as exc:
            response = self.render(request, exc)
        else:
            response = envelope(200, None, "Logged out")
        clear_token_cookies(response, self.settings)
        return response

    async def logout_all(self, request: Request) -> Response:
        await self._body(request, allow_empty=True)
        revoked = await self.service.logout_all(principal_of(request), self.client(request))
        response = envelope(200, {"revoked": revoked}, "Logged out everywhere")
        clear_token_cookies(response, self.settings)
        return response

    async def me(self, request: Request) -> Response:
        return envelope(200, principal_of(request).user.public(), "Current user")

    async def update_profile(self, request: Request) -> Response:
        principal = principal_of(request)
        update = parse_profile_update(await self._body(request))
        user = await self.service.update_profile(principal, update)
        return envelope(200, user.public(), "Settings saved")

    async def sessions(self, request: Request) -> Response:
        views = await self.service.list_sessions(principal_of(request))
        return envelope(200, [view.public() for view in views], "Sessions")

    async def revoke_session(self, request: Request) -> Response:
        principal = principal_of(request)
        session_id = str(request.path_params["session_id"])
        await self.service.revoke_session(principal, session_id, self.client(request))
        response = envelope(200, None, "Session revoked")
        if session_id == principal.session_id:
            clear_token_cookies(response, self.settings)
        return response

    async def change_password(self, request: Request) -> Response:
        principal = principal_of(request)
        current, new = parse_password_change(await self._body(request))
        revoked = await self.service.change_password(principal, current, new, self.client(request))
        return envelope(200, {"revoked": revoked}, "Password changed")


# the router's names, before it moved to authgate.http.router (it reads the endpoint table,
# which names the handlers here): still importable from here, with a warning
__getattr__ = moved_names(
    __name__, {"MountedRouter": "authgate.http.router", "auth_router": "authgate.http.router"}
)
