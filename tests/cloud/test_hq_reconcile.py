"""HQ figures reconcile: the tender mix, top products, by-day, by-hour and store comparison all
add up to the sales summary's gross, net of voids, returns, partial refunds, exchanges and a
refused card refund paid in cash.

The events are the real ones: a demo edge store makes the sales, and its outbox is ingested into
the cloud database (SQLite file and Postgres)."""

from __future__ import annotations

import sqlite3
import uuid

from cloud import queries
from cloud.ingest import Ingestor
from edge.contracts.envelope import decode_envelope
from tests.support import login


def _post(client, path, body, headers):
    r = client.post(path, json=body, headers={**headers, "Idempotency-Key": uuid.uuid4().hex})
    assert r.status_code in (200, 201), r.text
    return r.json()


def _sell(client, headers, lines, method="cash", **extra):
    total = _post(client, "/api/v1/orders/quote", {"lines": lines, **extra}, headers)["total_cents"]
    amount = total + 1_000 if method == "cash" else total  # cash: change is given, only the total is kept
    return _post(client, "/api/v1/orders", {"lane_id": "1", "lines": lines,
                                            "tenders": [{"method": method, "amount_cents": amount}], **extra},
                 headers)


def _store_day(client, demo_dir):
    """A day of trading at the demo store; returns (its outbox envelopes, the net it took)."""
    cashier, manager = login(client, "cashier"), login(client, "manager")
    items = [p for p in client.get("/api/v1/products?limit=200", headers=manager).json()["items"]
             if not p["sold_by_weight"]]
    skus = [p["sku"] for p in items[60:67]]

    kept = _sell(client, cashier, [{"sku": skus[0], "quantity": 2}])
    voided = _sell(client, cashier, [{"sku": skus[1]}], method="card")
    discounted = _sell(client, cashier, [{"sku": skus[2], "quantity": 3}], discount_cents=50)
    returned = _sell(client, cashier, [{"sku": skus[3], "quantity": 2}], method="card")
    exchanged = _sell(client, cashier, [{"sku": skus[4]}])
    refused = _sell(client, cashier, [{"sku": skus[6]}], method="card")
    for order in (kept, voided, discounted, returned, exchanged, refused):
        assert order["status"] == "COMPLETED"

    _post(client, f"/api/v1/orders/{voided['id']}/void", {"reason": "rang up by mistake"}, manager)
    partial = _post(client, f"/api/v1/orders/{discounted['id']}/returns",
                    {"lines": [{"line_id": discounted["lines"][0]["id"], "quantity": 1}], "reason": "damaged"},
                    cashier)
    card_refund = _post(client, f"/api/v1/orders/{returned['id']}/returns",
                        {"lines": [{"line_id": returned["lines"][0]["id"], "quantity": 2}], "reason": "unwanted"},
                        cashier)
    swap = _post(client, f"/api/v1/orders/{exchanged['id']}/returns",
                 {"lines": [{"line_id": exchanged["lines"][0]["id"], "quantity": 1}], "reason": "wrong size",
                  "exchange": {"lines": [{"sku": skus[5]}], "tenders": [{"method": "cash", "amount_cents": 10**6}]}},
                 cashier)
    # The processor refuses a card refund; a manager pays it from the drawer instead.
    terminal = client.app.state.services.extras["sales"].terminal
    terminal.reversal = "declined"
    unrefunded = _post(client, f"/api/v1/orders/{refused['id']}/returns",
                       {"lines": [{"line_id": refused["lines"][0]["id"], "quantity": 1}], "reason": "faulty"}, cashier)
    terminal.reversal = "approved"
    settled = _post(client, f"/api/v1/orders/{refused['id']}/refunds/settle",
                    {"settle": "cash", "reason": "card account closed"}, manager)
    assert settled["refund_state"] == "refunded"
    # An abandoned basket voided before it was paid: it never counted, so it takes nothing away.
    open_order = _post(client, "/api/v1/orders", {"lane_id": "1", "lines": [{"sku": skus[0]}]}, cashier)
    _post(client, f"/api/v1/orders/{open_order['id']}/void", {"reason": "customer left"}, manager)

    net = (kept["total_cents"] + discounted["total_cents"] + returned["total_cents"] + exchanged["total_cents"]
           - partial["refund_cents"] - card_refund["refund_cents"] - swap["refund_cents"]
           + swap["exchange_order"]["total_cents"] + refused["total_cents"] - unrefunded["refund_cents"])
    db_file = next(demo_dir.rglob("*.db"))
    with sqlite3.connect(db_file) as db:
        envelopes = [decode_envelope(row[0].encode()) for row in
                     db.execute("select envelope from outbox where envelope != '' order by seq")]
    return envelopes, net, {"card": returned["total_cents"] - card_refund["refund_cents"] + refused["total_cents"]}


async def test_every_hq_figure_adds_up_to_the_sales_summary(client, demo_dir, cloud_db):
    envelopes, net, expected = _store_day(client, demo_dir)
    tenant, store = envelopes[0].tenant_id, envelopes[0].store_id
    await Ingestor(cloud_db).ingest(envelopes)

    async with cloud_db.tenant(tenant, write=False) as conn:
        [summary] = await queries.sales_summary(conn, tenant, None, None)
        tenders = await queries.tender_mix(conn, tenant, None, None)
        products = await queries.top_products(conn, tenant, None, None, limit=1_000)
        by_day = await queries.sales_by(conn, tenant, "day", None, None)
        by_hour = await queries.sales_by(conn, tenant, "hour", None, None)
        [compared] = await queries.store_comparison(conn, tenant, None, None)

    gross = summary["gross_cents"]
    assert summary["store_id"] == store
    assert gross == net  # what the store kept: sales, less the void, the refunds, plus the exchange
    assert summary["orders"] == 6  # six sales and one exchange sale, less the void
    assert sum(t["amount_cents"] for t in tenders) == gross
    methods = {t["method"]: t for t in tenders}
    assert methods["card"]["count"] == 2  # three card sales, one voided
    assert methods["card"]["amount_cents"] == expected["card"]  # the refused refund was paid in cash
    assert methods.get("exchange_credit", {"amount_cents": 0})["amount_cents"] == 0  # credit nets out
    assert sum(p["gross_cents"] for p in products) == gross  # no restocking fees in this policy
    assert sum(d["gross_cents"] for d in by_day) == gross and sum(d["orders"] for d in by_day) == 6
    assert sum(h["gross_cents"] for h in by_hour) == gross
    assert compared["gross_cents"] == gross and compared["share_bp"] == 10_000
