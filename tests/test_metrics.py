"""Prometheus metrics through the example app's ``/metrics``: each counter moves by exactly
the traffic that should move it, nothing about a user ever shows, and only an admin (the
role) may scrape them."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace

import httpx
import jwt
import pytest
from prometheus_client.parser import text_string_to_metric_families

from authgate import AuthGate
from authgate.observability.collectors import LatencyHistogram
from authgate.observability.metrics import (
    LOGIN_OUTCOMES,
    REQUEST_OUTCOMES,
    REVOKE_REASONS,
)
from authgate.observability.observer import REFRESH_INVALID, Observers
from authgate.sessions.protocol import RotationOutcome
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
from tests.test_example_admin import admin_account

Sample = tuple[str, str]  # (sample name, its one label value, or "")
Samples = defaultdict[Sample, float]


@pytest.fixture
def client(example_client: httpx.AsyncClient) -> httpx.AsyncClient:
    """The metrics are scraped from the example app's ``/metrics``: a client of it."""
    return example_client


@pytest.fixture
def make_client(make_example_client: ClientFactory) -> ClientFactory:
    """Clients of the example app, like ``client``."""
    return make_example_client


async def scrape(client: httpx.AsyncClient, admin: Account) -> tuple[Samples, str]:
    """Every sample of ``/metrics`` by (name, label value), and the raw text, scraped as
    Prometheus would: with the Bearer token of a user with the admin role."""
    response = await client.get("/metrics", headers=bearer(admin))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return samples(response.text), response.text


def read(gate: AuthGate) -> Samples:
    """The samples of ``gate``'s metrics read in process (where no request could pass)."""
    return samples(gate.enable_metrics().render().decode())


def samples(text: str) -> Samples:
    """Every sample of a Prometheus text by (name, label value)."""
    values: Samples = defaultdict(float)
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name.endswith("_created"):
                continue
            label = next(iter(sample.labels.values()), "") if sample.labels else ""
            if "le" in sample.labels:
                continue  # histogram buckets: their _count and _sum are enough here
            values[(sample.name, label)] += sample.value
    return values


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


async def metered(
    make_gate: GateFactory, make_client: ClientFactory
) -> tuple[httpx.AsyncClient, Account]:
    """A client of a new gate, and the admin who scrapes its metrics."""
    gate = await make_gate(login_max_failures=3)
    client = make_client(gate)
    return client, await admin_account(gate, client)


async def test_logins_are_counted_by_outcome(
    make_gate: GateFactory, make_client: ClientFactory
) -> None:
    client, admin = await metered(make_gate, make_client)
    account = await register(client)
    before, _ = await scrape(client, admin)

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

    after, _ = await scrape(client, admin)
    assert moved(before, after, "authgate_logins_total") == {
        "succeeded": 2,
        "failed": 3,
        "throttled": 1,
    }


async def test_refreshes_are_counted_by_outcome(
    make_gate: GateFactory, make_client: ClientFactory
) -> None:
    client, admin = await metered(make_gate, make_client)
    account = await log_in(client, await register(client))
    other = await log_in(client, account)
    before, _ = await scrape(client, admin)

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

    after, _ = await scrape(client, admin)
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
    admin = await admin_account(gate, client)
    account = await log_in(client, await register(client))
    no_redis_gate = await make_gate(redis_url=f"redis://127.0.0.1:{closed_port()}/0")
    no_redis = make_client(no_redis_gate)
    # without Redis no token passes, an admin's neither: its metrics are read in process
    no_redis_before = read(no_redis_gate)
    before, _ = await scrape(client, admin)

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

    after, _ = await scrape(client, admin)
    assert moved(before, after, "authgate_requests_total") == {
        "authenticated": 4,  # 3 and the admin's scrape itself
        "anonymous": 1,  # /health
        "rejected": 2,
        "forbidden": 1,
    }
    # one Redis session check per request with a well-signed token (the scrape's too)
    assert moved(before, after, "authgate_session_check_seconds_count") == {"": 4}
    assert (
        0
        < after[("authgate_session_check_seconds_sum", "")]
        - before[("authgate_session_check_seconds_sum", "")]
        < 4.0
    )
    no_redis_after = read(no_redis_gate)
    assert moved(no_redis_before, no_redis_after, "authgate_requests_total") == {
        "unavailable": 1,
    }


def sid_of(account: Account) -> str:
    sid: str = jwt.decode(account.access_token, options={"verify_signature": False})["sid"]
    return sid


async def test_revoked_sessions_are_counted_by_reason(
    make_gate: GateFactory, make_client: ClientFactory
) -> None:
    gate = await make_gate()
    client = make_client(gate)
    admin = await admin_account(gate, client)
    account = await register(client)
    sessions = [await log_in(client, account) for _ in range(7)]
    before, _ = await scrape(client, admin)

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

    after, _ = await scrape(client, admin)
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
    admin = await admin_account(gate, client)
    before, _ = await scrape(client, admin)

    gate.observers.mail_sent("verify-email")
    gate.observers.mail_sent("verify-email")
    gate.observers.mail_sent("password-reset")

    after, _ = await scrape(client, admin)
    assert moved(before, after, "authgate_mails_sent_total") == {
        "verify-email": 2,
        "password-reset": 1,
    }


async def test_metrics_carry_no_user_data_and_only_known_labels(
    make_gate: GateFactory, make_client: ClientFactory
) -> None:
    gate = await make_gate()
    client = make_client(gate)
    admin = await admin_account(gate, client)
    account = await log_in(client, await register(client))
    await client.get("/api/profile", headers=bearer(account))
    await refresh(client, account.refresh_token)
    await client.post("/auth/login", json={"username": account.username, "password": "wrong"})
    await client.post("/auth/logout-all", headers=bearer(account))

    values, text = await scrape(client, admin)

    for secret in (
        account.id,
        account.username,
        account.email,
        account.access_token,
        account.refresh_token,
        sid_of(account),
        admin.id,
        admin.username,
        admin.access_token,
        CLIENT_IP,
        "/api/profile",
    ):
        assert secret not in text
    known = {
        "authgate_logins_total": set(LOGIN_OUTCOMES.values()),
        "authgate_refreshes_total": {o.value for o in RotationOutcome} | {REFRESH_INVALID},
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


async def test_only_an_admin_may_scrape(gate: AuthGate, client: httpx.AsyncClient) -> None:
    """The counters tell more than a visitor should know (whether a forgot-password found
    an account, for one): ``/metrics`` is for the admin role, as a Prometheus with an
    admin's token scrapes it."""
    anonymous = await client.get("/metrics")
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"] == "Bearer"
    assert "authgate_" not in anonymous.text
    forged = await client.get("/metrics", headers=bearer("not.a.token"))
    assert forged.status_code == 401

    user = await log_in(client, await register(client))
    await gate.accounts.grant_role(user.id, "metrics:read")  # not the admin role
    refused = await client.get("/metrics", headers=bearer(user))
    assert refused.status_code == 403
    assert refused.headers["www-authenticate"] == 'Bearer error="insufficient_scope"'
    assert refused.json()["message"] == "Requires the scope admin"
    assert "authgate_" not in refused.text
    for path in ("/metrics/", "/metrics/anything"):
        assert (await client.get(path)).status_code == 401, path

    admin = await admin_account(gate, client)
    values, _ = await scrape(client, admin)
    # the two refusals of a user without the role count as forbidden, the others as rejected
    assert values[("authgate_requests_total", "forbidden")] == 1
    assert values[("authgate_requests_total", "rejected")] == 4

    await gate.accounts.revoke_role(admin.id, "admin")  # seen at the next request
    assert (await client.get("/metrics", headers=bearer(admin))).status_code == 403


async def test_an_admin_logged_in_by_cookie_may_scrape_too(
    gate: AuthGate, client: httpx.AsyncClient
) -> None:
    account = await register(client)
    await gate.accounts.grant_role(account.id, "admin")
    response = await client.post(
        "/auth/login", json={"username": account.username, "password": account.password}
    )
    assert response.status_code == 200

    scraped = await client.get("/metrics")

    assert scraped.status_code == 200
    assert "authgate_requests_total" in scraped.text


async def test_a_scraper_keeps_its_token_fresh_with_the_refresh_token(
    gate: AuthGate, client: httpx.AsyncClient
) -> None:
    """What README's "Metrics" tells a Prometheus to do: an admin account, logged in once,
    its access token renewed by posting the (rotating) refresh token; no cookie, no Origin."""
    admin = await admin_account(gate, client)
    client.headers.pop("Origin")  # a job, not a page
    for _ in range(3):
        renewed = await refresh(client, admin.refresh_token)
        assert renewed.status_code == 200, renewed.text
        data = renewed.json()["data"]
        admin = replace(admin, access_token=data["accessToken"], refresh_token=data["refreshToken"])
        values, _ = await scrape(client, admin)
        assert values[("authgate_refreshes_total", "rotated")] >= 1


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


class Tally:
    """An observer that keeps what it was told."""

    def __init__(self) -> None:
        self.seen: list[object] = []

    def request(self, outcome: str) -> None:
        self.seen.append(outcome)

    def refresh(self, outcome: str) -> None:
        self.seen.append(("refresh", outcome))

    def session_checked(self, seconds: float) -> None:
        self.seen.append(seconds)

    def mail_sent(self, kind: str) -> None:
        self.seen.append(("mail", kind))


def test_every_observer_hears_every_outcome_with_one_or_several() -> None:
    observers = Observers()
    observers.request("anonymous")  # none yet: nothing to tell, no error
    first, second = Tally(), Tally()
    observers.add(first)
    observers.request("authenticated")
    observers.session_checked(0.5)
    observers.add(second)
    observers.request("rejected")
    observers.session_checked(0.25)
    observers.refresh("rotated")
    assert first.seen == ["authenticated", 0.5, "rejected", 0.25, ("refresh", "rotated")]
    assert second.seen == ["rejected", 0.25, ("refresh", "rotated")]
