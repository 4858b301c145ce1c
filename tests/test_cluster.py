"""Sessions on a real three-node Redis Cluster, started (and stopped) by this module."""

from __future__ import annotations

import asyncio
import socket
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis
from redis.asyncio import RedisCluster

from authgate.recovery.onetime import RESET, OneTimeTokens
from authgate.sessions import ClientInfo, RedisSessionStore, RotationOutcome, connect_redis
from authgate.sessions.layout import device_of, onetime_key, user_tag
from authgate.sessions.moved import old_sessions_key
from bench.servers import delete_prefix
from tests.conftest import ClientFactory, GateFactory, redis_prefix_for_run, register_and_login
from tests.processes import RedisClusterServer, RedisServer
from tests.test_moved_keys import old_session, old_token

NODES = 3
BROWSER = ClientInfo(ip="198.51.100.7", user_agent="Firefox/130")


@pytest.fixture(scope="module")
def cluster_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fresh three-primary Redis Cluster on free ports; its URL for ``connect_redis``."""
    with RedisClusterServer(tmp_path_factory.mktemp("redis-cluster"), masters=NODES) as cluster:
        yield cluster.url


@pytest.fixture
async def cluster(cluster_url: str) -> AsyncIterator[RedisCluster]:
    client = connect_redis(cluster_url)
    assert isinstance(client, RedisCluster)
    await client.initialize()  # learn the slot map now, before asking where keys live
    yield client
    await client.aclose()


def users_on_every_node(client: RedisCluster, store: RedisSessionStore) -> list[str]:
    """User ids whose keys live on different primaries, one per node."""
    by_node: dict[str, str] = {}
    while len(by_node) < NODES:
        user_id = str(uuid.uuid4())
        node = client.get_node_from_key(store.sessions_key(user_id))
        assert node is not None
        by_node.setdefault(node.name, user_id)
    return list(by_node.values())


def refresh_claims() -> tuple[str, int, int]:
    iat = int(time.time())
    return uuid.uuid4().hex, iat, iat + 3600


async def session_lifecycle(store: RedisSessionStore, user_id: str) -> None:
    """Everything a user's sessions go through, asserted step by step."""
    sid = uuid.uuid4().hex
    first, iat, exp = refresh_claims()
    await store.create(user_id, sid, first, iat, exp, BROWSER)
    assert (await store.lookup(user_id, sid)).alive

    second, iat, exp = refresh_claims()
    rotated = await store.rotate(user_id, sid, first, second, iat, exp, BROWSER)
    assert (rotated.outcome, rotated.jti) == (RotationOutcome.ROTATED, second)
    unused, iat, exp = refresh_claims()
    grace = await store.rotate(user_id, sid, first, unused, iat, exp, BROWSER)
    assert (grace.outcome, grace.jti, grace.exp) == (RotationOutcome.GRACE, second, rotated.exp)

    third, iat, exp = refresh_claims()
    assert (await store.rotate(user_id, sid, second, third, iat, exp, BROWSER)).jti == third
    reused = await store.rotate(user_id, sid, first, unused, iat, exp, BROWSER)
    assert reused.outcome is RotationOutcome.REUSED
    assert not (await store.lookup(user_id, sid)).alive
    missing = await store.rotate(user_id, sid, third, unused, iat, exp, BROWSER)
    assert missing.outcome is RotationOutcome.MISSING

    sids = [uuid.uuid4().hex for _ in range(4)]
    for each in sids:
        jti, iat, exp = refresh_claims()
        await store.create(user_id, each, jti, iat, exp, BROWSER)
    listed = await store.list(user_id)
    assert {s.id for s in listed} == set(sids)
    assert {(s.ip, s.device) for s in listed} == {(BROWSER.ip, device_of(BROWSER.user_agent))}
    assert await store.revoke(user_id, sids[0]) is True
    assert await store.revoke_all(user_id, keep_sid=sids[1]) == 2
    assert [s.id for s in await store.list(user_id)] == [sids[1]]

    await store.cache_user(user_id, {"id": user_id}, 30)
    found = await store.lookup(user_id, sids[1])
    assert (found.alive, found.cached_user) == (True, {"id": user_id})
    await store.drop_cached_user(user_id)
    assert (await store.lookup(user_id, sids[1])).cached_user is None
    assert await store.revoke_all(user_id) == 1
    assert await store.list(user_id) == []


async def test_session_lifecycle_on_every_node(cluster: RedisCluster) -> None:
    store = RedisSessionStore(cluster, prefix=redis_prefix_for_run())
    user_ids = users_on_every_node(cluster, store)

    await asyncio.gather(*(session_lifecycle(store, user_id) for user_id in user_ids))

    for user_id in user_ids:  # nothing of theirs is left behind on any node
        for tag in (user_tag(user_id), user_id):  # nor under an older authgate's tag
            assert [key async for key in cluster.scan_iter(match=f"*{{{tag}}}*")] == []


async def test_one_time_tokens_on_every_node_work_once(cluster: RedisCluster) -> None:
    store = RedisSessionStore(cluster, prefix=redis_prefix_for_run())
    tokens = OneTimeTokens(cluster, prefix=redis_prefix_for_run())
    for user_id in users_on_every_node(cluster, store):
        # the token hash shares the user's slot with the sessions
        key = onetime_key(redis_prefix_for_run(), user_id, RESET)
        assert cluster.keyslot(key) == cluster.keyslot(store.sessions_key(user_id))
        first = await tokens.issue(user_id, RESET, 60)
        token = await tokens.issue(user_id, RESET, 60)
        results = await asyncio.gather(
            *(tokens.consume(token, RESET, drop_others=True) for _ in range(5))
        )
        assert [result.user_id for result in results if result is not None] == [user_id]
        assert await tokens.consume(first, RESET) is None


async def test_keys_under_the_full_id_move_across_slots_on_the_cluster(
    cluster: RedisCluster,
) -> None:
    """An older authgate's keys (under the full user id) are in another slot than the
    user's keys of today: the move still works, and a logout-all and a credential change
    reach them."""
    store = RedisSessionStore(cluster, prefix=redis_prefix_for_run())
    tokens = OneTimeTokens(cluster, prefix=redis_prefix_for_run())
    for user_id in users_on_every_node(cluster, store):
        old = old_sessions_key(redis_prefix_for_run(), user_id)
        assert cluster.keyslot(old) != cluster.keyslot(store.sessions_key(user_id))
        sid, jti, _ = await old_session(cluster, user_id, epoch=1)
        assert (await store.lookup(user_id, sid)).alive
        fresh, iat, exp = refresh_claims()
        rotation = await store.rotate(user_id, sid, jti, fresh, iat, exp, BROWSER)
        assert rotation.outcome is RotationOutcome.ROTATED

        ended, _, _ = await old_session(cluster, user_id, epoch=1)
        token = await old_token(cluster, user_id, epoch=1)
        assert await store.advance_epoch(user_id, 2, keep_sid=sid, remember_seconds=60) == 1
        assert not (await store.lookup(user_id, ended)).alive
        assert await tokens.consume(token, RESET) is None

        other, _, _ = await old_session(cluster, user_id, epoch=2)
        assert await store.revoke_all(user_id) == 2
        for each in (sid, other):
            assert not (await store.lookup(user_id, each)).alive
        assert [key async for key in cluster.scan_iter(match=f"*{{{user_id}}}*")] == []


async def test_concurrent_rotations_on_the_cluster_converge(cluster: RedisCluster) -> None:
    store = RedisSessionStore(cluster, prefix=redis_prefix_for_run())
    user_id, sid = str(uuid.uuid4()), uuid.uuid4().hex
    first, iat, exp = refresh_claims()
    await store.create(user_id, sid, first, iat, exp, BROWSER)

    async def refresh() -> tuple[RotationOutcome, str]:
        jti, iat, exp = refresh_claims()
        rotation = await store.rotate(user_id, sid, first, jti, iat, exp, BROWSER)
        return rotation.outcome, rotation.jti

    results = await asyncio.gather(*(refresh() for _ in range(20)))

    outcomes = [outcome for outcome, _ in results]
    assert outcomes.count(RotationOutcome.ROTATED) == 1
    assert outcomes.count(RotationOutcome.GRACE) == 19
    assert len({jti for _, jti in results}) == 1


async def test_example_app_on_the_cluster(
    cluster_url: str, make_gate: GateFactory, make_example_client: ClientFactory
) -> None:
    gate = await make_gate(redis_url=cluster_url)
    client = make_example_client(gate)
    health = await client.get("/health")
    assert health.status_code == 200
    assert health.json()["data"] == {"redis": "ok", "database": "ok"}

    account = await register_and_login(client)
    client.cookies.clear()
    bearer = {"Authorization": f"Bearer {account.access_token}"}
    profile = await client.get("/api/profile", headers=bearer)
    assert profile.status_code == 200
    assert profile.json()["data"]["username"] == account.username

    body = {"refreshToken": account.refresh_token}
    first, second = await asyncio.gather(
        client.post("/auth/refresh-token", json=body),
        client.post("/auth/refresh-token", json=body),
    )
    client.cookies.clear()
    assert (first.status_code, second.status_code) == (200, 200)
    refreshed = first.json()["data"]
    assert refreshed["refreshToken"] == second.json()["data"]["refreshToken"]
    new_bearer = {"Authorization": f"Bearer {refreshed['accessToken']}"}
    assert (await client.get("/api/profile", headers=new_bearer)).status_code == 200

    logout = await client.post("/auth/logout", headers=new_bearer)
    assert logout.status_code == 200
    client.cookies.clear()
    assert (await client.get("/api/profile", headers=new_bearer)).status_code == 401
    assert (await client.get("/api/profile", headers=bearer)).status_code == 401
    gone = await client.post(
        "/auth/refresh-token", json={"refreshToken": refreshed["refreshToken"]}
    )
    assert gone.status_code == 401


async def test_a_burst_larger_than_the_pool_waits_on_the_cluster(
    cluster_url: str, make_gate: GateFactory, make_client: ClientFactory
) -> None:
    gate = await make_gate(redis_url=cluster_url, redis_max_connections=2)
    client = make_client(gate)
    account = await register_and_login(client)
    client.cookies.clear()
    bearer = {"Authorization": f"Bearer {account.access_token}"}

    answers = await asyncio.gather(*(client.get("/api/profile", headers=bearer) for _ in range(40)))

    assert [answer.status_code for answer in answers] == [200] * 40


def test_cluster_really_spreads_slots(cluster_url: str) -> None:
    """The fixture's cluster has three primaries sharing the slots (so the tests above are real)."""
    port = int(cluster_url.rsplit(":", 1)[1])
    node = redis.Redis(port=port, decode_responses=True)
    try:
        info = node.cluster("info")
        assert info["cluster_state"] == "ok"
        assert int(info["cluster_known_nodes"]) == NODES
        assert int(info["cluster_slots_assigned"]) == 16384
    finally:
        node.close()


async def test_a_batch_of_checks_spread_over_every_node(cluster: RedisCluster) -> None:
    store = RedisSessionStore(cluster, prefix=redis_prefix_for_run())
    user_ids = users_on_every_node(cluster, store) * 2
    sessions = [(user_id, uuid.uuid4().hex) for user_id in user_ids]
    for user_id, sid in sessions:
        jti, iat, exp = refresh_claims()
        await store.create(user_id, sid, jti, iat, exp, BROWSER)
    await store.cache_user(user_ids[0], {"id": user_ids[0]}, 30)
    revoked = {1, 3}
    for index in revoked:
        assert await store.revoke(*sessions[index])

    before = store.checks.batches
    answers = await asyncio.gather(*(store.lookup(*session) for session in sessions))

    assert store.checks.batches - before == 1  # one pipeline, one round trip per node
    assert [a.alive for a in answers] == [i not in revoked for i in range(len(sessions))]
    cached = {"id": user_ids[0]}
    assert [a.cached_user for a in answers] == [
        cached if user_id == user_ids[0] else None for user_id, _ in sessions
    ]
    for user_id in set(user_ids):
        await store.revoke_all(user_id)


async def test_the_bench_deletes_a_prefix_on_every_node(
    cluster: RedisCluster, cluster_url: str
) -> None:
    store = RedisSessionStore(cluster, prefix=f"{redis_prefix_for_run()}-bench")
    kept = f"{redis_prefix_for_run()}-kept:{{{uuid.uuid4()}}}:s"
    user_ids = users_on_every_node(cluster, store) * 2
    for user_id in user_ids:
        jti, iat, exp = refresh_claims()
        await store.create(user_id, uuid.uuid4().hex, jti, iat, exp, BROWSER)
    await cluster.set(kept, "x")

    delete_prefix(cluster_url, f"{redis_prefix_for_run()}-bench:")

    left = [key async for key in cluster.scan_iter(match=f"{redis_prefix_for_run()}-bench:*")]
    assert left == []
    assert await cluster.get(kept) == "x"
    await cluster.delete(kept)


def _refused(node: RedisServer) -> bool:
    """Nothing listens on the node's port any more (a socket, not a client that retries)."""
    try:
        socket.create_connection(("127.0.0.1", node.port), timeout=1).close()
    except ConnectionRefusedError:
        return True
    return False


@pytest.mark.processes
def test_a_cluster_stops_every_node_it_started(tmp_path: Path) -> None:
    cluster = RedisClusterServer(tmp_path, masters=NODES)
    with cluster:
        assert len(cluster.nodes) == NODES
        assert cluster.url == f"redis+cluster://127.0.0.1:{cluster.nodes[0].port}"
        assert not any(_refused(node) for node in cluster.nodes)
    assert all(node.process is None and _refused(node) for node in cluster.nodes)


@pytest.mark.processes
def test_a_cluster_that_cannot_be_created_leaves_no_node_running(tmp_path: Path) -> None:
    too_small = RedisClusterServer(tmp_path, masters=2)  # a cluster needs 3 primaries

    with pytest.raises(RuntimeError, match="cluster create failed"):
        too_small.start()

    assert len(too_small.nodes) == 2
    assert all(node.process is None and _refused(node) for node in too_small.nodes)
