"""A customer's tier counts what they earned at every store: HQ's rpc replies carry the points
earned over the tier window, the store caches that figure with the balance and adds only its own
entries HQ has not seen yet."""

from __future__ import annotations

import uuid

from edge.contracts import pii
from edge.contracts.customers import CustomerRecord
from edge.domain.ids import now_iso, uuid7
from edge.service import customers as cases
from edge.service import loyalty
from edge.service.ports import Actor
from tests.edge.sales.conftest import post
from tests.edge.test_policy import hq_policy

PROGRAM = {"enabled": True, "points_per_unit": 1, "point_value_cents": 1, "min_redeem_points": 100,
           "tier_window_days": 365,
           "tiers": [{"name": "Member", "threshold_points": 0}, {"name": "Silver", "threshold_points": 500},
                     {"name": "Gold", "threshold_points": 5000}]}


def _actor(client) -> Actor:
    cfg = client.app.state.services.settings.store
    return Actor.system(cfg.tenant_id, cfg.store_id, "test")


def a_customer_of_another_store(client, email: str, *, earned: int, balance: int) -> str:
    """What a `customers.lookup` reply from HQ puts in this store's cache (`cache_records`): a
    customer who joined and earned at another store."""
    s = client.app.state.services
    vault, tenant = s.extras["customers"].vault, s.settings.store.tenant_id
    customer_id, data_key = uuid7(), pii.new_key()
    profile = pii.CustomerProfile(name="Tess Traveller", email=email, phone=None, card_code=pii.new_card_code())
    record = CustomerRecord(customer_id=customer_id, data_key=pii.encode_key(data_key),
                            profile=pii.seal_profile(data_key, tenant, customer_id, profile),
                            home_store_id="store-a", created_at="2026-01-02T03:04:05.000Z",
                            updated_at="2026-01-02T03:04:05.000Z", balance_points=balance, as_of=now_iso(),
                            earned_in_window=earned)
    s.uow.run_sync(_actor(client), lambda u: cases.cache_records(u, vault, [record]))
    return customer_id


def test_a_customer_who_earned_at_another_store_shows_that_tier_here(client, cashier, manager, products):
    assert hq_policy(client, 1, loyalty=PROGRAM) == "applied"
    email = f"{uuid.uuid4().hex[:12]}@example.org"
    # 600 points earned at store A (HQ's figure); this store never sold to them.
    cid = a_customer_of_another_store(client, email, earned=600, balance=600)

    [listed] = client.get("/api/v1/customers", params={"q": email}, headers=cashier).json()["items"]
    assert listed["customer_id"] == cid and listed["tier"] == "Silver" and listed["balance_points"] == 600
    block = client.get(f"/api/v1/customers/{cid}", headers=cashier).json()["loyalty"]
    assert (block["tier"], block["next_tier"], block["points_to_next_tier"]) == ("Silver", "Gold", 4_400)

    # A sale here adds its points to HQ's figure: progress counts both stores.
    sku = next(p["sku"] for p in products if not p["sold_by_weight"])
    sold = post(client, "/api/v1/orders", {"lane_id": "1", "customer_id": cid, "lines": [{"sku": sku, "quantity": 3}],
                                           "tenders": [{"method": "cash", "amount_cents": 10_000_000}]}, cashier)
    assert sold.status_code == 201, sold.text
    ledger = client.get(f"/api/v1/customers/{cid}/loyalty/ledger", headers=cashier).json()["items"]
    here = sum(i["points"] for i in ledger if i["kind"] == "earn")
    assert here > 0
    block = client.get(f"/api/v1/customers/{cid}", headers=cashier).json()["loyalty"]
    assert block["earned_in_window"] == 600 + here and block["points_to_next_tier"] == 4_400 - here

    # HQ ingests that sale and answers again (its figure now holds it): counted once, not twice.
    s = client.app.state.services
    s.db.write_sync(lambda c: c.exec_driver_sql(
        "UPDATE outbox SET sent_at = '2026-01-01T00:00:00Z' WHERE type = 'loyalty.entry'"))
    s.uow.run_sync(_actor(client), lambda u: loyalty.record_hq_balance(u, cid, 600 + here, now_iso(), 600 + here))
    block = client.get(f"/api/v1/customers/{cid}", headers=cashier).json()["loyalty"]
    assert block["earned_in_window"] == 600 + here and block["balance_points"] == 600 + here

    # HQ's later answer: store A's earnings pushed them past Gold.
    s.uow.run_sync(_actor(client), lambda u: loyalty.record_hq_balance(u, cid, 5_200, now_iso(), 5_200))
    [listed] = client.get("/api/v1/customers", params={"q": email}, headers=cashier).json()["items"]
    assert listed["tier"] == "Gold"


def test_this_stores_own_window_is_the_floor_when_hq_sent_no_figure(client, cashier, manager, products):
    assert hq_policy(client, 1, loyalty=PROGRAM) == "applied"
    email = f"{uuid.uuid4().hex[:12]}@example.org"
    cid = a_customer_of_another_store(client, email, earned=0, balance=0)
    sku = next(p["sku"] for p in products if not p["sold_by_weight"])
    sold = post(client, "/api/v1/orders", {"lane_id": "1", "customer_id": cid, "lines": [{"sku": sku, "quantity": 2}],
                                           "tenders": [{"method": "cash", "amount_cents": 10_000_000}]}, cashier)
    assert sold.status_code == 201, sold.text
    earned = sum(i["points"] for i in client.get(f"/api/v1/customers/{cid}/loyalty/ledger",
                                                 headers=cashier).json()["items"] if i["kind"] == "earn")
    # An answer from an HQ that does not send the figure (0), after this store's sale reached it.
    s = client.app.state.services
    s.db.write_sync(lambda c: c.exec_driver_sql(
        "UPDATE outbox SET sent_at = '2026-01-01T00:00:00Z' WHERE type = 'loyalty.entry'"))
    s.uow.run_sync(_actor(client), lambda u: loyalty.record_hq_balance(u, cid, earned, now_iso(), 0))
    block = client.get(f"/api/v1/customers/{cid}", headers=cashier).json()["loyalty"]
    assert block["earned_in_window"] == earned > 0
