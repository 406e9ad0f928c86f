"""kill -9 during a stream of concurrent checkouts, on a real server process.

Proves: every order that got a 2xx is there exactly once after the restart; for every product
the ledger sums to on hand, which equals the starting stock minus what the stored orders sold;
nothing left in flight by the crash stays unsettled; no reservation outlives its TTL; and
replaying every acknowledged request with its key creates nothing new.
"""

from __future__ import annotations

import asyncio
import random
import sqlite3
import threading
import time
import uuid

import httpx
import pytest

from tests.support import DEMO_PASSWORD

pytestmark = pytest.mark.slow


def _token(url: str) -> dict[str, str]:
    r = httpx.post(f"{url}/api/v1/auth/login", json={"username": "cashier", "password": DEMO_PASSWORD}, timeout=10)
    r.raise_for_status()
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


async def _stream(url: str, headers: dict[str, str], skus: list[str], results: list, stop: threading.Event,
                  clients: int = 16, limit: int = 400) -> None:
    rng = random.Random(3)
    sent = 0

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal sent
        while not stop.is_set() and sent < limit:
            sent += 1
            lines = [{"sku": s, "quantity": rng.randint(1, 2)} for s in rng.sample(skus, rng.randint(1, 3))]
            method = "card" if rng.random() < 0.2 else "cash"
            body = {"lane_id": str(rng.randint(1, 3)), "lines": lines,
                    "tenders": [{"method": "cash", "amount_cents": 10**7}] if method == "cash" else []}
            key = uuid.uuid4().hex
            try:
                if method == "card":  # open the order, then pay it by card
                    body["tenders"] = []
                r = await client.post("/api/v1/orders", json=body, headers={**headers, "Idempotency-Key": key})
                results.append((key, body, r.status_code, r.json() if r.status_code < 300 else None))
            except (httpx.HTTPError, ValueError):
                results.append((key, body, None, None))

    async with httpx.AsyncClient(base_url=url, timeout=5) as client:
        await asyncio.gather(*(worker(client) for _ in range(clients)))


def test_kill_9_during_checkouts_loses_and_doubles_nothing(edge_server):
    url = edge_server.url
    headers = _token(url)
    db_path = edge_server.data_dir / "store.db"
    items = httpx.get(f"{url}/api/v1/inventory?limit=1000", headers=headers, timeout=10).json()["items"]
    start = {i["product_id"]: i["on_hand"] for i in items}
    products = httpx.get(f"{url}/api/v1/products?limit=200", headers=headers, timeout=10).json()["items"]
    skus = [p["sku"] for p in products if not p["sold_by_weight"]][:12]

    results: list = []
    stop = threading.Event()
    runner = threading.Thread(target=lambda: asyncio.run(_stream(url, headers, skus, results, stop)))
    runner.start()
    deadline = time.monotonic() + 20
    while len(results) < 120 and time.monotonic() < deadline:
        time.sleep(0.01)
    edge_server.kill9()
    stop.set()
    runner.join(timeout=30)
    acked = [r for r in results if r[2] is not None and 200 <= r[2] < 300]
    assert len(acked) >= 50, f"only {len(acked)} orders were acknowledged before the kill"

    edge_server.start()
    headers = _token(url)
    for _key, _body, _status, order in acked:
        got = httpx.get(f"{url}/api/v1/orders/{order['id']}", headers=headers, timeout=10)
        assert got.status_code == 200 and got.json()["number"] == order["number"]

    db = sqlite3.connect(db_path)
    numbers = db.execute("SELECT number, count(*) FROM orders GROUP BY number HAVING count(*) > 1").fetchall()
    assert numbers == []
    ledger = dict(db.execute("SELECT product_id, sum(delta) FROM stock_movements GROUP BY product_id").fetchall())
    levels = dict(db.execute("SELECT product_id, on_hand FROM stock_levels").fetchall())
    sold = dict(db.execute(
        "SELECT l.product_id, sum(coalesce(l.weight_grams, l.quantity)) FROM order_lines l JOIN orders o "
        "ON o.id = l.order_id WHERE o.status = 'COMPLETED' GROUP BY l.product_id").fetchall())
    for pid, before in start.items():
        assert ledger.get(pid, 0) == levels.get(pid, 0), pid
        assert levels.get(pid, 0) == before - sold.get(pid, 0), pid
    reserved = dict(db.execute(
        "SELECT i.product_id, sum(i.quantity) FROM reservation_items i JOIN reservations r ON r.id = i.reservation_id "
        "WHERE r.status = 'active' GROUP BY i.product_id").fetchall())
    assert {p: v for p, v in db.execute("SELECT product_id, reserved FROM stock_levels WHERE reserved != 0")} == \
        reserved
    now = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
    overdue = db.execute("SELECT count(*) FROM reservations WHERE status='active' AND expires_at <= ?", (now,))
    assert overdue.fetchone()[0] == 0
    orders_before = db.execute("SELECT count(*) FROM orders").fetchone()[0]
    movements_before = db.execute("SELECT count(*) FROM stock_movements").fetchone()[0]
    db.close()

    with httpx.Client(base_url=url, timeout=10) as client:
        for key, body, status, order in acked:
            again = client.post("/api/v1/orders", json=body, headers={**headers, "Idempotency-Key": key})
            assert again.status_code == status and again.json()["id"] == order["id"]
            assert again.headers.get("idempotent-replayed") == "true"
    db = sqlite3.connect(db_path)
    assert db.execute("SELECT count(*) FROM orders").fetchone()[0] == orders_before
    assert db.execute("SELECT count(*) FROM stock_movements").fetchone()[0] == movements_before
    db.close()
