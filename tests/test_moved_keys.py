"""Keys an older authgate wrote under the user's full id (``authgate:{<user id>}:s`` and its
neighbours, numbers in decimal) after the upgrade to the user's compact tag: nobody is
logged out, and nothing of them outlives a logout or a credential change — on the real
Redis."""

from __future__ import annotations

import base64
import secrets
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from redis.asyncio import Redis, RedisCluster

from authgate.recovery.onetime import RESET, OneTimeTokens, digest
from authgate.sessions import ClientInfo, RedisSessionStore, RotationOutcome
from authgate.sessions.layout import is_tag, parse_session, sessions_key, user_key, user_tag
from authgate.sessions.moved import (
    MOVE_ATTEMPTS,
    old_onetime_key,
    old_sessions_key,
    old_user_key,
    session_count,
)
from authgate.tokens import new_session_id, new_token_id
from tests.conftest import redis_prefix_for_run

BROWSER = ClientInfo(ip="203.0.113.7", user_agent="Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0")
OLD_IP, OLD_DEVICE = "198.51.100.4", "Firefox 128 on Linux"
HOUR = 3600


@pytest.fixture
async def client(redis_url: str) -> AsyncIterator[Redis]:
    redis = Redis.from_url(redis_url, decode_responses=True)
    yield redis
    await redis.aclose()


@pytest.fixture
def store(client: Redis) -> RedisSessionStore:
    return RedisSessionStore(client, prefix=redis_prefix_for_run())


async def old_session(
    client: Redis | RedisCluster,
    user_id: str,
    *,
    epoch: int = 0,
    previous: str = "",
    last_used_ms: int = 30_000,
) -> tuple[str, str, int]:
    """A session as the authgate before the compact tag wrote it (16-character jti, decimal
    numbers, under the full id); its sid, current jti and exp."""
    sid, jti = new_session_id(), secrets.token_urlsafe(12)
    iat = int(time.time()) - 60
    exp = iat + HOUR
    key = old_sessions_key(redis_prefix_for_run(), user_id)
    value = f"{iat}|{HOUR}|{jti}|{previous[:8]}" + (f"|{epoch}" if epoch else "")
    meta = f"{iat * 1000 - 600_000}|{last_used_ms}|{OLD_IP}|{OLD_DEVICE}"
    await client.hset(key, mapping={sid: value, f"{sid}.": meta})
    if epoch:
        await client.hset(key, "@", epoch)
    if await client.pexpiretime(key) < exp * 1000:
        await client.pexpireat(key, exp * 1000)
    return sid, jti, exp


async def keys_under(client: Redis, tag: str) -> set[str]:
    return {str(key) async for key in client.scan_iter(match=f"*{{{tag}}}*")}


async def test_a_session_under_the_full_id_keeps_working(
    store: RedisSessionStore, client: Redis
) -> None:
    user_id = str(uuid.uuid4())
    previous = secrets.token_urlsafe(12)
    sid, jti, exp = await old_session(client, user_id, previous=previous)

    assert (await store.lookup(user_id, sid)).alive
    # moved under the user's tag at its first check, in base 36: the old keys are gone
    assert await keys_under(client, user_id) == set()
    moved = await client.hget(store.sessions_key(user_id), sid)
    assert "|" not in str(moved)
    assert parse_session(str(moved)) == (exp - HOUR, HOUR, jti, previous[:8], 0)
    (listed,) = await store.list(user_id)
    assert (listed.id, listed.ip, listed.device) == (sid, OLD_IP, OLD_DEVICE)
    assert listed.created_at_ms == (exp - HOUR) * 1000 - 600_000
    assert listed.last_used_at_ms == (exp - HOUR) * 1000 + 30_000

    # its predecessor is still inside the grace window (last used 30 s after its iat)
    store = RedisSessionStore(client, prefix=redis_prefix_for_run(), grace_seconds=HOUR)
    grace = await store.rotate(user_id, sid, previous, new_token_id(), 0, 0, BROWSER)
    assert (grace.outcome, grace.jti, grace.exp) == (RotationOutcome.GRACE, jti, exp)
    fresh, now = new_token_id(), int(time.time())
    rotated = await store.rotate(user_id, sid, jti, fresh, now, now + HOUR, BROWSER)
    assert (rotated.outcome, rotated.jti) == (RotationOutcome.ROTATED, fresh)
    reused = await store.rotate(user_id, sid, "an-old-one", new_token_id(), now, now, BROWSER)
    assert reused.outcome is RotationOutcome.REUSED
    assert not (await store.lookup(user_id, sid)).alive


async def test_a_refresh_or_a_list_may_be_the_first_to_meet_it(
    store: RedisSessionStore, client: Redis
) -> None:
    refreshed = str(uuid.uuid4())
    sid, jti, _ = await old_session(client, refreshed)
    fresh, now = new_token_id(), int(time.time())
    rotation = await store.rotate(refreshed, sid, jti, fresh, now, now + HOUR, BROWSER)
    assert (rotation.outcome, rotation.jti) == (RotationOutcome.ROTATED, fresh)

    listed = str(uuid.uuid4())
    sid, _, _ = await old_session(client, listed)
    assert [info.id for info in await store.list(listed)] == [sid]
    assert await keys_under(client, refreshed) == await keys_under(client, listed) == set()


async def test_a_logout_and_a_logout_everywhere_end_sessions_under_the_full_id(
    store: RedisSessionStore, client: Redis
) -> None:
    user_id = str(uuid.uuid4())
    one, _, _ = await old_session(client, user_id)
    assert await store.revoke(user_id, one)
    assert not (await store.lookup(user_id, one)).alive

    others = [(await old_session(client, user_id))[0] for _ in range(2)]
    kept, now = new_session_id(), int(time.time())
    await store.create(user_id, kept, new_token_id(), now, now + HOUR, BROWSER)
    assert await store.revoke_all(user_id, keep_sid=kept) == 2
    for sid in others:
        assert not (await store.lookup(user_id, sid)).alive
    assert [info.id for info in await store.list(user_id)] == [kept]
    assert await keys_under(client, user_id) == set()


async def test_a_credential_change_ends_sessions_and_tokens_under_the_full_id(
    store: RedisSessionStore, client: Redis
) -> None:
    user_id, prefix = str(uuid.uuid4()), redis_prefix_for_run()
    kept, _, _ = await old_session(client, user_id, epoch=1)
    ended, _, _ = await old_session(client, user_id, epoch=1)
    await client.set(old_user_key(prefix, user_id), "{}", ex=60)
    tokens = OneTimeTokens(client, prefix=prefix)
    token = await old_token(client, user_id, epoch=1)

    assert await store.advance_epoch(user_id, 2, keep_sid=kept, remember_seconds=HOUR) == 1

    assert (await store.lookup(user_id, kept)).alive
    assert not (await store.lookup(user_id, ended)).alive
    assert await client.hget(store.sessions_key(user_id), "@") == "2"
    assert await keys_under(client, user_id) == set()  # the token and the cached user too
    assert await tokens.consume(token, RESET) is None


async def test_the_credential_epoch_carries_over_as_the_larger_of_the_two(
    store: RedisSessionStore, client: Redis
) -> None:
    newer = str(uuid.uuid4())  # the old hash knows a later credential change
    sid, now = new_session_id(), int(time.time())
    await store.create(newer, sid, new_token_id(), now, now + HOUR, BROWSER, epoch=2)
    old, _, _ = await old_session(client, newer, epoch=5)
    assert (await store.lookup(newer, old)).alive
    assert await client.hget(store.sessions_key(newer), "@") == "5"
    assert not (await store.lookup(newer, sid)).alive

    older = str(uuid.uuid4())  # the user's hash knows a later one
    await store.create(older, sid, new_token_id(), now, now + HOUR, BROWSER, epoch=3)
    old, _, _ = await old_session(client, older, epoch=1)
    assert not (await store.lookup(older, old)).alive
    assert await client.hget(store.sessions_key(older), "@") == "3"
    assert (await store.lookup(older, sid)).alive


@pytest.mark.parametrize("change", ["revoke_all", "advance_epoch"])
async def test_sessions_an_older_instance_keeps_writing_never_outlive_the_change(
    store: RedisSessionStore, client: Redis, monkeypatch: pytest.MonkeyPatch, change: str
) -> None:
    """An older instance writes a new session into the old hash before every attempt to
    delete it, so it is never deleted: the change still ends every session in it."""
    user_id = str(uuid.uuid4())
    written = [(await old_session(client, user_id))[0]]
    moved = store.legacy.moved
    drop = moved._drop

    async def older_instance_then_drop(**call: Any) -> Any:
        written.append((await old_session(client, user_id))[0])
        return await drop(**call)

    monkeypatch.setattr(moved, "_drop", older_instance_then_drop)
    if change == "revoke_all":
        await store.revoke_all(user_id)
    else:
        await store.advance_epoch(user_id, 1, remember_seconds=HOUR)
    monkeypatch.undo()

    # the last one was written after the last merge: only the change itself ended it
    assert len(written) == 1 + MOVE_ATTEMPTS
    left = await client.hgetall(old_sessions_key(redis_prefix_for_run(), user_id))
    assert session_count({str(field): str(value) for field, value in left.items()}) == 0
    for sid in written:
        assert not (await store.lookup(user_id, sid)).alive
    assert await store.list(user_id) == []


async def test_a_move_read_before_a_logout_everywhere_brings_nothing_back(
    store: RedisSessionStore, client: Redis
) -> None:
    user_id = str(uuid.uuid4())
    sid, _, _ = await old_session(client, user_id)
    key = old_sessions_key(redis_prefix_for_run(), user_id)
    fields = {str(field): str(value) for field, value in (await client.hgetall(key)).items()}
    read = (fields, int(await client.pexpiretime(key)))

    assert await store.revoke_all(user_id) == 1
    # a check that read the old hash before the logout-all, and merges it only now
    await store.legacy.moved.move(user_id, int(time.time() * 1000), read)

    assert not (await store.lookup(user_id, sid)).alive
    assert await store.list(user_id) == []


async def old_token(
    client: Redis | RedisCluster, user_id: str, *, epoch: int = 0, data: str = ""
) -> str:
    """A one-time reset token as the authgate before the compact tag stored it."""
    token = f"{uuid.UUID(user_id).hex}.{secrets.token_urlsafe(32)}"
    key = old_onetime_key(redis_prefix_for_run(), user_id, RESET)
    expires = int(time.time() * 1000) + 600_000
    await client.hset(key, digest(token), f"{expires}.{epoch}|{data}")
    await client.pexpireat(key, expires)
    return token


async def test_a_one_time_token_under_the_full_id_works_once(client: Redis) -> None:
    tokens = OneTimeTokens(client, prefix=redis_prefix_for_run())
    user_id = str(uuid.uuid4())
    token = await old_token(client, user_id, epoch=0, data="payload")

    redeemed = await tokens.consume(token, RESET)
    assert redeemed is not None
    assert (redeemed.user_id, redeemed.data, redeemed.epoch) == (user_id, "payload", 0)
    assert await tokens.consume(token, RESET) is None


async def test_a_one_time_token_under_the_full_id_is_of_the_users_current_epoch_only(
    store: RedisSessionStore, client: Redis
) -> None:
    tokens = OneTimeTokens(client, prefix=redis_prefix_for_run())
    user_id = str(uuid.uuid4())
    stale = await old_token(client, user_id, epoch=1)
    current = await old_token(client, user_id, epoch=2)
    sid, now = new_session_id(), int(time.time())
    # the user's epoch is known only under their tag (the old hash was moved already)
    await store.create(user_id, sid, new_token_id(), now, now + HOUR, BROWSER, epoch=2)

    assert await tokens.consume(stale, RESET) is None
    assert await tokens.consume(current, RESET) is not None


async def test_a_reset_drops_the_other_tokens_under_both_tags(client: Redis) -> None:
    tokens = OneTimeTokens(client, prefix=redis_prefix_for_run())
    user_id = str(uuid.uuid4())
    old = await old_token(client, user_id)
    new = await tokens.issue(user_id, RESET, 600)
    other = await tokens.issue(user_id, RESET, 600)

    assert await tokens.consume(new, RESET, drop_others=True) is not None
    assert await tokens.consume(old, RESET) is None
    assert await tokens.consume(other, RESET) is None


async def test_a_user_id_that_is_not_a_uuid_never_shares_a_uuids_tag(
    store: RedisSessionStore,
) -> None:
    user_id = str(uuid.uuid4())
    tag = user_tag(user_id)
    assert len(tag) == 22
    assert uuid.UUID(bytes=base64.urlsafe_b64decode(tag + "==")) == uuid.UUID(user_id)
    # every other spelling of the same UUID, and the tag itself as an id, is another user
    others = [
        tag,
        user_id.upper(),
        uuid.UUID(user_id).hex,
        f"{{{user_id}}}",
        f"urn:uuid:{user_id}",
        f"~{tag}",
        "alice",
    ]
    tags = [user_tag(other) for other in others]
    assert all(other_tag.startswith("~") for other_tag in tags)
    assert len({tag, *tags}) == len(others) + 1
    prefix = redis_prefix_for_run()
    assert len({sessions_key(prefix, other) for other in [user_id, *others]}) == len(others) + 1

    # nor is any key an older authgate wrote for one of them (under the full id) ever taken
    # for a key of today's
    today = {key(prefix, other) for key in (sessions_key, user_key) for other in [user_id, *others]}
    for other in [user_id, *others]:
        assert {old_sessions_key(prefix, other), old_user_key(prefix, other)}.isdisjoint(today)
    assert all(is_tag(each) for each in [tag, *tags])
    assert not is_tag(user_id)

    sid, now = new_session_id(), int(time.time())
    await store.create(user_id, sid, new_token_id(), now, now + HOUR, BROWSER)
    assert not (await store.lookup(tag, sid)).alive  # the tag as a user id: someone else
    assert await store.list(tag) == []
    assert not await store.revoke_all(tag)
    await store.create(tag, sid, new_token_id(), now, now + HOUR, BROWSER)
    assert await store.revoke(tag, sid)
    assert (await store.lookup(user_id, sid)).alive
    assert await store.revoke(user_id, sid)


async def test_an_epoch_remembered_under_the_full_id_alone_moves_with_an_expiry(
    store: RedisSessionStore, client: Redis
) -> None:
    user_id = str(uuid.uuid4())
    old = old_sessions_key(redis_prefix_for_run(), user_id)
    await client.hset(old, "@", 4)  # a credential change, and no session since
    await client.pexpire(old, HOUR * 1000)

    assert await store.list(user_id) == []
    assert await client.hget(store.sessions_key(user_id), "@") == "4"
    assert HOUR * 1000 - 5000 < await client.pttl(store.sessions_key(user_id)) <= HOUR * 1000
    assert not await client.exists(old)
    sid, now = new_session_id(), int(time.time())
    opened = await store.create(user_id, sid, new_token_id(), now, now + HOUR, BROWSER, epoch=3)
    assert not opened  # a login that read the epoch before that change opens nothing
