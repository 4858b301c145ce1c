"""authgate in Django (ASGI).

``gate.wrap(get_asgi_application(), prefix="/auth", protect=...)`` in ``asgi.py`` serves
the auth endpoints, runs ``AuthMiddleware`` in front of Django and gives the gate a
lifespan (Django has none, so without it the users table is never created). Inside
Django, this module adds:

- ``AuthgateMiddleware`` (in ``MIDDLEWARE``, before ``CsrfViewMiddleware``): a request
  authenticated by ``Authorization: Bearer`` is exempt from Django's CSRF check (a browser
  never adds that header by itself; cookie requests stay checked by both authgate and
  Django), and an authgate error raised in a view (``principal_of``) becomes its 401/403
  response, never a 500;
- ``user_of(request)``, ``principal_of(request)`` and the ``requires(*scopes)`` view
  decorator (401 anonymous, 403 without a scope).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, TypeVar

from django.http import HttpRequest, HttpResponse
from django.utils.deprecation import MiddlewareMixin
from starlette.types import Scope

from authgate.errors import AuthgateError, NotAuthenticated
from authgate.http.guards import refusal, sent_as_bearer
from authgate.integrations import mount
from authgate.service import Principal
from authgate.users.protocol import User

__all__ = ["AuthgateMiddleware", "principal_of", "requires", "user_of"]

_View = TypeVar("_View", bound=Callable[..., Any])


def _scope(request: HttpRequest) -> Scope:
    """The request's ASGI scope; a request Django did not get over ASGI has none, and is
    then seen as anonymous."""
    scope: Scope = getattr(request, "scope", None) or {"type": "http", "headers": []}
    return scope


def principal_of(request: HttpRequest) -> Principal:
    """The request's ``Principal`` (user, session, claims).

    Raises:
        NotAuthenticated: nobody is logged in (``AuthgateMiddleware`` answers 401).
    """
    scope = _scope(request)
    if not mount.middleware_saw(scope):
        raise NotAuthenticated("authgate's middleware did not see this request")
    return mount.principal_of(scope)


def user_of(request: HttpRequest) -> User | None:
    """The logged-in ``User``, or ``None`` when anonymous."""
    return mount.user_of(_scope(request))


def error_response(request: HttpRequest, error: AuthgateError) -> HttpResponse:
    """``error`` rendered by the gate's renderer, as a Django response."""
    parts = mount.ResponseParts.of(mount.render_error(_scope(request), error))
    response = HttpResponse(parts.body, status=parts.status_code, content_type=parts.content_type)
    for name, value in parts.headers:
        response[name] = value
    return response


def requires(*scopes: str) -> Callable[[_View], _View]:
    """Guard a Django view (sync or async): 401 when anonymous, 403 without every one of
    ``scopes``; ``@requires()`` needs a login only."""
    required = frozenset(scopes)

    def refused(request: HttpRequest) -> HttpResponse | None:
        error = refusal(_scope(request), required)
        return error_response(request, error) if error is not None else None

    def decorate(view: _View) -> _View:
        if inspect.iscoroutinefunction(view):

            @functools.wraps(view)
            async def guard_async(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
                return refused(request) or await view(request, *args, **kwargs)

            return guard_async  # type: ignore[return-value]

        @functools.wraps(view)
        def guard_sync(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            return refused(request) or view(request, *args, **kwargs)

        return guard_sync  # type: ignore[return-value]

    return decorate


class AuthgateMiddleware(MiddlewareMixin):  # type: ignore[misc]
    """Django middleware: Bearer requests skip Django's CSRF check; authgate errors raised
    in views are answered with their status (401, 403, 503), never a 500.

    Put it before ``django.middleware.csrf.CsrfViewMiddleware`` in ``MIDDLEWARE``.
    """

    def process_request(self, request: HttpRequest) -> None:
        """Exempt a request authenticated by ``Authorization: Bearer`` from Django's CSRF."""
        scope = _scope(request)
        user = scope.get("user")
        if user is not None and user.is_authenticated and sent_as_bearer(scope):
            # Django's own switch (its test client and DRF use it): this request cannot
            # have been forged by another site, it carries a header no browser adds
            request._dont_enforce_csrf_checks = True

    def process_exception(self, request: HttpRequest, exception: Exception) -> Any:
        """An authgate error (``principal_of`` on an anonymous request) -> its response."""
        if isinstance(exception, AuthgateError):
            return error_response(request, exception)
        return None
