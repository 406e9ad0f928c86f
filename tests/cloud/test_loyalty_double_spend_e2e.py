"""Double spend, end to end with every part real: a nats-server, the cloud hub and two store servers
as processes. A customer signs up at one store and is found at the other through HQ; the WAN is cut
(the nats-server is killed); both stores let the customer redeem the same points within the offline
allowance; the link heals (the server restarts on the same port and store); HQ then holds both
redemptions in the ledger and exactly one loyalty overdraft case."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import pytest

from tests.support import CloudServer, login, wait_until

LONG = 120.0  # the first events cross a freshly started hub: stream creation and sourcing take a while
PROGRAM = {"enabled": True, "points_per_unit": 1, "point_value_cents": 1, "min_redeem_points": 100,
           "offline_cap_points": 500}


@pytest.fixture
def hub(tmp_path: Path, nats_server):
    server = CloudServer(tmp_path)
    server.start(["--nats-url", nats_server.url])
    try:
        yield server
    finally:
        server.stop()


def post(client: httpx.Client, path: str, body: dict, headers: dict) -> httpx.Response:
    return client.post(path, json=body, headers=headers | {"Idempotency-Key": uuid.uuid4().hex})


def loyalty_on(edge: httpx.Client, manager: dict) -> bool:
    shown = edge.get("/api/v1/policy", headers=manager).json()
    return bool(shown["policy"].get("loyalty", {}).get("enabled"))


def redeem(edge: httpx.Client, cashier: dict, customer_id: str, sku: str, points: int) -> httpx.Response:
    return post(edge, "/api/v1/orders", {"lane_id": "1", "customer_id": customer_id,
                                         "lines": [{"sku": sku, "quantity": 3}],
                                         "tenders": [{"method": "points", "points": points},
                                                     {"method": "cash", "amount_cents": 10_000_000}]}, cashier)


def test_two_stores_spending_the_same_points_while_apart_make_one_case_at_hq(hub, store_a, store_b, nats_server):
    email = f"{uuid.uuid4().hex}@example.org"
    with httpx.Client(base_url=hub.url, timeout=15) as hq, \
            httpx.Client(base_url=store_a.url, timeout=15) as a, httpx.Client(base_url=store_b.url, timeout=15) as b:
        admin = login(hq, "hq")
        changed = hq.patch("/api/v1/hq/policies", json={"loyalty": PROGRAM}, headers=admin)
        assert changed.status_code == 200, changed.text
        for edge in (a, b):
            manager = login(edge, "manager")
            wait_until(lambda e=edge, m=manager: loyalty_on(e, m), timeout=LONG, what="the program at the store")
        cashier_a, cashier_b = login(a, "cashier"), login(b, "cashier")
        sku = next(p for p in a.get("/api/v1/products?limit=50", headers=login(a, "manager")).json()["items"]
                   if not p["sold_by_weight"] and p["price_cents"] >= 400)["sku"]

        # Sign-up at store A, HQ credits 600 points, store B finds the customer through HQ.
        signed = wait_until(lambda: (r := post(a, "/api/v1/customers", {"name": "Dora Double", "email": email},
                                              cashier_a)).status_code == 201 and r, timeout=LONG,
                            what="store A to sign the customer up (it needs HQ's tenant key)")
        customer_id = signed.json()["customer_id"]
        credited = hq.post(f"/api/v1/hq/customers/{customer_id}/loyalty/adjustments",
                           json={"points": 600, "reason": "welcome"}, headers=admin)
        assert credited.status_code == 201, credited.text
        found = wait_until(lambda: b.get(f"/api/v1/customers?q={email}", headers=cashier_b).json()["items"],
                           timeout=LONG, what="store B to find the customer through HQ")
        assert [c["customer_id"] for c in found] == [customer_id]
        for edge, cashier in ((a, cashier_a), (b, cashier_b)):  # each store caches HQ's balance
            wait_until(lambda e=edge, c=cashier: e.get(f"/api/v1/customers/{customer_id}", headers=c)
                       .json()["loyalty"]["balance_points"] == 600, timeout=LONG, what="HQ's balance at the store")

        # The WAN is cut: both stores let the customer spend 500 of the same 600 points.
        nats_server.kill9()
        for edge, cashier in ((a, cashier_a), (b, cashier_b)):
            view = wait_until(lambda e=edge, c=cashier: (v := e.get(f"/api/v1/customers/{customer_id}",
                                                                    headers=c).json())["offline"] and v,
                              timeout=LONG, what="the store to notice HQ is out of reach")
            assert view["loyalty"]["redeemable_points"] == 500
            over = redeem(edge, cashier, customer_id, sku, 600)
            assert over.status_code == 422 and "cannot reach head office" in over.json()["detail"]
            paid = redeem(edge, cashier, customer_id, sku, 500)
            assert paid.status_code == 201, paid.text

        # The link heals: HQ sees both redemptions, the overdraft, and opens one case.
        nats_server.start()

        def both_redemptions() -> list[dict] | None:
            got = hq.get(f"/api/v1/hq/customers/{customer_id}/loyalty/ledger", headers=admin).json()["items"]
            return got if len([e for e in got if e["kind"] == "redeem"]) == 2 else None

        entries = wait_until(both_redemptions, timeout=LONG, what="both stores' redemptions at HQ")
        redemptions = [(e["store_id"], e["points"], e["offline"]) for e in entries if e["kind"] == "redeem"]
        assert sorted(redemptions) == [("demo-001", -500, True), ("demo-002", -500, True)]
        balance = hq.get(f"/api/v1/hq/customers/{customer_id}/loyalty/ledger", headers=admin).json()["balance_points"]
        assert balance == 600 - 1_000 + sum(e["points"] for e in entries if e["kind"] == "earn")

        def cases() -> list[dict]:
            items = hq.get("/api/v1/hq/conflicts", headers=admin).json()["items"]
            return [c for c in items if c["kind"] == "loyalty_overdraft"]

        [case] = wait_until(cases, timeout=LONG, what="the overdraft case")
        assert case["detail"]["customer_id"] == customer_id
        assert case["detail"]["stores"] == ["demo-001", "demo-002"]
        assert [r["code"] for r in case["resolutions"]] == ["claw_back", "write_off"]

        resolved = hq.post(f"/api/v1/hq/conflicts/{case['id']}/resolve", json={"resolution": "write_off"},
                           headers=admin)
        assert resolved.status_code == 200, resolved.text
        final = hq.get(f"/api/v1/hq/customers/{customer_id}/loyalty/ledger", headers=admin).json()
        assert final["balance_points"] == 0 and final["items"][-1]["kind"] == "write_off"
        assert len(cases()) == 1
