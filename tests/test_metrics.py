"""Prometheus metrics through the example app's ``/metrics``: each counter moves by exactly
the traffic that should move it, and nothing about a user ever shows."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace

import httpx
import jwt
from prometheus_client.parser import text_string_to_metric_families

from authgate.hot_metrics import LatencyHistogram
from authgate.metrics import LOGIN_OUTCOMES, REFRESH_OUTCOMES, REQUEST_OUTCOMES, REVOKE_REASONS
from tests.conftest import (
    CLIENT_IP,
    PASSWORD,
    Account,
    ClientFactory,
    GateFactory,
    bearer,
    register,
)
from tests.processes import closed_port

Sample = tuple[str, str]  # (sample name, its one label value, or "")
Samples = defaultdict[Sample, float]


async def scrape(client: httpx.AsyncClient) -> tuple[Samples, str]:
    """Every sample of ``/metrics`` by (name, label value), and the raw text."""
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    values: Samples = defaultdict(float)
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            if sample.name.endswith("_created"):
                continue
            label = next(iter(sample.labels.values()), "") if sample.labels else ""
            if "le" in sample.labels:
                continue  # histogram buckets: their _count and _sum are enough here
            values[(sample.name, label)] += sample.value
    return values, response.text


def moved(before: Samples, after: Samples, prefix: str) -> dict[str, float]:
    """How much each label value of the metric ``prefix`` moved (only those that did)."""
    deltas = {
        label: after[(name, label)] - before[(name, label)]
        for name, label in after
        if name == prefix
    }
    return {label: delta for label, delta in deltas.items() if delta}


async def log_in(client: httpx.AsyncClient, account: Account) -> Account:
    """A new session, used by Bearer (the client keeps no cookie)."""
    response = await client.post(
        "/auth/login", json={"username": account.username, "password": account.password}
    )
    assert response.status_code == 200, response.text
    client.cookies.clear()
    data = response.json()["data"]
    return replace(account, access_token=data["accessToken"], refresh_token=data["refreshToken"])


async def refresh(client: httpx.AsyncClient, token: str | None) -> httpx.Response:
    body = {"refreshToken": token} if token is not None else {}
    response = await client.post("/auth/refresh-token", json=body)
    client.cookies.clear()
    return response


async def metered(make_gate: GateFactory, make_client: ClientFactory) -> httpx.AsyncClient:
    gate = await make_gate(login_max_failures=3)
    return make_client(gate)


async def test_logins_are_counted_by_outcome(
    make_gate: GateFactory, make_client: ClientFactory
) -> None:
    client = await metered(make_gate, make_client)
    account = await register(client)
    before, _ = await scrape(client)

    await log_in(client, account)
    await log_in(client, account)
    for _ in range(3):
        wrong = await client.post(
            "/auth/login", json={"username": account.username, "password": "wrong password"}
        )
        assert wrong.status_code == 401
    locked = await client.post(
        "/auth/login", json={"username": account.username, "password": PASSWORD}
    )
    assert locked.status_code == 429

    after, _ = await scrape(client)
    assert moved(before, after, "authgate_logins_total") == {
        "succeeded": 2,
        "failed": 3,
        "throttled": 1,
    }


async def test_refreshes_are_counted_by_outcome(
    make_gate: GateFactory, make_client: ClientFactory
) -> None:
    client = await metered(make_gate, make_client)
    account = await log_in(client, await register(client))
    other = await log_in(client, account)
    before, _ = await scrape(client)

    first = await refresh(client, account.refresh_token)
    assert first.status_code == 200  # rotated
    assert (await refresh(client, account.refresh_token)).status_code == 200  # grace
    second = first.json()["data"]["refreshToken"]
    assert (await refresh(client, second)).status_code == 200  # rotated again
    assert (await refresh(client, account.refresh_token)).status_code == 401  # reused
    assert (await refresh(client, second)).status_code == 401  # missing: revoked by reuse
    assert (await refresh(client, "not.a.token")).status_code == 401  # invalid
    assert (await refresh(client, other.access_token)).status_code == 401  # invalid
    assert (await refresh(client, None)).status_code == 401  # invalid

    after, _ = await scrape(client)
    assert moved(before, after, "authgate_refreshes_total") == {
        "rotated": 2,
        "grace": 1,
        "reused": 1,
        "missing": 1,
        "invalid": 3,
    }


async def test_requests_are_counted_by_outcome_and_the_session_check_is_timed(
    make_gate: GateFactory, make_client: ClientFactory
) -> None:
    gate = await make_gate()
    client = make_client(gate)
    account = await log_in(client, await register(client))
    no_redis = make_client(await make_gate(redis_url=f"redis://127.0.0.1:{closed_port()}/0"))
    no_redis_before, _ = await scrape(no_redis)
    before, _ = await scrape(client)

    for _ in range(3):
        assert (await client.get("/api/profile", headers=bearer(account))).status_code == 200
    assert (await client.get("/health")).status_code == 200
    assert (await client.get("/api/profile")).status_code == 401
    forged = {"Authorization": "Bearer " + account.access_token[:-4] + "AAAA"}
    assert (await client.get("/api/profile", headers=forged)).status_code == 401
    cross_site = await client.post(
        "/auth/logout",
        headers={"Origin": "https://evil.example", "Cookie": f"accessToken={account.access_token}"},
    )
    assert cross_site.status_code == 403
    assert (await no_redis.get("/api/profile", headers=bearer(account))).status_code == 503

    after, _ = await scrape(client)
    assert moved(before, after, "authgate_requests_total") == {
        "authenticated": 3,
        "anonymous": 2,  # /health and this scrape itself
        "rejected": 2,
        "forbidden": 1,
    }
    # one Redis session check per request with a well-signed token
    assert moved(before, after, "authgate_session_check_seconds_count") == {"": 3}
    assert (
        0
        < after[("authgate_session_check_seconds_sum", "")]
        - before[("authgate_session_check_seconds_sum", "")]
        < 3.0
    )
    no_redis_after, _ = await scrape(no_redis)
    assert moved(no_redis_before, no_redis_after, "authgate_requests_total") == {
        "unavailable": 1,
        "anonymous": 1,
    }


def sid_of(account: Account) -> str:
    sid: str = jwt.decode(account.access_token, options={"verify_signature": False})["sid"]
    return sid


async def test_revoked_sessions_are_counted_by_reason(
    make_gate: GateFactory, make_client: ClientFactory
) -> None:
    gate = await make_gate()
    client = make_client(gate)
    account = await register(client)
    sessions = [await log_in(client, account) for _ in range(7)]
    before, _ = await scrape(client)

    assert (await client.post("/auth/logout", headers=bearer(sessions[0]))).status_code == 200
    revoked = await client.delete(
        f"/auth/sessions/{sid_of(sessions[1])}", headers=bearer(sessions[2])
    )
    assert revoked.status_code == 200
    # reuse: rotate twice, then present the first token (older than the grace window allows)
    rotated = await refresh(client, sessions[2].refresh_token)
    await refresh(client, rotated.json()["data"]["refreshToken"])
    assert (await refresh(client, sessions[2].refresh_token)).status_code == 401
    changed = await client.post(
        "/auth/change-password",
        json={"currentPassword": PASSWORD, "newPassword": "another good password"},
        headers=bearer(sessions[3]),
    )
    assert changed.status_code == 200
    assert changed.json()["data"] == {"revoked": 3}  # sessions 4, 5 and 6
    everywhere = await client.post("/auth/logout-all", headers=bearer(sessions[3]))
    assert everywhere.json()["data"] == {"revoked": 1}

    other = await register(client)
    for _ in range(2):
        await log_in(client, other)
    await gate.service.set_active(other.id, False)
    deleted = await register(client)
    await log_in(client, deleted)
    await gate.service.delete_user(deleted.id)

    after, _ = await scrape(client)
    assert moved(before, after, "authgate_sessions_revoked_total") == {
        "logout": 1,
        "revoked-by-user": 1,
        "reuse-detected": 1,
        "password-changed": 3,
        "logout-all": 1,
        "user-deactivated": 2,
        "user-deleted": 1,
    }


async def test_mails_are_counted_by_kind(
    make_gate: GateFactory, make_client: ClientFactory
) -> None:
    gate = await make_gate()
    client = make_client(gate)
    before, _ = await scrape(client)

    gate.observers.mail_sent("verify-email")
    gate.observers.mail_sent("verify-email")
    gate.observers.mail_sent("password-reset")

    after, _ = await scrape(client)
    assert moved(before, after, "authgate_mails_sent_total") == {
        "verify-email": 2,
        "password-reset": 1,
    }


async def test_metrics_carry_no_user_data_and_only_known_labels(
    make_gate: GateFactory, make_client: ClientFactory
) -> None:
    gate = await make_gate()
    client = make_client(gate)
    account = await log_in(client, await register(client))
    await client.get("/api/profile", headers=bearer(account))
    await refresh(client, account.refresh_token)
    await client.post("/auth/login", json={"username": account.username, "password": "wrong"})
    await client.post("/auth/logout-all", headers=bearer(account))

    values, text = await scrape(client)

    for secret in (
        account.id,
        account.username,
        account.email,
        account.access_token,
        account.refresh_token,
        sid_of(account),
        CLIENT_IP,
        "/api/profile",
    ):
        assert secret not in text
    known = {
        "authgate_logins_total": set(LOGIN_OUTCOMES.values()),
        "authgate_refreshes_total": set(REFRESH_OUTCOMES),
        "authgate_requests_total": set(REQUEST_OUTCOMES),
        "authgate_sessions_revoked_total": {
            *REVOKE_REASONS.values(),
            "logout-all",
            "revoked-by-user",
        },
    }
    for (name, label), _ in values.items():
        if name in known:
            assert label in known[name], (name, label)


async def test_each_gate_has_its_own_metrics(make_gate: GateFactory) -> None:
    first, second = await make_gate(), await make_gate()
    assert first.enable_metrics() is first.enable_metrics()
    assert first.enable_metrics().registry is not second.enable_metrics().registry

    first.observers.mail_sent("verify-email")

    assert b'authgate_mails_sent_total{kind="verify-email"} 1.0' in first.enable_metrics().render()
    assert b'authgate_mails_sent_total{kind="verify-email"} 0.0' in second.enable_metrics().render()


def test_the_session_check_histogram_counts_each_observation_in_its_le_bucket() -> None:
    histogram = LatencyHistogram("check_seconds", "A check.", (0.001, 0.01))
    for seconds in (0.0002, 0.001, 0.005, 2.0):
        histogram.observe(seconds)

    [family] = list(histogram.collect())
    samples = {(s.name, s.labels.get("le", "")): s.value for s in family.samples}

    assert samples[("check_seconds_bucket", "0.001")] == 2  # "le": the bound itself counts
    assert samples[("check_seconds_bucket", "0.01")] == 3
    assert samples[("check_seconds_bucket", "+Inf")] == 4
    assert samples[("check_seconds_count", "")] == 4
    assert samples[("check_seconds_sum", "")] == 0.0002 + 0.001 + 0.005 + 2.0
