"""``AuthGate``: builds the stores and the service from settings and hands out the pieces
an app plugs in — the middleware, the router, the exception handlers and a lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from redis.asyncio import Redis, RedisCluster
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, Router
from starlette.types import ASGIApp

from authgate.config import Settings
from authgate.errors import AuthgateError, ConfigError, ServiceUnavailable
from authgate.http.guards import Protect
from authgate.http.middleware import AuthMiddleware, RequireAuth
from authgate.http.responses import EXCEPTION_HANDLERS, ErrorRenderer, envelope, render_envelope
from authgate.http.router import auth_router
from authgate.http.wrap import AuthWrapped
from authgate.limits.logins import LoginThrottle, RedisLoginThrottle
from authgate.migrations import upgrade
from authgate.observability.events import EventHook, SecurityEvents
from authgate.observability.observer import Observers
from authgate.passwords import BcryptPasswordHasher, PasswordHasher
from authgate.recovery.flows import RecoveryFlows
from authgate.recovery.limits import RecoveryLimits
from authgate.recovery.mailer import LogMailer, Mailer, SmtpMailer
from authgate.recovery.onetime import OneTimeTokens
from authgate.recovery.outbox import Outbox
from authgate.recovery.templates import MAIL_KINDS, MailTemplates
from authgate.redis.connect import connect_redis
from authgate.service import AuthService
from authgate.service.admin import Accounts
from authgate.sessions.protocol import RotationOutcome, SessionStore
from authgate.sessions.redis_store import RedisSessionStore
from authgate.tokens import TokenCodec
from authgate.users.engine import create_engine
from authgate.users.protocol import UserStore
from authgate.users.store import SqlAlchemyUserStore

if TYPE_CHECKING:
    from authgate.observability.metrics import PrometheusMetrics

logger = logging.getLogger("authgate")
TABLE_RETRY_SECONDS = 5


class AuthGate:
    """authgate wired up for one app.

    Args:
        settings: defaults to ``Settings.from_env()``.
        users: bring your own ``UserStore``; defaults to SQLAlchemy on ``database_url``.
        sessions: bring your own ``SessionStore``; defaults to Redis on ``redis_url``.
        hasher: defaults to bcrypt with ``bcrypt_rounds``.
        throttle: bring your own ``LoginThrottle``; defaults to Redis on ``redis_url``.
        on_event: async hooks called with every ``SecurityEvent``.
        mailer: bring your own ``Mailer``; defaults to SMTP on ``smtp_url``, else (in
            development only) a mailer that writes each mail to the log.
        mail_templates: replace the subjects and bodies of the mails.
        render_error: turns an error (401, 403, ...) into the response the app wants; used
            by the middleware, the router, ``requires`` and the exception handlers. Default:
            the JSON envelope.
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        users: UserStore | None = None,
        sessions: SessionStore | None = None,
        hasher: PasswordHasher | None = None,
        throttle: LoginThrottle | None = None,
        on_event: Sequence[EventHook] = (),
        mailer: Mailer | None = None,
        mail_templates: MailTemplates | None = None,
        render_error: ErrorRenderer = render_envelope,
    ) -> None:
        # checked() again: a Settings(...) built in code gets the same guard as from_env(),
        # and now that the mailer is known, production's mail is checked too
        given = settings if settings is not None else Settings.from_env()
        self.settings = given.checked(own_mailer=mailer is not None)
        self.engine: AsyncEngine | None = None
        self._table_task: asyncio.Task[None] | None = None
        if users is None:
            self.engine = create_engine(self.settings.database_url)
            users = SqlAlchemyUserStore(self.engine)
        self.user_store = users  # as given: the service wraps it (CacheDroppingUsers)
        # the default sessions and throttle, and always the recovery flows' tokens
        self.redis: Redis | RedisCluster = connect_redis(
            self.settings.redis_url, max_connections=self.settings.redis_max_connections
        )
        if throttle is None:
            throttle = RedisLoginThrottle(
                self.redis,
                prefix=self.settings.redis_prefix,
                max_failures=self.settings.login_max_failures,
                max_failures_per_ip=self.settings.login_max_failures_per_ip,
                window_seconds=self.settings.login_window,
            )
        if sessions is None:
            sessions = RedisSessionStore(
                self.redis,
                prefix=self.settings.redis_prefix,
                max_sessions_per_user=self.settings.max_sessions_per_user,
                grace_seconds=self.settings.refresh_grace_seconds,
            )
        self.events = SecurityEvents(list(on_event))
        self.observers = Observers()
        self._metrics: PrometheusMetrics | None = None
        self.service = AuthService(
            self.settings,
            users=users,
            sessions=sessions,
            hasher=hasher or BcryptPasswordHasher(self.settings.bcrypt_rounds),
            tokens=TokenCodec(self.settings),
            throttle=throttle,
            events=self.events,
            observer=self.observers,
        )
        self.accounts = Accounts(self.service)
        self.render_error = render_error
        self.mail_configured = mailer is not None or self.settings.smtp_url is not None
        self.outbox = Outbox(mailer or self._default_mailer(), self.observers)
        self.recovery = RecoveryFlows(
            self.service,
            tokens=OneTimeTokens(self.redis, prefix=self.settings.redis_prefix),
            limits=RecoveryLimits(
                self.redis,
                prefix=self.settings.redis_prefix,
                per_address=self.settings.recovery_max_per_address,
                per_ip=self.settings.recovery_max_per_ip,
            ),
            outbox=self.outbox,
            templates=mail_templates or MailTemplates(),
            verify_on_register=self.mail_configured,
        )
        self.events.add_hook(self.recovery.on_event)

    def _default_mailer(self) -> Mailer:
        settings = self.settings
        if settings.smtp_url is not None:
            return SmtpMailer(settings.smtp_url, settings.mail_from)
        logger.warning("AUTHGATE_SMTP_URL is not set: mails are written to the log, not sent")
        return LogMailer()

    def router(self) -> Router:
        """The auth endpoints; mount them at ``/auth`` (the refresh cookie's path)."""
        return auth_router(self.service, self.render_error, recovery=self.recovery)

    def middleware(self, protect: Protect = ()) -> Middleware:
        """``AuthMiddleware`` with every setting of the gate, for ``Starlette(middleware=[...])``,
        guarding ``protect`` (prefixes, or a mapping of prefixes to required scopes)."""
        return Middleware(AuthMiddleware, gate=self, protect=protect)

    def wrap(self, app: ASGIApp, *, prefix: str = "/auth", protect: Protect = ()) -> AuthWrapped:
        """``app`` with authgate wired in, for any ASGI app: the auth endpoints at ``prefix``,
        ``AuthMiddleware`` with every setting of the gate guarding ``protect``, and the
        lifespan (this gate's start-up and shut-down around the app's own, if it has one)."""
        return AuthWrapped(self, app, prefix=prefix, protect=protect)

    def enable_metrics(self) -> PrometheusMetrics:
        """This gate's Prometheus metrics, made and wired up at the first call (needs the
        ``metrics`` extra); ``enable_metrics().route()`` serves them at ``/metrics``."""
        if self._metrics is None:
            try:
                from authgate.observability.metrics import PrometheusMetrics
            except ImportError:  # pragma: no cover - depends on the installed extras
                raise ConfigError(
                    "metrics need prometheus-client: install authgate[metrics]"
                ) from None
            self._metrics = PrometheusMetrics(
                refresh_outcomes=[outcome.value for outcome in RotationOutcome],
                mail_kinds=MAIL_KINDS,
            )
            self.observers.add(self._metrics)
            self.events.add_hook(self._metrics.on_event)
        return self._metrics

    def jwks_route(self, path: str = "/.well-known/jwks.json") -> Route:
        """A route serving the access keys' public JWKS (404 with an HS256 secret), so other
        services verify access tokens without any secret."""
        tokens = self.service.tokens

        async def jwks(request: Request) -> Response:
            document = tokens.jwks()
            if document is None:
                return envelope(404, None, "No public keys: access tokens use a shared secret")
            return JSONResponse(document, headers={"Cache-Control": "public, max-age=300"})

        return Route(path, jwks, methods=["GET"])

    def require(self, app: ASGIApp, scopes: Sequence[str] = ()) -> RequireAuth:
        """Wrap a ``Router`` or ASGI app so every request in it must be authenticated and
        hold every one of ``scopes``."""
        return RequireAuth(app, scopes)

    @property
    def exception_handlers(self) -> dict[Any, Any]:
        """Handlers that put every error, 404 and 405 included, in the envelope (authgate's
        errors through the gate's ``render_error``)."""
        render = self.render_error

        async def handle_authgate_error(request: Request, exc: Exception) -> Response:
            assert isinstance(exc, AuthgateError)
            return render(request, exc)

        return {**EXCEPTION_HANDLERS, AuthgateError: handle_authgate_error}

    async def startup(self, *, create_tables: bool = True) -> None:
        """Migrate the database to the current schema if needed and prepare the dummy hash.

        An unreachable database does not stop start-up: requests get 503 until it is back,
        and the migrations run in the background once it is reachable.
        """
        users = self.user_store
        if create_tables and isinstance(users, SqlAlchemyUserStore):
            try:
                await upgrade(users.engine)
            except ServiceUnavailable:
                logger.warning("database unreachable at start-up; answering 503 until it is back")
                self._table_task = asyncio.create_task(self._migrate_when_reachable(users))
        await self.service.hasher.dummy_verify("warm-up")
        self.outbox.start()

    async def _migrate_when_reachable(self, users: SqlAlchemyUserStore) -> None:
        while True:
            await asyncio.sleep(TABLE_RETRY_SECONDS)
            try:
                await upgrade(users.engine)
            except ServiceUnavailable:
                continue
            logger.info("database reachable again; its schema is up to date")
            return

    async def shutdown(self) -> None:
        """Send the queued mail (briefly), then close the connections authgate opened."""
        await self.outbox.stop()
        if self._table_task is not None:
            self._table_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._table_task
            self._table_task = None
        await self.redis.aclose()
        if self.engine is not None:
            await self.engine.dispose()

    @asynccontextmanager
    async def lifespan(self, app: object = None) -> AsyncIterator[None]:
        """``startup`` then ``shutdown``; usable as ``Starlette(lifespan=gate.lifespan)``."""
        await self.startup()
        try:
            yield
        finally:
            await self.shutdown()
