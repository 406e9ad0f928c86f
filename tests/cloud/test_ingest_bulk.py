"""Ingest's multi-row writes (cloud/bulk.py): a burst ingested in one batch leaves HQ exactly what
the same events ingested one at a time leave, a redelivered batch changes nothing, and a batch
longer than one statement's page still reports which rows were new. SQLite and Postgres."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from cloud.bulk import BulkInsert
from cloud.db import set_tenant
from cloud.ingest import Ingestor, without_card_numbers
from cloud.schema import conflicts, events, sale_lines, sale_tenders, sales, stock_levels, stock_movements, transfers
from edge.contracts.envelope import EventEnvelope

TENANT = "acme"


def _movement(sku: str, location: str, delta: int, kind: str = "sale", ref: str | None = None) -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "location_id": location, "product_id": sku, "sku": sku, "kind": kind,
            "delta": delta, "ref": ref}


def _burst() -> list[EventEnvelope]:
    """Two stores' day: sales, a void of a sale in the same burst, a return with an exchange credit,
    a refused card refund paid in cash, a transfer out and in, a price variance, stock going
    negative, an unknown event type, and a card number in a note."""
    out: list[EventEnvelope] = []
    seqs: dict[str, int] = {}

    def add(store: str, type_: str, payload: dict[str, Any], minute: int) -> None:
        seqs[store] = seqs.get(store, 0) + 1
        at = f"2026-11-30T{9 + minute // 60:02d}:{minute % 60:02d}:00.000Z"
        out.append(EventEnvelope(event_id=str(uuid.uuid4()), tenant_id=TENANT, store_id=store, seq=seqs[store],
                                 type=type_, occurred_at=at, business_day="2026-11-30", payload=payload))

    for i, store in enumerate(("s1", "s2")):
        sold = []
        for n in range(12):
            order = f"{store}-o{n}"
            sold.append(order)
            add(store, "order.completed", {
                "order_id": order, "currency": "USD", "total_cents": 250 + n,
                "lines": [{"sku": "SKU-A", "name": "Apple", "quantity": 1, "total_cents": 200 + n},
                          {"sku": f"SKU-{n % 3}", "name": "Other", "quantity": 2, "total_cents": 50,
                           "price_variance_cents": -5 if n == 4 else 0}],
                "tenders": [{"method": "card" if n % 2 else "cash", "amount_cents": 250 + n}],
                "movements": [_movement("SKU-A", store, -1), _movement(f"SKU-{n % 3}", store, -2)],
            }, minute=n + 20 * i)
        add(store, "order.voided", {"order_id": sold[3], "movements": [_movement("SKU-A", store, 1, "void")]}, 40)
        add(store, "return.created", {"order_id": sold[5], "refund_cents": 205, "credit_cents": 100,
                                      "lines": [{"sku": "SKU-A", "quantity": 1, "total_cents": 205}],
                                      "refunds": [{"method": "card", "amount_cents": 105}],
                                      "movements": [_movement("SKU-A", store, 1, "return")]}, 41)
        add(store, "refund.settled_in_cash", {"order_id": sold[5],
                                              "refunds": [{"amount_cents": 105, "replaced_method": "card"}]}, 42)
        add(store, "stock.moved", {"movement": _movement("SKU-B", store, 40, "receipt")}, 43)
        add(store, "till.closed", {"note": "paid with 4111 1111 1111 1111", "movements": 3}, 44)
    ref = "T-1"
    add("s1", "stock.moved", {"movement": _movement("SKU-B", "s1", -5, "transfer_out", ref)}, 50)
    add("s2", "stock.moved", {"movement": _movement("SKU-B", "s2", 5, "transfer_in", ref)}, 51)
    return [without_card_numbers(env) for env in out]  # as the consumer hands them to ingest


async def _hq_state(db: Any) -> dict[str, list[tuple[Any, ...]]]:
    """Every projected row, without the columns that say *when* ingest ran."""
    wanted = {
        "events": (events, ["event_id", "store_id", "seq", "type", "occurred_at", "business_day", "envelope"]),
        "sales": (sales, [c.key for c in sales.c]),
        "sale_lines": (sale_lines, [c.key for c in sale_lines.c]),
        "sale_tenders": (sale_tenders, [c.key for c in sale_tenders.c]),
        "stock_movements": (stock_movements, [c.key for c in stock_movements.c]),
        "stock_levels": (stock_levels, ["location_id", "sku", "store_id", "on_hand", "threshold"]),
        "transfers": (transfers, [c.key for c in transfers.c]),
        "conflicts": (conflicts, ["store_id", "kind", "dedup_key", "status", "summary"]),
    }
    state = {}
    async with db.tenant(TENANT, write=False) as conn:
        for name, (table, columns) in wanted.items():
            rows = await conn.execute(select(*(table.c[c] for c in columns)))
            state[name] = sorted((tuple(r) for r in rows), key=repr)
    return state


async def test_a_burst_in_one_batch_leaves_what_one_event_at_a_time_leaves(cloud_db, tmp_path):
    from cloud.db import CloudDB
    from cloud.schema import create_schema

    burst = _burst()
    batched = Ingestor(cloud_db)
    result = await batched.ingest(burst)
    assert (result.new, result.duplicates) == (len(burst), 0)

    one_by_one_db = CloudDB(f"sqlite:///{tmp_path / 'one-by-one.db'}")
    await create_schema(one_by_one_db)
    try:
        single = Ingestor(one_by_one_db)
        for env in burst:
            await single.ingest([env])
        expected = await _hq_state(one_by_one_db)
    finally:
        await one_by_one_db.close()

    got = await _hq_state(cloud_db)
    assert got == expected
    # What a manager would read off HQ: the void and the return net out, stock went negative once.
    assert sum(r[sales.c.keys().index("gross_cents")] for r in got["sales"]) == 2 * (sum(250 + n for n in range(12))
                                                                                     - 253 - 205)
    assert {r[2] for r in got["conflicts"]} >= {"negative_stock:s1:SKU-A", "price_variance:s1-o4"}
    assert any("**** **** **** 1111" in r[-1] for r in got["events"])  # masked before it was stored
    assert not any("4111 1111 1111 1111" in r[-1] for r in got["events"])


async def test_a_redelivered_burst_changes_nothing(cloud_db):
    burst = _burst()
    ingestor = Ingestor(cloud_db)
    await ingestor.ingest(burst[: len(burst) // 2])
    await ingestor.ingest(burst)  # half of it again, as after a crash between commit and ack
    before = await _hq_state(cloud_db)
    again = await ingestor.ingest(list(reversed(burst)) + burst[:5])
    assert (again.new, again.duplicates) == (0, len(burst) + 5)
    assert await _hq_state(cloud_db) == before
    assert len(before["events"]) == len(burst)


async def test_rows_past_one_page_are_all_written_and_only_new_ones_returned(cloud_db):
    writer = BulkInsert(stock_movements, ("tenant_id", "movement_id", "store_id", "location_id", "product_id",
                                          "sku", "kind", "delta", "ref", "at", "event_id"),
                        conflict=("tenant_id", "movement_id"), returning="movement_id")
    writer.page = 7  # several statements for one call

    def rows(ids: range) -> list[dict[str, Any]]:
        return [{"tenant_id": TENANT, "movement_id": f"m{i:03d}", "store_id": "s1", "location_id": "s1",
                 "product_id": None, "sku": "SKU-A", "kind": "sale", "delta": -i, "ref": None, "at": None,
                 "event_id": f"e{i}"} for i in ids]

    def write(conn: Any, batch: list[dict[str, Any]]) -> list[str]:
        set_tenant(conn, TENANT)
        return writer.run(conn, batch)

    first = await cloud_db.write(write, rows(range(0, 30)), tenant_id=TENANT)
    second = await cloud_db.write(write, rows(range(20, 45)), tenant_id=TENANT)
    assert sorted(first) == [f"m{i:03d}" for i in range(30)]
    assert sorted(second) == [f"m{i:03d}" for i in range(30, 45)]
    async with cloud_db.tenant(TENANT, write=False) as conn:
        stored = {r.movement_id: r.delta for r in await conn.execute(select(stock_movements))}
    assert stored == {f"m{i:03d}": -i for i in range(45)}
