"""Rate limits hold across hub instances: two real `novapos-cloud serve` processes on one
Postgres, both driven past an app's limit at once, accept no more than the limit together.

The counters live in Postgres (`cloud.ratelimit.SqlStorage`) and each hit is one atomic upsert,
so the stated tolerance is zero: the combined accepted count equals the limit exactly.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.cloud.conftest import PG_URL, pg_schema_or_skip
from tests.cloud.partner_support import PartnerHub, admin_headers, register_app
from tests.support import wait_until

SUSTAINED_PER_MIN = 60
TOLERANCE = 0  # atomic database counters: not one request over


@pytest.fixture
def two_hubs(tmp_path: Path) -> Iterator[tuple[PartnerHub, PartnerHub]]:
    schema = asyncio.run(pg_schema_or_skip())
    env = {"NOVAPOS_CLOUD_DB_SCHEMA": schema, "NOVAPOS_CLOUD_PARTNER_APP_SUSTAINED_PER_MIN": str(SUSTAINED_PER_MIN),
           "NOVAPOS_CLOUD_PARTNER_APP_BURST_PER_S": "1000", "NOVAPOS_CLOUD_PARTNER_TENANT_BURST_PER_S": "1000",
           "NOVAPOS_CLOUD_PARTNER_TENANT_SUSTAINED_PER_MIN": "100000"}
    hubs = []
    try:
        for name in ("a", "b"):  # one after the other: the first creates the schema
            (tmp_path / name).mkdir()
            hub = PartnerHub(tmp_path / name, env, db_url=PG_URL)
            hub.start()
            hubs.append(hub)
        yield hubs[0], hubs[1]
    finally:
        for hub in hubs:
            hub.stop()
        asyncio.run(_drop(schema))


async def _drop(schema: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_URL)
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await conn.close()


def _drive(url: str, key: str, stop_at: float, seen: Counter, samples: dict[int, httpx.Response],
           lock: threading.Lock) -> None:
    """Call until this instance has been refused a few times (it is at the limit), or time is up."""
    with httpx.Client(base_url=url, headers={"X-API-Key": key}, timeout=30) as client:
        while time.monotonic() < stop_at and seen[(url, 429)] < 10:
            r = client.get("/api/v1/partner/catalog")
            with lock:
                seen[(url, r.status_code)] += 1
                samples.setdefault(r.status_code, r)


def test_two_instances_together_accept_no_more_than_the_limit(two_hubs: tuple[PartnerHub, PartnerHub]):
    a, b = two_hubs
    admin = admin_headers(a.url)
    app = register_app(a.url, admin, ["catalog:read"])
    key = httpx.post(f"{a.url}/api/v1/partner-admin/apps/{app['app_id']}/keys", headers=admin).json()["api_key"]

    seen: Counter = Counter()
    samples: dict[int, httpx.Response] = {}
    lock = threading.Lock()
    stop_at = time.monotonic() + 40.0  # inside the one-minute window, however slow the machine
    threads = [threading.Thread(target=_drive, args=(hub.url, key, stop_at, seen, samples, lock))
               for hub in (a, b) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    accepted = seen[(a.url, 200)] + seen[(b.url, 200)]
    refused = seen[(a.url, 429)] + seen[(b.url, 429)]
    print(f"accepted a={seen[(a.url, 200)]} b={seen[(b.url, 200)]} total={accepted}; refused={refused}")
    assert set(code for _, code in seen) <= {200, 429}
    assert SUSTAINED_PER_MIN - TOLERANCE <= accepted <= SUSTAINED_PER_MIN + TOLERANCE
    # Each instance was driven to the limit on its own: both accepted some and refused some.
    assert seen[(a.url, 200)] and seen[(b.url, 200)] and seen[(a.url, 429)] and seen[(b.url, 429)]

    throttled = samples[429]
    assert throttled.headers["content-type"].startswith("application/problem+json")
    assert throttled.json()["policy"] == "app-sustained"
    assert 0 < int(throttled.headers["retry-after"]) <= 60
    assert throttled.headers["ratelimit"].startswith('"app-sustained";r=0;t=')
    assert f'"app-sustained";q={SUSTAINED_PER_MIN};w=60' in throttled.headers["ratelimit-policy"]

    # The HQ page's figures add up both instances' counts (each flushes its own every few seconds).
    admin_b = admin_headers(b.url)  # each test instance signs with its own keys

    def totals() -> dict | None:
        items = httpx.get(f"{b.url}/api/v1/partner-admin/health", headers=admin_b).json()["items"]
        mine = next(i for i in items if i["app_id"] == app["app_id"])
        return mine if mine["requests"] >= accepted + refused else None

    health = wait_until(totals, timeout=20, interval=0.5, what="both instances' usage in the health figures")
    assert health["requests"] == accepted + refused and health["throttled"] == refused
