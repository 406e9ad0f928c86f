"""The accounting journal: a store's day as balanced entries that reconcile to the cent with HQ's
sales and tender figures; re-exporting repeats the past, and a late offline sale becomes a
correction batch instead of changing it."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import uuid

import pytest
from litestar.testing import AsyncTestClient

from cloud import journal, queries
from cloud.app import create_app
from cloud.clock import now_iso
from cloud.ingest import Ingestor
from cloud.settings import CloudSettings
from edge.contracts.envelope import EventEnvelope
from tests.support import BIN, login

DAY, NEXT_DAY = "2026-03-02", "2026-03-03"


def _post(client, path, body, headers):
    r = client.post(path, json=body, headers={**headers, "Idempotency-Key": uuid.uuid4().hex})
    assert r.status_code in (200, 201), r.text
    return r.json()


def _trading_day(client, demo_dir):
    """A real day at the demo store: a till opened, sales in three tax rates, a void, a return with
    a card refund, and the till closed 150 cents short. Returns its outbox envelopes."""
    import sqlite3

    from edge.contracts.envelope import decode_envelope

    cashier, manager = login(client, "cashier"), login(client, "manager")
    items = [p for p in client.get("/api/v1/products?limit=200", headers=manager).json()["items"]
             if not p["sold_by_weight"]]
    by_tax = {p["tax_category"]: p["sku"] for p in items}
    till = _post(client, "/api/v1/tills", {"lane_id": "1", "float_cents": 10_000}, manager)

    def sell(lines, method="cash"):
        total = _post(client, "/api/v1/orders/quote", {"lines": lines}, cashier)["total_cents"]
        amount = total + 500 if method == "cash" else total
        return _post(client, "/api/v1/orders", {"lane_id": "1", "lines": lines,
                                                "tenders": [{"method": method, "amount_cents": amount}]}, cashier)

    mixed = sell([{"sku": by_tax["standard"], "quantity": 3}, {"sku": by_tax["food"], "quantity": 2},
                  {"sku": by_tax["exempt"]}])
    voided = sell([{"sku": by_tax["standard"]}], method="card")
    returned = sell([{"sku": by_tax["food"], "quantity": 4}], method="card")
    _post(client, f"/api/v1/orders/{voided['id']}/void", {"reason": "rang up twice"}, manager)
    _post(client, f"/api/v1/orders/{returned['id']}/returns",
          {"lines": [{"line_id": returned["lines"][0]["id"], "quantity": 1}], "reason": "damaged"}, cashier)
    expected = client.get(f"/api/v1/tills/{till['session_id']}/x-report", headers=manager).json()["expected_cents"]
    _post(client, f"/api/v1/tills/{till['session_id']}/close", {"counted_cents": expected - 150}, manager)
    assert mixed["status"] == "COMPLETED"
    with sqlite3.connect(next(demo_dir.rglob("store.db"))) as db:
        return [decode_envelope(row[0].encode()) for row in
                db.execute("select envelope from outbox where envelope != '' order by seq")]


async def test_a_real_day_journals_to_the_cent_what_hq_reports(client, demo_dir, cloud_db):
    envelopes = _trading_day(client, demo_dir)
    tenant, store, day = envelopes[0].tenant_id, envelopes[0].store_id, envelopes[-1].business_day
    await Ingestor(cloud_db).ingest(envelopes)

    result = await cloud_db.write(journal.export, tenant, store, day, actor="test", now=now_iso(), tenant_id=tenant)
    [batch] = result["batches"]
    async with cloud_db.tenant(tenant, write=False) as conn:
        [summary] = await queries.sales_summary(conn, tenant, day, day, store)
        tender_mix = await queries.tender_mix(conn, tenant, day, day)

    assert batch["kind"] == "original" and batch["batch_id"] == f"J-{store}-{day}-01"
    assert batch["totals"]["takings_cents"] == summary["gross_cents"]
    assert {t["method"]: t["amount_cents"] for t in batch["tenders"]} == \
        {t["method"]: t["amount_cents"] for t in tender_mix if t["amount_cents"]}
    assert batch["rounding_cents"] == 0
    assert {r["tax_rate_bp"] for r in batch["sales"]} == {825, 200, 0}
    sold = [ln for e in envelopes if e.type == "order.completed" for ln in e.payload["lines"]]
    assert sum(r["tax_cents"] for r in batch["sales"]) == sum(ln["tax_cents"] for ln in sold)
    assert batch["voids"]["count"] == 1 and batch["refunds"]["count"] == 1
    assert batch["cash_over_short"]["total_cents"] == -150
    debits = sum(e["debit_cents"] for e in batch["entries"])
    assert debits == sum(e["credit_cents"] for e in batch["entries"]) and debits > 0
    assert {"account": "cash_over_short", "debit_cents": 150, "credit_cents": 0,
            "memo": "till count differences"} in batch["entries"]


def sale(store: str, day: str, seq: int, order_id: str, lines: list[tuple[int, int, int]], method: str = "cash",
         tenant: str = "demo") -> EventEnvelope:
    """An `order.completed` with lines of (total_cents, tax_cents, tax_rate_bp)."""
    total = sum(t for t, _, _ in lines)
    return EventEnvelope(
        event_id=str(uuid.uuid4()), tenant_id=tenant, store_id=store, seq=seq, type="order.completed",
        occurred_at=f"{day}T15:00:00.000Z", business_day=day,
        payload={"order_id": order_id, "currency": "USD", "total_cents": total, "tax_cents": sum(x for _, x, _ in lines),
                 "lines": [{"line_id": f"{order_id}-{i}", "sku": f"SKU-{i}", "quantity": 1, "total_cents": t,
                            "tax_cents": x, "tax_rate_bp": r, "tax_category": str(r)}
                           for i, (t, x, r) in enumerate(lines)],
                 "tenders": [{"method": method, "amount_cents": total}], "movements": []})


async def test_re_exporting_repeats_the_past_and_a_late_offline_sale_becomes_a_correction(cloud_db):
    ingest = Ingestor(cloud_db).ingest
    await ingest([sale("s1", DAY, 1, "o-1", [(1083, 83, 825)]), sale("s1", DAY, 2, "o-2", [(510, 10, 200)], "card")])

    async def export(day: str) -> dict:
        return await cloud_db.write(journal.export, "demo", "s1", day, actor="test", now=f"{day}T23:00:00Z",
                                    tenant_id="demo")

    first = await export(DAY)
    again = await export(DAY)
    assert first["new_batch_ids"] == ["J-s1-2026-03-02-01"] and again["new_batch_ids"] == []
    assert again["batches"] == first["batches"]
    [original] = first["batches"]

    # A lane offline since yesterday replays a sale of that day after it was exported.
    await ingest([sale("s1", DAY, 3, "o-3", [(2000, 0, 0)])])
    following = await export(NEXT_DAY)
    # The next export carries the late sale as a correction of its own day...
    correction = next(b for b in following["batches"] if b["kind"] == "correction")
    assert correction["batch_id"] == "J-s1-2026-03-02-02" and correction["corrects"] == original["batch_id"]
    assert correction["business_day"] == DAY and correction["events"] == 1
    assert correction["tenders"] == [{"method": "cash", "amount_cents": 2000}]
    assert following["new_batch_ids"] == ["J-s1-2026-03-02-02", "J-s1-2026-03-03-01"]
    day_batches = (await export(DAY))["batches"]
    assert [b["batch_id"] for b in day_batches] == ["J-s1-2026-03-02-01", "J-s1-2026-03-02-02"]
    assert day_batches[0] == original  # ...and the past does not change

    async with cloud_db.tenant("demo", write=False) as conn:
        [summary] = await queries.sales_summary(conn, "demo", DAY, DAY, "s1")
    assert sum(b["totals"]["takings_cents"] for b in day_batches) == summary["gross_cents"] == 3593


@pytest.fixture
async def hq(tmp_path):
    url = f"sqlite:///{tmp_path / 'hq.db'}"
    app = create_app(CloudSettings(db_url=url, demo=True))
    async with AsyncTestClient(app=app) as client:
        token = (await client.post("/api/v1/auth/login", json={"username": "hq", "password": "novapos-demo"})
                 ).json()["access_token"]
        client.headers["Authorization"] = f"Bearer {token}"
        client.ingest = Ingestor(app.state.db).ingest
        client.db_url = url
        yield client


async def test_the_hq_api_exports_csv_rows_that_balance_and_refuses_a_bad_day(hq):
    await hq.ingest([sale("s1", DAY, 1, "o-1", [(1083, 83, 825), (510, 10, 200)])])
    response = await hq.get(f"/api/v1/hq/journal?store=s1&business_day={DAY}&format=csv")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert {r["account"] for r in rows} == {"tender:cash", "sales:200bp", "tax:200bp", "sales:825bp", "tax:825bp"}
    assert sum(int(r["debit_cents"]) for r in rows) == sum(int(r["credit_cents"]) for r in rows) == 1593
    assert {r["batch_id"] for r in rows} == {f"J-s1-{DAY}-01"}
    as_json = (await hq.get(f"/api/v1/hq/journal?store=s1&business_day={DAY}")).json()
    assert as_json["new_batch_ids"] == [] and as_json["batches"][0]["format"] == "novapos.journal/1"

    for bad in ("2026-02-30", "yesterday"):
        refused = await hq.get(f"/api/v1/hq/journal?store=s1&business_day={bad}")
        assert refused.status_code in (400, 422)
        assert refused.headers["content-type"].startswith("application/problem+json")
    assert (await hq.get("/api/v1/hq/journal?store=s1&business_day=2026-02-28")).json()["batches"][0]["events"] == 0
    future = await hq.get("/api/v1/hq/journal?store=s1&business_day=2999-01-01")
    assert future.status_code == 422 and "has not happened yet" in future.json()["detail"]


def test_the_cli_exports_the_same_journal_and_explains_a_bad_day(tmp_path):
    import asyncio

    from cloud.db import CloudDB
    from cloud.schema import create_schema

    url = f"sqlite:///{tmp_path / 'hq.db'}"

    async def seed() -> None:
        db = CloudDB(url)
        await create_schema(db)
        await Ingestor(db).ingest([sale("s1", DAY, 1, "o-1", [(1083, 83, 825)])])
        await db.close()

    asyncio.run(seed())
    cli = [str(BIN / "novapos-cloud"), "export-journal", "--tenant", "demo", "--store", "s1", "--db-url", url]
    done = subprocess.run([*cli, "--business-day", DAY, "--format", "json"], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    exported = json.loads(done.stdout)
    assert exported["batches"][0]["tenders"] == [{"method": "cash", "amount_cents": 1083}]
    assert "new: J-s1-2026-03-02-01" in done.stderr
    repeated = subprocess.run([*cli, "--business-day", DAY, "--format", "json"], capture_output=True, text=True,
                              timeout=60)
    assert json.loads(repeated.stdout)["batches"] == exported["batches"] and "new: none" in repeated.stderr
    bad = subprocess.run([*cli, "--business-day", "2026-13-01"], capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "business_day must be a date" in bad.stderr and "Traceback" not in bad.stderr
