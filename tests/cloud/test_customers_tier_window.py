"""HQ tells a store how many points a customer earned over the tier window at every store (the
`earned_in_window` of `customers.lookup` and `customers.view`), so the store shows the tier the
customer reached elsewhere; HQ's own 360 uses the same figure."""

from __future__ import annotations

import pytest

from cloud import customers, policies
from cloud.clock import now_iso
from cloud.customer_keys import CustomerKeys
from cloud.customer_rpc import CustomerRpc
from cloud.ingest import Ingestor
from edge.contracts import pii
from edge.contracts.customers import ViewRequest
from tests.cloud.customer_support import FakeStore, event

T = "acme"
NOW = "2026-03-02T11:00:00.000Z"
PROGRAM = {"enabled": True, "tier_window_days": 30,
           "tiers": [{"name": "Member", "threshold_points": 0}, {"name": "Silver", "threshold_points": 500},
                     {"name": "Gold", "threshold_points": 2000}]}


@pytest.fixture
def keys(tmp_path) -> CustomerKeys:
    pii.write_new_kek(tmp_path / "hq.kek")
    return CustomerKeys.from_file(tmp_path / "hq.kek")


def points(store: FakeStore, entry_id: str, customer_id: str, kind: str, pts: int, at: str):
    return event(T, store.store, "loyalty.entry", {"entry_id": entry_id, "customer_id": customer_id,
                                                    "store_id": store.store, "kind": kind, "points": pts,
                                                    "order_id": entry_id.split(":")[0], "at": at}, at=at)


async def test_replies_carry_every_stores_earnings_over_the_window(cloud_db, keys):
    rpc = CustomerRpc(cloud_db, keys)
    north, south = FakeStore(rpc, T, "north"), FakeStore(rpc, T, "south")
    await cloud_db.write(lambda c: policies.change(c, T, {"loyalty": PROGRAM}, replace=False, actor="hq", now=NOW),
                         tenant_id=T)
    cid, _, _, up = await north.create("Ada Lovelace", "ada@example.org", "+1 415 555 2671")
    other, _, _, up2 = await north.create("Bob Other", "bob@example.org", "+1 415 555 2672")
    await Ingestor(cloud_db).ingest([
        up, up2,
        points(north, "n1:earn", cid, "earn", 700, "2026-03-01T10:00:00Z"),
        points(north, "n1:clawback", cid, "clawback", -100, "2026-03-01T12:00:00Z"),  # a return took some back
        points(north, "n2:redeem", cid, "redeem", -300, "2026-03-01T13:00:00Z"),  # spending keeps the tier
        points(north, "n0:earn", cid, "earn", 5000, "2025-12-01T10:00:00Z"),  # outside the 30-day window
        points(north, "n9:earn", other, "earn", 2500, "2026-03-01T10:00:00Z"),  # someone else's
    ])

    def hq_says(conn):
        [record] = customers.records(conn, keys, T, [cid], NOW)
        view = customers.view_reply(conn, T, "south", cid, NOW)
        summary = customers.loyalty_summary(conn, T, cid, record.balance_points, NOW)
        return record, view, summary

    record, view, summary = await cloud_db.write(hq_says, tenant_id=T)
    assert (record.earned_in_window, record.balance_points) == (600, 5_300)
    assert (view.earned_in_window, view.balance_points) == (600, 5_300)
    assert (summary["tier"], summary["next_tier"], summary["points_to_next_tier"]) == ("Silver", "Gold", 1_400)
    # Over the channel (answered at the real time, long after March): only an entry made today counts.
    await Ingestor(cloud_db).ingest([points(south, "s1:earn", cid, "earn", 40, now_iso())])
    [found] = (await south.lookup("email", "ada@example.org")).customers
    assert (found.customer_id, found.earned_in_window) == (cid, 40)
    assert (await south.call("customers.view", ViewRequest(customer_id=cid))).earned_in_window == 40
