"""``RedisSessionStore`` on the real Redis: sessions, rotation, grace window, reuse, TTLs."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from redis.asyncio import Redis, RedisCluster
from redis.crc import key_slot
from sqlalchemy import event

from authgate import AuthGate
from authgate.errors import ServiceUnavailable
from authgate.service.validation import Credentials, Registration
from authgate.sessions import (
    ClientInfo,
    RedisSessionStore,
    Rotation,
    RotationOutcome,
    connect_redis,
)
from authgate.sessions.layout import device_of, parse_session, user_tag
from authgate.sessions.user_entries import UNCHANGED
from authgate.tokens import TokenKind
from tests.conftest import PASSWORD, redis_prefix_for_run, unique_username
from tests.processes import closed_port

LAPTOP = ClientInfo(ip="198.51.100.1", user_agent="Firefox/130")
PHONE = ClientInfo(ip="198.51.100.2", user_agent="Safari/17")
REFRESH_LIFETIME = 3600

StoreFactory = Callable[..., RedisSessionStore]


class FakeClock:
    """The store's clock, moved by hand (starts at the real time: Redis expires by its own)."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
async def redis_client(redis_url: str) -> AsyncIterator[Redis | RedisCluster]:
    client = connect_redis(redis_url)
    yield client
    await client.aclose()


@pytest.fixture
def make_store(redis_client: Redis | RedisCluster) -> StoreFactory:
    def factory(**options: Any) -> RedisSessionStore:
        return RedisSessionStore(redis_client, prefix=redis_prefix_for_run(), **options)

    return factory


@pytest.fixture
def store(make_store: StoreFactory) -> RedisSessionStore:
    return make_store()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def user_id() -> str:
    return str(uuid.uuid4())


def new_jti() -> str:
    return uuid.uuid4().hex


def claims(lifetime: int = REFRESH_LIFETIME) -> tuple[str, int, int]:
    """A fresh refresh token's ``(jti, iat, exp)``."""
    iat = int(time.time())
    return new_jti(), iat, iat + lifetime


async def open_session(
    store: RedisSessionStore,
    user_id: str,
    *,
    lifetime: int = REFRESH_LIFETIME,
    client: ClientInfo = LAPTOP,
) -> tuple[str, str]:
    """Create a session; its ``(sid, current jti)``."""
    sid = new_jti()
    jti, iat, exp = claims(lifetime)
    await store.create(user_id, sid, jti, iat, exp, client)
    return sid, jti


async def rotate(
    store: RedisSessionStore,
    user_id: str,
    sid: str,
    presented: str,
    *,
    lifetime: int = REFRESH_LIFETIME,
    client: ClientInfo = LAPTOP,
) -> Rotation:
    jti, iat, exp = claims(lifetime)
    return await store.rotate(user_id, sid, presented, jti, iat, exp, client)


async def current_and_previous(store: RedisSessionStore, user_id: str, sid: str) -> list[str]:
    """The session's current ``jti`` and the start of its previous one, as its field keeps
    them."""
    session = parse_session(str(await store.client.hget(store.sessions_key(user_id), sid)))
    assert session is not None
    return [session.jti, session.previous]


async def test_created_session_is_alive(store: RedisSessionStore, user_id: str) -> None:
    sid, _ = await open_session(store, user_id)

    found = await store.lookup(user_id, sid)
    assert found.alive
    assert found.cached_user is None
    assert not (await store.lookup(user_id, new_jti())).alive
    assert not (await store.lookup(str(uuid.uuid4()), sid)).alive


async def test_rotating_the_current_token_issues_the_new_one(
    store: RedisSessionStore, user_id: str
) -> None:
    sid, first = await open_session(store, user_id)
    second, iat, exp = claims()

    rotation = await store.rotate(user_id, sid, first, second, iat, exp, LAPTOP)

    assert rotation == Rotation(RotationOutcome.ROTATED, jti=second, iat=iat, exp=exp)
    assert (await store.lookup(user_id, sid)).alive
    assert await current_and_previous(store, user_id, sid) == [second, first[:8]]
    # the new token is now the current one and rotates in turn
    assert (await rotate(store, user_id, sid, second)).outcome is RotationOutcome.ROTATED


async def test_predecessor_inside_grace_window_gets_the_current_token(
    store: RedisSessionStore, user_id: str
) -> None:
    sid, first = await open_session(store, user_id)
    rotated = await rotate(store, user_id, sid, first)

    again = await rotate(store, user_id, sid, first, client=PHONE)

    assert again.outcome is RotationOutcome.GRACE
    assert (again.jti, again.iat, again.exp) == (rotated.jti, rotated.iat, rotated.exp)
    # the grace answer did not rotate: the token the first refresh got is still current
    assert await current_and_previous(store, user_id, sid) == [rotated.jti, first[:8]]
    assert (await rotate(store, user_id, sid, rotated.jti)).outcome is RotationOutcome.ROTATED


async def test_predecessor_after_grace_window_revokes_the_session(
    make_store: StoreFactory, clock: FakeClock, user_id: str
) -> None:
    store = make_store(grace_seconds=10, clock=clock)
    sid, first = await open_session(store, user_id)
    rotated = await rotate(store, user_id, sid, first)
    clock.advance(9.5)
    assert (await rotate(store, user_id, sid, first)).outcome is RotationOutcome.GRACE

    clock.advance(1)  # 10.5 s after the rotation
    reused = await rotate(store, user_id, sid, first)

    assert reused == Rotation(RotationOutcome.REUSED)
    assert not (await store.lookup(user_id, sid)).alive
    assert await store.list(user_id) == []
    assert not await store.client.exists(store.sessions_key(user_id))  # its only session
    # the thief's victim cannot carry on either: the whole session is gone
    assert (await rotate(store, user_id, sid, rotated.jti)).outcome is RotationOutcome.MISSING


async def test_older_generation_is_reuse_even_inside_grace_window(
    store: RedisSessionStore, user_id: str
) -> None:
    sid, first = await open_session(store, user_id)
    second = await rotate(store, user_id, sid, first)
    third = await rotate(store, user_id, sid, second.jti)
    assert third.outcome is RotationOutcome.ROTATED

    assert (await rotate(store, user_id, sid, first)).outcome is RotationOutcome.REUSED
    assert not (await store.lookup(user_id, sid)).alive
    assert (await rotate(store, user_id, sid, third.jti)).outcome is RotationOutcome.MISSING


async def test_never_issued_token_is_reuse(store: RedisSessionStore, user_id: str) -> None:
    sid, _ = await open_session(store, user_id)

    assert (await rotate(store, user_id, sid, new_jti())).outcome is RotationOutcome.REUSED
    assert not (await store.lookup(user_id, sid)).alive


async def test_grace_zero_disables_the_window(make_store: StoreFactory, user_id: str) -> None:
    store = make_store(grace_seconds=0)
    sid, first = await open_session(store, user_id)
    await rotate(store, user_id, sid, first)

    assert (await rotate(store, user_id, sid, first)).outcome is RotationOutcome.REUSED
    assert not (await store.lookup(user_id, sid)).alive


async def test_a_rotation_sent_twice_gives_the_same_answer(
    make_store: StoreFactory, user_id: str
) -> None:
    # a reply lost on a broken connection makes the client send the same script again:
    # even without a grace window that is not reuse
    store = make_store(grace_seconds=0)
    sid, first = await open_session(store, user_id)
    jti, iat, exp = claims(REFRESH_LIFETIME)

    once = await store.rotate(user_id, sid, first, jti, iat, exp, LAPTOP)
    twice = await store.rotate(user_id, sid, first, jti, iat, exp, LAPTOP)

    assert once == twice == Rotation(RotationOutcome.ROTATED, jti, iat, exp)
    assert (await store.lookup(user_id, sid)).alive
    assert (await rotate(store, user_id, sid, first)).outcome is RotationOutcome.REUSED


async def test_unknown_session_is_missing(store: RedisSessionStore, user_id: str) -> None:
    sid, jti = await open_session(store, user_id)

    assert (await rotate(store, user_id, new_jti(), jti)).outcome is RotationOutcome.MISSING
    assert (await rotate(store, str(uuid.uuid4()), sid, jti)).outcome is RotationOutcome.MISSING
    # looking for the wrong session did not hurt the real one
    assert (await rotate(store, user_id, sid, jti)).outcome is RotationOutcome.ROTATED


async def test_revoke_deletes_one_session(store: RedisSessionStore, user_id: str) -> None:
    sid, jti = await open_session(store, user_id)
    other, _ = await open_session(store, user_id, client=PHONE)

    assert await store.revoke(user_id, sid) is True

    assert not (await store.lookup(user_id, sid)).alive
    assert (await rotate(store, user_id, sid, jti)).outcome is RotationOutcome.MISSING
    assert [s.id for s in await store.list(user_id)] == [other]
    assert (await store.lookup(user_id, other)).alive
    assert await store.revoke(user_id, sid) is False


async def test_revoke_all_deletes_every_session_but_the_kept_one(
    store: RedisSessionStore, user_id: str
) -> None:
    sids = [(await open_session(store, user_id))[0] for _ in range(3)]
    bystander = str(uuid.uuid4())
    their_sid, _ = await open_session(store, bystander)

    assert await store.revoke_all(user_id, keep_sid=sids[1]) == 2
    assert [s.id for s in await store.list(user_id)] == [sids[1]]
    assert [(await store.lookup(user_id, sid)).alive for sid in sids] == [False, True, False]

    assert await store.revoke_all(user_id) == 1
    assert await store.list(user_id) == []
    assert not (await store.lookup(user_id, sids[1])).alive
    assert await store.revoke_all(user_id) == 0
    assert (await store.lookup(bystander, their_sid)).alive


async def test_list_shows_created_last_used_ip_and_user_agent(
    make_store: StoreFactory, clock: FakeClock, user_id: str
) -> None:
    store = make_store(clock=clock)
    started = int(clock.now * 1000)
    laptop_sid, laptop_jti = await open_session(store, user_id, client=LAPTOP)
    clock.advance(5)
    phone_sid, _ = await open_session(store, user_id, client=PHONE)
    clock.advance(3)
    moved = ClientInfo(ip="192.0.2.9", user_agent="x" * 1000)
    await rotate(store, user_id, laptop_sid, laptop_jti, client=moved)

    laptop, phone = await store.list(user_id)

    assert (laptop.id, laptop.created_at_ms, laptop.last_used_at_ms) == (
        laptop_sid,
        started,
        started + 8000,
    )
    assert (laptop.ip, laptop.device) == ("192.0.2.9", device_of("x" * 1000))
    assert (phone.id, phone.created_at_ms, phone.last_used_at_ms) == (
        phone_sid,
        started + 5000,
        started + 5000,
    )
    assert (phone.ip, phone.device) == (PHONE.ip, device_of(PHONE.user_agent))


async def test_an_expired_session_is_dead_and_goes_at_the_next_login(
    make_store: StoreFactory, clock: FakeClock, user_id: str
) -> None:
    store = make_store(clock=clock)
    gone, _ = await open_session(store, user_id, lifetime=600)
    kept, _ = await open_session(store, user_id, lifetime=1200)
    clock.advance(601)

    assert [s.id for s in await store.list(user_id)] == [kept]
    assert not (await store.lookup(user_id, gone)).alive
    assert (await store.lookup(user_id, kept)).alive
    assert not await store.revoke(user_id, gone)
    assert (await rotate(store, user_id, kept, "x")).outcome is RotationOutcome.REUSED

    gone, _ = await open_session(store, user_id, lifetime=600)
    clock.advance(601)
    newest, _ = await open_session(store, user_id, lifetime=1200)
    fields = await store.client.hkeys(store.sessions_key(user_id))
    assert {str(field).rstrip(".@") for field in fields} == {newest}


async def test_every_key_has_a_ttl_and_the_users_hash_tag(
    store: RedisSessionStore, user_id: str
) -> None:
    short_sid, short_jti = await open_session(store, user_id, lifetime=600)
    await open_session(store, user_id, lifetime=1200)
    await store.cache_user(user_id, {"id": user_id}, 30)
    redis = store.client

    # the user's hash lives as long as its latest session
    assert 600_000 < await redis.pttl(store.sessions_key(user_id)) <= 1_200_000
    assert 0 < await redis.pttl(store.user_key(user_id)) <= 30_000

    await rotate(store, user_id, short_sid, short_jti, lifetime=1800)
    assert 1_200_000 < await redis.pttl(store.sessions_key(user_id)) <= 1_800_000

    tag = user_tag(user_id)
    keys = [key async for key in redis.scan_iter(match=f"*{{{tag}}}*", count=1000)]
    assert len(keys) == 2  # the sessions' hash, the cached user
    for key in keys:
        assert key.startswith(f"{redis_prefix_for_run()}:{{{tag}}}:")
        assert key_slot(key.encode()) == key_slot(tag.encode())
        assert await redis.pttl(key) > 0


async def test_session_cap_evicts_the_least_recently_used(
    make_store: StoreFactory, user_id: str
) -> None:
    store = make_store(max_sessions_per_user=3)
    first, first_jti = await open_session(store, user_id, lifetime=600)
    second, _ = await open_session(store, user_id, lifetime=700)
    third, _ = await open_session(store, user_id, lifetime=800)
    await rotate(store, user_id, first, first_jti, lifetime=900)  # first is in use again

    fourth, _ = await open_session(store, user_id, lifetime=1000)

    assert {s.id for s in await store.list(user_id)} == {first, third, fourth}
    assert not (await store.lookup(user_id, second)).alive
    assert not await store.client.hexists(store.sessions_key(user_id), second)


async def test_user_cache_is_set_read_and_dropped(store: RedisSessionStore, user_id: str) -> None:
    sid, _ = await open_session(store, user_id)
    data = {"id": user_id, "username": "ada", "is_active": True}

    await store.cache_user(user_id, data, 30)
    assert (await store.lookup(user_id, sid)).cached_user == data
    assert 0 < await store.client.pttl(store.user_key(user_id)) <= 30_000

    await store.drop_cached_user(user_id)
    assert (await store.lookup(user_id, sid)).cached_user is None

    await store.cache_user(user_id, data, 0)  # a cache time of 0 turns the cache off
    assert (await store.lookup(user_id, sid)).cached_user is None
    assert not await store.client.exists(store.user_key(user_id))


async def test_a_check_carries_the_cached_user_only_when_it_changed(
    store: RedisSessionStore, user_id: str
) -> None:
    """The hot path answers "unchanged" for the entry this process holds, so the user's
    JSON crosses the wire once per entry; a change or a drop is seen at the next check."""
    sid, _ = await open_session(store, user_id)
    data = {"id": user_id, "username": "ada", "is_active": True}
    await store.cache_user(user_id, data, 30)
    replies: list[object] = []
    packed = store._lookup
    assert packed is not None

    async def spy(keys: list[str], args: list[str]) -> list[object]:
        reply: list[object] = await packed(keys, args)
        replies.append(reply[1])
        return reply

    store._lookup = spy  # type: ignore[assignment]
    first = (await store.lookup(user_id, sid)).cached_user
    second = (await store.lookup(user_id, sid)).cached_user
    assert first == data
    assert second is first  # decoded once
    assert isinstance(replies[0], str)
    assert replies[1] == UNCHANGED  # the JSON was not sent again

    await store.cache_user(user_id, {**data, "is_active": False}, 30)  # a new entry
    assert (await store.lookup(user_id, sid)).cached_user == {**data, "is_active": False}
    assert isinstance(replies[2], str)
    await store.drop_cached_user(user_id)
    assert (await store.lookup(user_id, sid)).cached_user is None
    assert replies[3] is None


async def test_concurrent_rotations_converge_on_one_token(
    store: RedisSessionStore, user_id: str
) -> None:
    sid, first = await open_session(store, user_id)

    rotations = await asyncio.gather(*(rotate(store, user_id, sid, first) for _ in range(20)))

    outcomes = [r.outcome for r in rotations]
    assert outcomes.count(RotationOutcome.ROTATED) == 1
    assert outcomes.count(RotationOutcome.GRACE) == 19
    assert len({(r.jti, r.iat, r.exp) for r in rotations}) == 1
    winner = rotations[outcomes.index(RotationOutcome.ROTATED)]
    assert (await rotate(store, user_id, sid, winner.jti)).outcome is RotationOutcome.ROTATED


async def test_concurrent_refreshes_through_the_service_share_one_token(gate: AuthGate) -> None:
    service = gate.service
    username = unique_username()
    await service.register(
        Registration(username, f"{username}@example.com", "Ada Lovelace", PASSWORD, None)
    )
    login = await service.login(Credentials(username, PASSWORD), LAPTOP)

    pairs = await asyncio.gather(
        *(service.refresh(login.tokens.refresh_token, LAPTOP) for _ in range(20))
    )

    assert len({pair.refresh_claims.jti for pair in pairs}) == 1
    assert pairs[0].refresh_claims.jti != login.tokens.refresh_claims.jti
    assert all(pair.refresh_claims.sid == login.tokens.refresh_claims.sid for pair in pairs)
    for pair in pairs:
        assert service.tokens.verify(TokenKind.REFRESH, pair.refresh_token).jti == (
            pairs[0].refresh_claims.jti
        )
        assert (await service.authenticate(pair.access_token)).user.username == username
    # every tab now holds the current token, which rotates normally
    nxt = await service.refresh(pairs[0].refresh_token, LAPTOP)
    assert nxt.refresh_claims.jti != pairs[0].refresh_claims.jti


async def test_unreachable_redis_is_service_unavailable(user_id: str) -> None:
    client = connect_redis(f"redis://127.0.0.1:{closed_port()}/0")
    store = RedisSessionStore(client)
    try:
        with pytest.raises(ServiceUnavailable):
            await store.ping()
        with pytest.raises(ServiceUnavailable):
            await store.lookup(user_id, new_jti())
        with pytest.raises(ServiceUnavailable):
            await rotate(store, user_id, new_jti(), new_jti())
    finally:
        await client.aclose()


async def test_revoke_all_amid_logins_misses_none_and_spares_none_it_did_not_count(
    store: RedisSessionStore, user_id: str
) -> None:
    before = [(await open_session(store, user_id))[0] for _ in range(3)]

    revoked, opened = await asyncio.gather(
        store.revoke_all(user_id),
        asyncio.gather(*(open_session(store, user_id) for _ in range(10))),
    )

    for sid in before:
        assert not (await store.lookup(user_id, sid)).alive
    alive = [sid for sid, _ in opened if (await store.lookup(user_id, sid)).alive]
    assert revoked + len(alive) == len(before) + len(opened)
    assert {s.id for s in await store.list(user_id)} == set(alive)


# -- a refresh while the user is cached reads no database --------------------------------


async def test_a_refresh_of_a_cached_user_reads_no_database(gate: AuthGate) -> None:
    name = unique_username("rot")
    user = await gate.service.register(
        Registration(name, f"{name}@example.com", "Rotating", PASSWORD, None)
    )
    login = await gate.service.login(Credentials(name, PASSWORD), ClientInfo())
    await gate.service.authenticate(login.tokens.access_token)  # fills the user cache
    assert gate.engine is not None
    queries: list[str] = []

    def on_execute(*args: Any) -> None:
        queries.append(str(args[2]))

    event.listen(gate.engine.sync_engine, "before_cursor_execute", on_execute)
    try:
        token = login.tokens.refresh_token
        seen = {login.tokens.refresh_claims.jti}
        for _ in range(5):
            pair = await gate.service.refresh(token, ClientInfo())
            assert pair.refresh_claims.jti not in seen  # every rotation a new jti
            seen.add(pair.refresh_claims.jti)
            token = pair.refresh_token
        assert queries == []
        # a user who is not cached is read from the database once, then cached again
        await gate.service.sessions.drop_cached_user(user.id)
        await gate.service.refresh(token, ClientInfo())
        assert any("users" in query for query in queries)
    finally:
        event.remove(gate.engine.sync_engine, "before_cursor_execute", on_execute)
