"""HQ sign-out takes effect on the next request, on this hub instance at once and on another
instance sharing the database within the revocation cache's bound."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from litestar.testing import AsyncTestClient

from cloud.app import create_app
from cloud.auth import AuthService
from cloud.db import CloudDB
from cloud.settings import CloudSettings


@pytest.fixture
async def two_hubs(tmp_path: Path):
    """Two hub instances on one database and one key directory, as behind a load balancer."""
    url = f"sqlite:///{tmp_path / 'hq.db'}"
    settings = CloudSettings(db_url=url, demo=False, keys_dir=str(tmp_path / "keys"))
    first, second = create_app(settings), create_app(settings)
    async with AsyncTestClient(app=first) as a, AsyncTestClient(app=second) as b:
        db = CloudDB(url)
        await AuthService(db, first.state.token_keys).create_user("ana", "analyst-pass-1", ["hq_analyst"], "acme")
        yield a, b
        await db.close()


async def _login(client) -> dict:
    response = await client.post("/api/v1/auth/login", json={"username": "ana", "password": "analyst-pass-1"})
    assert response.status_code == 200, response.text
    return response.json()


async def _me(client, tokens: dict) -> int:
    response = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    return response.status_code


async def test_after_logout_the_old_access_token_is_refused_at_once(two_hubs):
    hub, _ = two_hubs
    tokens = await _login(hub)
    assert await _me(hub, tokens) == 200
    assert (await hub.post("/api/v1/auth/logout", json={"refresh_token": tokens["refresh_token"]})).status_code == 204
    refused = await hub.get("/api/v1/me", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert refused.status_code == 401
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert "sign in again" in refused.json()["detail"]
    assert await _me(hub, await _login(hub)) == 200  # a new sign-in works


async def test_a_logout_on_one_hub_instance_reaches_the_other_within_the_cache_bound(two_hubs):
    hub_a, hub_b = two_hubs
    tokens = await _login(hub_a)
    assert await _me(hub_b, tokens) == 200  # hub B has loaded its list and holds it for cache_s
    await hub_a.post("/api/v1/auth/logout", json={"refresh_token": tokens["refresh_token"]})
    bound = hub_b.app.state.auth.revocations.cache_s
    deadline = time.monotonic() + bound + 5  # the bound, plus slack for a busy machine
    while await _me(hub_b, tokens) != 401:
        assert time.monotonic() < deadline, f"hub B still accepts the token more than {bound} s after the logout"
        await asyncio.sleep(0.1)


async def test_a_reused_refresh_token_kills_the_sessions_access_token_too(two_hubs):
    hub, _ = two_hubs
    first = await _login(hub)
    second = (await hub.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})).json()
    assert await _me(hub, second) == 200
    reuse = await hub.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert reuse.status_code == 401
    assert await _me(hub, second) == 401
