"""End to end, every part real: a nats-server, the cloud hub and the store server as processes.
HQ lowers the discount threshold, and a discount the store allowed a moment ago now needs a
supervisor, with no restart of anything."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest

from tests.support import EdgeServer, free_port, login

SUPERVISOR_PIN = "2468"


def wait_for(predicate, limit: float = 60.0, what: str = ""):
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def cloud_hub(tmp_path: Path, nats_server):
    port = free_port()
    log = (tmp_path / "cloud.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "cloud.cli", "serve", "--demo", "--nats-url", nats_server.url, "--db-url",
         f"sqlite:///{tmp_path / 'hq.db'}", "--port", str(port)],
        stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path)
    url = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        if proc.poll() is not None:
            raise AssertionError(f"the cloud hub exited: {(tmp_path / 'cloud.log').read_text()[-2000:]}")
        try:
            return httpx.get(f"{url}/readyz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_for(ready, what="the cloud hub to be ready with NATS up")
        yield url
    finally:
        proc.terminate()
        proc.wait(15)
        log.close()


@pytest.fixture
def store(demo_dir: Path, nats_server):
    server = EdgeServer(demo_dir, free_port(), extra_env={"NOVAPOS_NATS_URL": nats_server.url})
    server.start()
    try:
        yield server
    finally:
        server.stop()


def discounted_sale(edge: httpx.Client, cashier: dict, sku: str, discount_cents: int, **override) -> httpx.Response:
    body = {"lane_id": "1", "lines": [{"sku": sku, "quantity": 1}], "discount_cents": discount_cents,
            "tenders": [{"method": "cash", "amount_cents": 10**7}], **override}
    return edge.post("/api/v1/orders", json=body, headers=cashier | {"Idempotency-Key": uuid.uuid4().hex})


def test_hq_lowers_the_discount_threshold_and_the_store_then_asks_for_a_supervisor(cloud_hub, store):
    with httpx.Client(base_url=store.url, timeout=10) as edge, httpx.Client(base_url=cloud_hub, timeout=10) as hq:
        cashier, manager = login(edge, "cashier"), login(edge, "manager")
        product = next(p for p in edge.get("/api/v1/products?limit=200", headers=manager).json()["items"]
                       if not p["sold_by_weight"] and p["price_cents"] >= 1000)
        fifteen_percent = product["price_cents"] * 15 // 100
        assert discounted_sale(edge, cashier, product["sku"], fifteen_percent).status_code == 201
        assert edge.get("/api/v1/policy", headers=manager).json()["source"] == "default"

        admin = login(hq, "hq")
        changed = hq.patch("/api/v1/hq/policies", json={"discount_supervisor_over_bps": 1000}, headers=admin)
        assert changed.status_code == 200, changed.text
        version = changed.json()["version"]

        shown = wait_for(lambda: (p := edge.get("/api/v1/policy", headers=manager).json())["version"] == version
                         and p, what="the store to apply HQ's policy")
        assert shown["source"] == "hq" and shown["command_id"] == changed.json()["command_id"]
        assert shown["effective"]["discount_supervisor_over_bps"] == 1000

        refused = discounted_sale(edge, cashier, product["sku"], fifteen_percent)
        assert refused.status_code == 403 and refused.json()["type"].endswith("discount-override-required")
        approved = discounted_sale(edge, cashier, product["sku"], fifteen_percent, override_pin=SUPERVISOR_PIN)
        assert approved.status_code == 201, approved.text
