"""The middleware of contract §5, over ASGI on real PostgreSQL and Redis.

Where the library's test app (``tests.apps``) does not show a behaviour, a tiny Starlette app
built from the gate's pieces does: prefix matching, ``RequireAuth`` on a ``Mount``,
Starlette's ``@requires``; the example app serves ``/health``.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import replace
from importlib.resources import files
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from sqlalchemy import event
from starlette.applications import Starlette
from starlette.authentication import requires
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Mount, Route, Router

from authgate import AuthGate, Settings
from authgate.http.middleware import find_access_token
from authgate.tokens import TokenCodec, TokenKind
from tests.conftest import (
    Account,
    ClientFactory,
    GateFactory,
    login,
    register,
    register_and_login,
)
from tests.envelope import assert_envelope
from tests.processes import RedisServer, closed_port

# -- helpers --------------------------------------------------------------------------------


def assert_refused(response: httpx.Response) -> None:
    """401 in the envelope, with the challenge a bearer client expects."""
    assert assert_envelope(response, 401)["data"] is None
    assert response.headers["www-authenticate"] == "Bearer"


def bearer(token: str, scheme: str = "Bearer") -> dict[str, str]:
    return {"Authorization": f"{scheme} {token}"}


async def logged_in(client: httpx.AsyncClient, account: Account | None = None) -> Account:
    """A logged-in account whose cookies the client has forgotten (bearer only)."""
    account = await login(client, account or await register(client))
    client.cookies.clear()
    return account


async def whoami(request: Request) -> JSONResponse:
    user = request.user
    return JSONResponse(
        {
            "authenticated": user.is_authenticated,
            "username": user.username if user.is_authenticated else None,
            "path": request.url.path,
        }
    )


@asynccontextmanager
async def tiny_client(
    gate: AuthGate, routes: Sequence[BaseRoute], *, protect: Sequence[str] = (), root_path: str = ""
) -> AsyncIterator[httpx.AsyncClient]:
    app = Starlette(
        routes=list(routes),
        middleware=[gate.middleware(protect=protect)],
        exception_handlers=gate.exception_handlers,
    )
    transport = httpx.ASGITransport(app=app, root_path=root_path)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


# -- where the token comes from -------------------------------------------------------------


async def test_token_from_the_access_cookie(client: httpx.AsyncClient) -> None:
    account = await register_and_login(client)  # the client keeps the cookies

    response = await client.get("/api/profile")

    assert assert_envelope(response, 200)["data"]["id"] == account.id


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER", "bEaReR"])
async def test_bearer_scheme_is_case_insensitive(client: httpx.AsyncClient, scheme: str) -> None:
    account = await logged_in(client)

    response = await client.get("/api/profile", headers=bearer(account.access_token, scheme))

    assert assert_envelope(response, 200)["data"]["id"] == account.id


@pytest.mark.parametrize(
    "header",
    [
        "{token}",
        "Basic {token}",
        "Token {token}",
        "JWT {token}",
        "Bearer",
        "Bearer ",
        "Bearer {token} {token}",
        "Bearer{token}",
    ],
)
async def test_other_authorization_forms_are_not_accepted(
    client: httpx.AsyncClient, header: str
) -> None:
    account = await logged_in(client)

    response = await client.get(
        "/api/profile", headers={"Authorization": header.format(token=account.access_token)}
    )

    assert_refused(response)


async def test_the_header_comes_before_the_cookie(client: httpx.AsyncClient) -> None:
    other = await logged_in(client)
    cookie_owner = await register_and_login(client)  # its cookies stay in the client

    response = await client.get("/api/profile", headers=bearer(other.access_token))
    assert assert_envelope(response, 200)["data"]["id"] == other.id

    response = await client.get("/api/profile")
    assert assert_envelope(response, 200)["data"]["id"] == cookie_owner.id
    # a refused header token does not fall back to the cookie
    assert_refused(await client.get("/api/profile", headers=bearer("not.a.token")))


# -- protected and public paths -------------------------------------------------------------


async def test_protected_path_without_a_token_is_401(client: httpx.AsyncClient) -> None:
    for path in ("/api/profile", "/api/anything"):
        assert_refused(await client.get(path))


async def test_protected_path_with_a_bad_token_is_401(
    gate: AuthGate, client: httpx.AsyncClient
) -> None:
    account = await logged_in(client)
    claims = gate.service.tokens.verify(TokenKind.ACCESS, account.access_token)
    foreign = TokenCodec(replace(gate.settings, access_token_secret="another-key-" + "k" * 32))
    stale = TokenCodec(gate.settings, clock=lambda: time.time() - 3600)
    bad_tokens = {
        "garbage": "not.a.token",
        "refresh token": account.refresh_token,
        "other key": foreign.issue(TokenKind.ACCESS, sub=claims.sub, sid=claims.sid)[0],
        "expired": stale.issue(TokenKind.ACCESS, sub=claims.sub, sid=claims.sid)[0],
        "tampered": account.access_token[:-4]
        + ("AAAA" if account.access_token[-4:] != "AAAA" else "BBBB"),
    }

    for name, token in bad_tokens.items():
        response = await client.get("/api/profile", headers=bearer(token))
        assert response.status_code == 401, name
        assert_refused(response)
        client.cookies.set("accessToken", token)
        assert_refused(await client.get("/api/profile"))
        client.cookies.clear()
    assert_envelope(await client.get("/api/profile", headers=bearer(account.access_token)), 200)


async def test_public_path_with_a_bad_token_goes_on_unauthenticated(
    gate: AuthGate, example_client: httpx.AsyncClient
) -> None:
    health = await example_client.get("/health", headers=bearer("not.a.token"))
    assert_envelope(health, 200)

    example_client.cookies.set("accessToken", "not.a.token")
    assert_envelope(await example_client.get("/health"), 200)
    example_client.cookies.clear()
    registered = await register(example_client)
    again = await example_client.post(  # the auth endpoints are public too
        "/auth/login",
        json={"username": registered.username, "password": registered.password},
        headers=bearer("not.a.token"),
    )
    assert_envelope(again, 200)

    async with tiny_client(gate, [Route("/open", whoami)], protect=["/api"]) as tiny:
        response = await tiny.get("/open", headers=bearer("not.a.token"))
        assert response.json()["authenticated"] is False
        account = await logged_in(example_client, registered)
        response = await tiny.get("/open", headers=bearer(account.access_token))
        assert response.json() == {
            "authenticated": True,
            "username": account.username,
            "path": "/open",
        }


@pytest.mark.parametrize("prefix", ["/api", "/api/"])
async def test_a_prefix_protects_its_path_segment_only(
    gate: AuthGate, client: httpx.AsyncClient, prefix: str
) -> None:
    routes = [Route(path, whoami) for path in ("/api", "/api/x", "/apiary", "/apiary/x", "/ap")]
    account = await logged_in(client)

    async with tiny_client(gate, routes, protect=[prefix]) as tiny:
        for path in ("/apiary", "/apiary/x", "/ap"):
            response = await tiny.get(path)
            assert response.status_code == 200, path
            assert response.json()["authenticated"] is False
        for path in ("/api", "/api/x", "/api/", "/api/missing"):
            assert_refused(await tiny.get(path))
        for path in ("/api", "/api/x"):
            response = await tiny.get(path, headers=bearer(account.access_token))
            assert response.json()["authenticated"] is True


async def test_a_prefix_is_matched_below_the_root_path(
    gate: AuthGate, client: httpx.AsyncClient
) -> None:
    routes = [Route("/api/x", whoami), Route("/open", whoami)]

    async with tiny_client(gate, routes, protect=["/api"], root_path="/prefix") as tiny:
        assert_refused(await tiny.get("/prefix/api/x"))
        assert (await tiny.get("/prefix/open")).status_code == 200


async def test_require_auth_guards_a_mount_without_a_prefix(
    gate: AuthGate, client: httpx.AsyncClient
) -> None:
    private = Router(routes=[Route("/data", whoami)])
    routes = [Mount("/private", app=gate.require(private)), Route("/open", whoami)]
    account = await logged_in(client)

    async with tiny_client(gate, routes) as tiny:
        assert_refused(await tiny.get("/private/data"))
        assert_refused(await tiny.get("/private/data", headers=bearer("not.a.token")))
        assert (await tiny.get("/open")).json()["authenticated"] is False
        response = await tiny.get("/private/data", headers=bearer(account.access_token))
        assert response.status_code == 200
        assert response.json()["username"] == account.username


async def test_starlette_requires_sees_the_user_and_scopes(
    gate: AuthGate, client: httpx.AsyncClient
) -> None:
    @requires("authenticated")
    async def secret(request: Request) -> JSONResponse:
        return JSONResponse(
            {
                "id": request.user.identity,
                "username": request.user.username,
                "displayName": request.user.display_name,
                "scopes": list(request.auth.scopes),
            }
        )

    account = await logged_in(client)

    async with tiny_client(gate, [Route("/secret", secret)]) as tiny:
        assert_envelope(await tiny.get("/secret"), 403)
        response = await tiny.get("/secret", headers=bearer(account.access_token))

    assert response.json() == {
        "id": account.id,
        "username": account.username,
        "displayName": f"Test {account.username}",
        "scopes": ["authenticated"],
    }


# -- sessions and users that went away ------------------------------------------------------


async def test_a_revoked_session_is_refused_even_with_the_user_cached(
    client: httpx.AsyncClient,
) -> None:
    account = await logged_in(client)
    other = await logged_in(client, account)
    assert_envelope(await client.get("/api/profile", headers=bearer(account.access_token)), 200)

    logout = await client.post("/auth/logout", headers=bearer(account.access_token))
    assert_envelope(logout, 200)

    assert_refused(await client.get("/api/profile", headers=bearer(account.access_token)))
    assert_refused(await client.get("/auth/me", headers=bearer(account.access_token)))
    assert_envelope(await client.get("/api/profile", headers=bearer(other.access_token)), 200)


async def test_a_deactivated_user_is_refused_at_once(
    gate: AuthGate, client: httpx.AsyncClient
) -> None:
    account = await logged_in(client)
    assert_envelope(await client.get("/api/profile", headers=bearer(account.access_token)), 200)

    assert await gate.service.set_active(account.id, False)

    assert_refused(await client.get("/api/profile", headers=bearer(account.access_token)))
    relogin = await client.post(
        "/auth/login", json={"username": account.username, "password": account.password}
    )
    assert assert_envelope(relogin, 401)["message"] == "Invalid user credentials"

    assert await gate.service.set_active(account.id, True)
    assert_refused(await client.get("/api/profile", headers=bearer(account.access_token)))
    await logged_in(client, account)  # reactivated: a new login works, old sessions stay dead


async def test_a_deleted_user_is_refused(gate: AuthGate, client: httpx.AsyncClient) -> None:
    account = await logged_in(client)
    assert_envelope(await client.get("/api/profile", headers=bearer(account.access_token)), 200)

    assert await gate.service.delete_user(account.id)

    assert_refused(await client.get("/api/profile", headers=bearer(account.access_token)))
    assert_refused(await client.get("/auth/me", headers=bearer(account.access_token)))


@pytest.mark.parametrize("change", ["deactivate", "delete"])
async def test_the_user_is_checked_even_while_its_session_lives(
    make_gate: GateFactory, make_client: ClientFactory, change: str
) -> None:
    """A change in the user store alone (sessions untouched) still shuts the user out."""
    gate = await make_gate(user_cache_seconds=0)
    client = make_client(gate)
    account = await logged_in(client)

    if change == "deactivate":
        assert await gate.service.users.set_active(account.id, False)
    else:
        assert await gate.service.users.delete(account.id)

    assert_refused(await client.get("/api/profile", headers=bearer(account.access_token)))


# -- the shared user cache ------------------------------------------------------------------


async def test_a_profile_change_on_one_instance_is_seen_by_another(
    make_gate: GateFactory, make_client: ClientFactory
) -> None:
    client_a, client_b = make_client(await make_gate()), make_client(await make_gate())
    account = await logged_in(client_a)
    auth = bearer(account.access_token)
    before = await client_b.get("/auth/me", headers=auth)  # B caches the user
    assert assert_envelope(before, 200)["data"]["fullName"] == f"Test {account.username}"

    changed = await client_a.patch("/auth/me", headers=auth, json={"fullName": "Renamed"})
    assert_envelope(changed, 200)

    after = await client_b.get("/auth/me", headers=auth)
    assert assert_envelope(after, 200)["data"]["fullName"] == "Renamed"


async def test_a_deactivation_on_one_instance_is_seen_by_another(
    make_gate: GateFactory, make_client: ClientFactory
) -> None:
    gate_a, gate_b = await make_gate(), await make_gate()
    client_b = make_client(gate_b)
    account = await logged_in(client_b)
    assert_envelope(await client_b.get("/api/profile", headers=bearer(account.access_token)), 200)

    await gate_a.service.set_active(account.id, False)

    assert_refused(await client_b.get("/api/profile", headers=bearer(account.access_token)))


async def test_changes_outside_authgate_show_after_the_cache_ttl(
    make_gate: GateFactory, make_client: ClientFactory
) -> None:
    gate = await make_gate(user_cache_seconds=1)
    client = make_client(gate)
    account = await logged_in(client)
    auth = bearer(account.access_token)
    assert_envelope(await client.get("/auth/me", headers=auth), 200)  # cached for 1 s
    assert gate.engine is not None
    async with gate.engine.begin() as connection:  # behind authgate's back
        await connection.exec_driver_sql(
            "UPDATE users SET full_name = 'Changed Outside' WHERE id = $1::uuid", (account.id,)
        )

    cached = await client.get("/auth/me", headers=auth)
    assert assert_envelope(cached, 200)["data"]["fullName"] == f"Test {account.username}"
    await asyncio.sleep(1.2)
    fresh = await client.get("/auth/me", headers=auth)
    assert assert_envelope(fresh, 200)["data"]["fullName"] == "Changed Outside"


# -- cost of the hot path -------------------------------------------------------------------


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[str]:
    """A Redis server of this test's own, so its command statistics are ours alone."""
    server = RedisServer(tmp_path)
    try:
        server.start()
        yield server.url
    finally:
        server.stop()


def command_counts(server: redis.Redis) -> dict[str, int]:
    """Calls per command since the last ``CONFIG RESETSTAT`` (our own probes left out)."""
    stats: dict[str, Any] = server.info("commandstats")
    return {
        name.removeprefix("cmdstat_"): int(values["calls"])
        for name, values in stats.items()
        if not name.startswith(("cmdstat_info", "cmdstat_config"))
    }


def commands_inside_lookup_script() -> Counter[str]:
    """The commands the hot-path script runs server-side (Redis counts them as calls too)."""
    script = files("authgate.sessions").joinpath("lua", "lookup.lua").read_text()
    return Counter(name.lower() for name in re.findall(r"redis\.call\(\s*'(\w+)'", script))


async def test_a_cache_hit_costs_one_redis_round_trip_and_no_query(
    make_gate: GateFactory,
    make_client: ClientFactory,
    private_redis: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    gate = await make_gate(redis_url=private_redis)
    client = make_client(gate)
    account = await logged_in(client)
    auth = bearer(account.access_token)
    assert gate.engine is not None
    assert gate.redis is not None
    database_calls: list[str] = []
    sent: list[str] = []
    execute_command = gate.redis.execute_command

    async def counting_execute_command(*args: Any, **options: Any) -> Any:
        sent.append(str(args[0]))
        return await execute_command(*args, **options)

    def on_execute(*args: Any) -> None:
        database_calls.append(str(args[2]))

    def on_checkout(*args: Any) -> None:
        database_calls.append("checkout")

    monkeypatch.setattr(gate.redis, "execute_command", counting_execute_command)
    event.listen(gate.engine.sync_engine, "before_cursor_execute", on_execute)
    event.listen(gate.engine.sync_engine.pool, "checkout", on_checkout)
    server = redis.Redis.from_url(private_redis)
    try:
        assert_envelope(await client.get("/api/profile", headers=auth), 200)  # cache miss
        assert any("users" in call for call in database_calls)
        assert "SET" in sent  # the miss also writes the user into the cache
        assert_envelope(await client.get("/api/profile", headers=auth), 200)
        database_calls.clear()
        sent.clear()
        server.config_resetstat()

        requests = 5
        for _ in range(requests):
            assert_envelope(await client.get("/api/profile", headers=auth), 200)

        counts = command_counts(server)  # the checks are packed by hand: count them in Redis
        assert counts.pop("evalsha") == requests
        inside = commands_inside_lookup_script()
        assert all(calls <= requests * inside[name] for name, calls in counts.items()), counts
        assert database_calls == []
    finally:
        server.close()
        event.remove(gate.engine.sync_engine, "before_cursor_execute", on_execute)
        event.remove(gate.engine.sync_engine.pool, "checkout", on_checkout)


# -- outages --------------------------------------------------------------------------------


def assert_unavailable(response: httpx.Response) -> None:
    """503 in the envelope: nothing let through, no traceback, no driver detail."""
    assert assert_envelope(response, 503)["data"] is None
    for leak in ("Traceback", "127.0.0.1", "postgres", "redis.exceptions", "asyncpg"):
        assert leak not in response.text


async def test_redis_unreachable_is_503_and_never_lets_through(
    gate: AuthGate, make_gate: GateFactory, make_example_client: ClientFactory
) -> None:
    account = await logged_in(make_example_client(gate))  # same secrets: the token is valid on both
    down_gate = await make_gate(redis_url=f"redis://127.0.0.1:{closed_port()}/0")
    down = make_example_client(down_gate)
    auth = bearer(account.access_token)

    for path in ("/api/profile", "/auth/me", "/health"):
        assert_unavailable(await down.get(path, headers=auth))
    down.cookies.set("accessToken", account.access_token)
    assert_unavailable(await down.get("/api/profile"))
    down.cookies.clear()
    login_attempt = await down.post(
        "/auth/login", json={"username": account.username, "password": account.password}
    )
    assert_unavailable(login_attempt)
    refresh = await down.post("/auth/refresh-token", json={"refreshToken": account.refresh_token})
    assert_unavailable(refresh)
    health = assert_envelope(await down.get("/health"), 503, error_data=True)
    assert health["data"] == {"redis": "unavailable", "database": "ok"}

    async with tiny_client(down_gate, [Route("/open", whoami)]) as tiny:
        assert_unavailable(await tiny.get("/open", headers=auth))  # fail closed on public paths
        response = await tiny.get("/open")  # no token: nothing to check, nothing to refuse
        assert response.json()["authenticated"] is False


async def test_database_unreachable_on_a_cache_miss_is_503(
    settings: Settings, gate: AuthGate, make_example_client: ClientFactory
) -> None:
    healthy = make_example_client(gate)
    account = await logged_in(healthy)
    await gate.service.sessions.drop_cached_user(account.id)
    broken = AuthGate(
        replace(
            settings,
            database_url=f"postgresql+asyncpg://postgres@127.0.0.1:{closed_port()}/x",
            user_cache_seconds=0,
        ).checked()
    )  # not started: start-up would try to create the tables
    try:
        down = make_example_client(broken)
        auth = bearer(account.access_token)
        for path in ("/api/profile", "/auth/me"):
            assert_unavailable(await down.get(path, headers=auth))
        login_attempt = await down.post(
            "/auth/login", json={"username": account.username, "password": account.password}
        )
        assert_unavailable(login_attempt)
        health = assert_envelope(await down.get("/health"), 503, error_data=True)
        assert health["data"] == {"redis": "ok", "database": "unavailable"}
    finally:
        await broken.shutdown()
    # the same token still works where the database is up
    assert_envelope(await healthy.get("/api/profile", headers=bearer(account.access_token)), 200)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ([(b"cookie", b"theme=dark; sid=1"), (b"authorization", b"Bearer t1")], "t1"),
        ([(b"cookie", b"theme=dark; accessToken=c1; x=2"), (b"authorization", b"Bearer t1")], "t1"),
        ([(b"cookie", b"accessToken=c1"), (b"authorization", b"Basic dXNlcg==")], "c1"),
        ([(b"cookie", b"myaccessTokenX=c1"), (b"authorization", b"bearer t1")], "t1"),
        ([(b"authorization", b"Bearer t1"), (b"authorization", b"Bearer t2")], "t1"),
        ([(b"cookie", b"accessToken="), (b"authorization", b"Basic dXNlcg==")], None),
        ([(b"accept", b"*/*")], None),
    ],
)
def test_the_token_is_found_in_one_pass_over_the_headers(
    headers: list[tuple[bytes, bytes]], expected: str | None
) -> None:
    assert find_access_token({"type": "http", "headers": headers}) == expected
