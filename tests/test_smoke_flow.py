"""The whole flow once, through the ASGI app on real PostgreSQL and Redis."""

from __future__ import annotations

import httpx

from tests.conftest import register_and_login


async def test_register_login_profile_refresh_logout(client: httpx.AsyncClient) -> None:
    account = await register_and_login(client)
    bearer = {"Authorization": f"Bearer {account.access_token}"}

    profile = await client.get("/api/profile", headers=bearer)
    assert profile.status_code == 200
    assert profile.json()["data"]["username"] == account.username

    refreshed = await client.post(
        "/auth/refresh-token", json={"refreshToken": account.refresh_token}
    )
    assert refreshed.status_code == 200
    new_access = refreshed.json()["data"]["accessToken"]

    client.cookies.clear()
    logout = await client.post("/auth/logout", headers={"Authorization": f"Bearer {new_access}"})
    assert logout.status_code == 200
    after = await client.get("/api/profile", headers={"Authorization": f"Bearer {new_access}"})
    assert after.status_code == 401
    old = await client.get("/api/profile", headers=bearer)
    assert old.status_code == 401
