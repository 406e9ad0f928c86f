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

from tests.support import DEMO_PASSWORD, wait_until

pytestmark = pytest.mark.slow


def _token(url: str) -> dict[str, str]:
    r = httpx.post(f"{url}/api/v1/auth/login", json={"username": "cashier", "password": DEMO_PASSWORD}, timeout=10)
    r.raise_for_status()
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


async def _stream(url: str, headers: dict[str, str], skus: list[str], results: list, stop: threading.Event,
                  clients: int = 16, limit: int = 400) -> None:
    rng = random.Random(3)
    sent = 0

    async def send(client: httpx.AsyncClient, path: str, body: dict) -> dict | None:
        key = uuid.uuid4().hex
        try:
            r = await client.post(path, json=body, headers={**headers, "Idempotency-Key": key})
        except httpx.HTTPError:
            results.append((path, key, body, None, None))
            return None
        answer = r.json() if r.status_code < 300 else None
        results.append((path, key, body, r.status_code, answer))
        return answer

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal sent
        while not stop.is_set() and sent < limit:
            sent += 1
            lines = [{"sku": s, "quantity": rng.randint(1, 2)} for s in rng.sample(skus, rng.randint(1, 3))]
            by_card = rng.random() < 0.2
            body = {"lane_id": str(rng.randint(1, 3)), "lines": lines,
                    "tenders": [] if by_card else [{"method": "cash", "amount_cents": 10**7}]}
            opened = await send(client, "/api/v1/orders", body)
            if by_card and opened is not None and not stop.is_set():  # the order is open: pay it by card
                await send(client, f"/api/v1/orders/{opened['id']}/tenders",
                           {"tenders": [{"method": "card", "amount_cents": opened["total_cents"]}]})

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
    wait_until(lambda: len(results) >= 120 and any(r[0] != "/api/v1/orders" and r[3] == 200 for r in results),
               timeout=30, interval=0.01, what="checkouts and card payments in flight")
    edge_server.kill9()
    stop.set()
    runner.join(timeout=30)
    acked = [r for r in results if r[3] is not None and 200 <= r[3] < 300]
    assert len(acked) >= 50, f"only {len(acked)} requests were acknowledged before the kill"
    paid_by_card = [r for r in acked if r[0].endswith("/tenders") and r[4]["status"] == "COMPLETED"]
    assert paid_by_card, "no card payment completed before the kill"

    edge_server.start()
    headers = _token(url)
    for _path, _key, _body, _status, order in acked:
        got = httpx.get(f"{url}/api/v1/orders/{order['id']}", headers=headers, timeout=10)
        assert got.status_code == 200 and got.json()["number"] == order["number"]
    for *_, order in paid_by_card:
        got = httpx.get(f"{url}/api/v1/orders/{order['id']}", headers=headers, timeout=10).json()
        assert got["status"] == "COMPLETED"
        assert [(t["method"], t["status"]) for t in got["tenders"]] == [("card", "approved")]

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
    unsettled = db.execute("SELECT count(*) FROM payments WHERE status IN ('created', 'timed_out', 'awaiting')")
    assert unsettled.fetchone()[0] == 0  # recovery on start asked the terminal about each one
    orders_before = db.execute("SELECT count(*) FROM orders").fetchone()[0]
    movements_before = db.execute("SELECT count(*) FROM stock_movements").fetchone()[0]
    payments_before = db.execute("SELECT count(*) FROM payments").fetchone()[0]
    db.close()

    with httpx.Client(base_url=url, timeout=10) as client:
        for path, key, body, status, answer in acked:
            again = client.post(path, json=body, headers={**headers, "Idempotency-Key": key})
            assert again.status_code == status and again.json()["id"] == answer["id"]
            assert again.headers.get("idempotent-replayed") == "true"
    db = sqlite3.connect(db_path)
    assert db.execute("SELECT count(*) FROM orders").fetchone()[0] == orders_before
    assert db.execute("SELECT count(*) FROM stock_movements").fetchone()[0] == movements_before
    assert db.execute("SELECT count(*) FROM payments").fetchone()[0] == payments_before
    db.close()
