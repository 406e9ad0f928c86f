"""A catalog import's chunks write set-based, and what they write is exactly what the row-by-row
path writes: the products, their barcodes, one audit row and one `product.changed` event each,
numbered the same. Conflicts that appeared after validation are still refused row by row, and a
kill -9 in the middle of a large import ends with every row applied exactly once."""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from edge.domain.catalog import ean13
from edge.service import catalog_import_jobs as jobs
from edge.service.catalog import create_product, import_catalog_csv, update_product, validate_catalog_csv
from edge.service.commands import Changes, Product
from edge.service.ports import Actor
from tests.support import EdgeServer, demo_settings, free_port, login, wait_until

HEADER = "sku,name,price_cents,tax_category,barcodes,active,attributes\n"


class Store:
    """A copy of the demo store, used through its services without a web app."""

    def __init__(self, directory: Path):
        from edge.bootstrap import build_services, effective_settings

        self.settings = effective_settings(demo_settings(directory))
        self.services = build_services(self.settings)
        self.actor = Actor(tenant_id=self.settings.store.tenant_id, store_id=self.settings.store.store_id,
                           user_id=None, username="manager")
        self.db = self.settings.db_path

    def run(self, handler: Callable[[Any], Any]) -> Any:
        return self.services.uow.run_sync(self.actor, handler)

    def close(self) -> None:
        self.services.db._writer_engine.dispose()
        self.services.db._reader_engine.dispose()

    def import_as_job(self, text: str, pace: jobs.ChunkPace) -> tuple[jobs.ImportJobView, int]:
        """Validate, create the job and apply its chunks; returns the last view and the chunk count."""
        rows = self.run(lambda u: validate_catalog_csv(u, text))
        job_id = jobs.new_job_id()
        self.run(lambda u: jobs.create_job(u, job_id, f"{job_id}.csv", len(rows)))
        chunks = 0
        while True:
            chunks += 1
            view = self.run(lambda u: jobs.apply_chunk(u, job_id, rows, pace))
            if view.status != "running":
                return view, chunks

    def query(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        conn = sqlite3.connect(self.db)
        try:
            return conn.execute(sql, args).fetchall()
        finally:
            conn.close()


class FixedPace(jobs.ChunkPace):
    """Chunks of a fixed size, whatever they cost: chunk boundaries a test chooses."""

    def taken(self, rows: int, seconds: float) -> None:
        pass


@pytest.fixture
def stores(demo_template: Path, tmp_path: Path) -> Iterator[Callable[[str], Store]]:
    made: list[Store] = []

    def make(name: str) -> Store:
        target = tmp_path / name
        shutil.copytree(demo_template, target)
        made.append(Store(target))
        return made[-1]

    yield make
    for store in made:
        store.close()


def code(n: int) -> str:
    return ean13(f"6{n:011d}")


def snapshot(store: Store) -> dict[str, Any]:
    """What an import leaves behind, without what differs between two runs of the same import
    (new products' ids, timestamps, event ids): products with barcodes, product audit rows in
    order, and product.changed events in seq order."""
    sku_of = dict(store.query("SELECT id, sku FROM products"))
    products = {
        sku: (name, price, tax, bool(active), json.loads(attributes), bool(by_weight), threshold, version,
              sorted(c for (c,) in store.query("SELECT barcode FROM product_barcodes WHERE product_id = ?", pid)))
        for pid, sku, name, price, tax, active, attributes, by_weight, threshold, version in store.query(
            "SELECT id, sku, name, price_cents, tax_category, active, attributes, sold_by_weight, "
            "low_stock_threshold, version FROM products")}

    def without_id(snap: str | None) -> Any:
        return None if snap is None else {k: v for k, v in json.loads(snap).items() if k != "id"}

    audit = [(action, sku_of[entity_id], without_id(before), without_id(after), actor)
             for action, entity_id, before, after, actor in store.query(
                 "SELECT action, entity_id, before, after, actor FROM audit_log WHERE entity = 'product' "
                 "ORDER BY id")]
    events = []
    for seq, kind, envelope in store.query("SELECT seq, type, envelope FROM outbox ORDER BY seq"):
        decoded = json.loads(envelope)
        assert decoded["seq"] == seq  # the envelope carries the row's own seq
        if kind == "product.changed":
            payload = decoded["payload"]
            assert sku_of[payload.pop("product_id")] == payload["sku"]
            events.append(payload)
    seqs = [s for (s,) in store.query("SELECT seq FROM outbox ORDER BY seq")]
    return {"products": products, "audit": audit, "events": events, "seqs_gapless": seqs == list(
        range(seqs[0], seqs[0] + len(seqs))) if seqs else True}


def mixed_file(store: Store) -> str:
    """New products and changes to existing ones: renamed, repriced, barcodes added and dropped,
    attributes given and not, a formula-looking name."""
    existing = store.query("SELECT sku, name FROM products ORDER BY sku LIMIT 6")
    lines = [HEADER]
    for n in range(25):
        attributes = '"{""origin"": ""farm"", ""n"": ' + str(n) + '}"' if n % 3 == 0 else ""
        codes = "|".join(code(n * 10 + k) for k in range(n % 3))
        lines.append(f"NEW-{n:04d},  New product {n}  ,{100 + n},{'food' if n % 2 else 'standard'},{codes},"
                     f"{'true' if n % 4 else 'no'},{attributes}\n")
        if n % 5 == 2 and existing:
            sku, name = existing.pop()
            extra = code(9000 + n) if n % 2 else ""
            given = "" if n % 2 else '"{""hq_version"": 3}"'
            lines.append(f"{sku},=Renamed {name},{777 + n},exempt,{extra},false,{given}\n")
    return "".join(lines)


def test_a_bulk_import_writes_exactly_what_the_row_by_row_import_wrote(stores):
    by_rows, in_bulk = stores("by-rows"), stores("in-bulk")
    text = mixed_file(by_rows)
    assert mixed_file(in_bulk) == text
    before = snapshot(in_bulk)
    report = by_rows.run(lambda u: import_catalog_csv(u, text))  # the row-by-row path, one unit of work
    view, chunks = in_bulk.import_as_job(text, FixedPace(7))  # set-based chunks of 7 rows
    assert chunks > 3
    assert (view.status, view.created, view.updated, view.errors) == ("done", report.created, report.updated, 0)
    assert (report.created, report.updated) == (25, 5)
    assert [w["row"] for w in view.warnings if w["code"] == "csv-formula"] == [w.row for w in report.warnings]

    bulk, rows = snapshot(in_bulk), snapshot(by_rows)
    assert bulk["products"] == rows["products"]
    assert bulk["audit"] == rows["audit"]
    assert bulk["events"] == rows["events"]
    assert bulk["seqs_gapless"] and rows["seqs_gapless"]
    # And it did change things: 25 new products, 5 changed, each with its audit row and event.
    assert len(bulk["products"]) == len(before["products"]) + 25
    assert len(bulk["audit"]) - len(before["audit"]) == 30
    assert len(bulk["events"]) - len(before["events"]) == 30
    renamed = [p for p in bulk["products"].values() if p[0].startswith("=Renamed")]
    assert len(renamed) == 5 and all(p[2] == "exempt" and p[3] is False for p in renamed)
    assert bulk["products"]["NEW-0003"][4] == {"origin": "farm", "n": 3}
    assert bulk["products"]["NEW-0005"][8] == sorted([code(50), code(51)])


def test_conflicts_that_appeared_after_validation_are_refused_row_by_row_in_the_middle_of_a_chunk(stores):
    store = stores("conflicts")
    existing_sku, existing_name = store.query("SELECT sku, name FROM products ORDER BY sku LIMIT 1")[0]
    lines = [HEADER] + [f"RACE-{n:02d},Race {n},{100 + n},standard,{code(n)},true,\n" for n in range(12)]
    lines.insert(6, f"{existing_sku},Changed,999,standard,{code(500)},true,\n")  # file row 7
    text = "".join(lines)
    rows = store.run(lambda u: validate_catalog_csv(u, text))
    # Between validation and the chunk, products made by hand take row 4's and row 7's barcodes.
    for n, taken in ((1, code(2)), (2, code(500))):
        store.run(lambda u, n=n, taken=taken: create_product(u, Product(
            sku=f"HAND-{n}", name="By hand", price_cents=1, tax_category="standard", barcodes=[taken])))
    version_before = store.query("SELECT version FROM products WHERE sku = ?", existing_sku)[0][0]
    (last_audit, last_seq), = store.query("SELECT (SELECT max(id) FROM audit_log), (SELECT max(seq) FROM outbox)")
    job_id = jobs.new_job_id()
    store.run(lambda u: jobs.create_job(u, job_id, f"{job_id}.csv", len(rows)))
    view = store.run(lambda u: jobs.apply_chunk(u, job_id, rows, FixedPace(100)))  # the whole file, one chunk

    assert (view.status, view.rows_done, view.created, view.updated, view.errors) == ("done", 13, 11, 0, 2)
    refused = [(w["row"], w["sku"], w["message"]) for w in view.warnings if w["code"] == "conflict"]
    assert refused == [
        (4, "RACE-02", f"barcode {code(2)} already belongs to another product; the row was not imported"),
        (7, existing_sku, f"barcode {code(500)} already belongs to another product; the row was not imported")]
    # The refused rows wrote nothing: no product, no change, no audit row, no event.
    assert store.query("SELECT count(*) FROM products WHERE sku = 'RACE-02'") == [(0,)]
    assert store.query("SELECT name, version FROM products WHERE sku = ?", existing_sku) == [
        (existing_name, version_before)]
    assert store.query("SELECT sku FROM products p JOIN product_barcodes b ON b.product_id = p.id "
                       "WHERE b.barcode IN (?, ?) ORDER BY sku", code(2), code(500)) == [("HAND-1",), ("HAND-2",)]
    imported = {s for (s,) in store.query("SELECT sku FROM products WHERE sku LIKE 'RACE-%'")}
    assert imported == {f"RACE-{n:02d}" for n in range(12)} - {"RACE-02"}
    audited = store.query("SELECT p.sku FROM audit_log a JOIN products p ON p.id = a.entity_id "
                          "WHERE a.id > ? AND a.action LIKE 'product.%'", last_audit)
    assert sorted(s for (s,) in audited) == sorted(imported)
    events = store.query("SELECT json_extract(envelope, '$.payload.sku') FROM outbox "
                         "WHERE seq > ? AND type = 'product.changed'", last_seq)
    assert sorted(s for (s,) in events) == sorted(imported)


def test_a_row_that_needs_what_an_earlier_row_of_its_chunk_changed_is_applied_as_row_by_row(stores):
    store = stores("depends")
    pid, sku, (old,) = *store.query("SELECT id, sku FROM products ORDER BY sku LIMIT 1")[0], \
        [c for (c,) in store.query("SELECT barcode FROM product_barcodes b JOIN products p ON p.id = b.product_id "
                                   "ORDER BY p.sku LIMIT 1")]
    freed = code(700)
    # Row 2 gives the existing product only a new barcode; row 3 makes a product with `freed`.
    text = HEADER + f"{sku},Kept,100,standard,{code(701)},true,\nDEP-1,Takes it,100,standard,{freed},true,\n"
    rows = store.run(lambda u: validate_catalog_csv(u, text))
    # Meanwhile `freed` is given to the existing product. Row by row, row 2 lets go of it before
    # row 3 takes it, so both rows apply; the bulk chunk must agree.
    store.run(lambda u: update_product(u, pid, Changes(barcodes=[old, freed])))
    job_id = jobs.new_job_id()
    store.run(lambda u: jobs.create_job(u, job_id, f"{job_id}.csv", len(rows)))
    first = store.run(lambda u: jobs.apply_chunk(u, job_id, rows, FixedPace(100)))
    assert (first.status, first.rows_done) == ("running", 1)  # the chunk ended before row 3
    done = store.run(lambda u: jobs.apply_chunk(u, job_id, rows, FixedPace(100)))
    assert (done.status, done.rows_done, done.created, done.updated, done.errors) == ("done", 2, 1, 1, 0)
    owners = dict(store.query("SELECT b.barcode, p.sku FROM product_barcodes b JOIN products p ON p.id = b.product_id "
                              "WHERE b.barcode IN (?, ?, ?)", old, freed, code(701)))
    assert owners == {code(701): sku, freed: "DEP-1"}


def test_kill_9_in_the_middle_of_a_large_bulk_import_ends_with_every_row_exactly_once(demo_dir):
    rows = 30_000
    text = HEADER + "".join(f"KB-{n:06d},Killed {n},{100 + n % 900},standard,{code(n)},true,\n" for n in range(rows))
    db = demo_settings(demo_dir).db_path

    def query(sql: str) -> list[tuple[Any, ...]]:
        conn = sqlite3.connect(db)
        try:
            return conn.execute(sql).fetchall()
        finally:
            conn.close()

    def tally() -> tuple[int, int, int]:
        """(products, their product.created audit rows, their product.changed events)."""
        products = query("SELECT count(*) FROM products WHERE sku LIKE 'KB-%'")[0][0]
        audit = query("SELECT count(*) FROM audit_log a JOIN products p ON p.id = a.entity_id "
                      "WHERE a.action = 'product.created' AND p.sku LIKE 'KB-%'")[0][0]
        events = query("SELECT count(*) FROM outbox WHERE type = 'product.changed' "
                       "AND json_extract(envelope, '$.payload.sku') LIKE 'KB-%'")[0][0]
        return products, audit, events

    server = EdgeServer(demo_dir, free_port())
    server.start()
    try:
        with httpx.Client(base_url=server.url, timeout=60) as http:
            manager = login(http, "manager")
            response = http.post("/api/v1/products/import", content=text,
                                 headers=manager | {"Content-Type": "text/csv"})
            assert response.status_code == 202, response.text
            location = response.headers["location"]
            progress = wait_until(lambda: (j := http.get(location, headers=manager).json())["rows_done"] >= 2_000
                                  and j, timeout=120, what="a few chunks applied")
            assert progress["status"] == "running"
            server.kill9()
        (status, rows_done), = query("SELECT status, rows_done FROM catalog_imports")
        assert status == "running" and 0 < rows_done < rows
        assert tally() == (rows_done, rows_done, rows_done)  # what committed is whole chunks, nothing more
        server.start()
        with httpx.Client(base_url=server.url, timeout=60) as http:
            manager = login(http, "manager")
            done = wait_until(lambda: (j := http.get(location, headers=manager).json())["status"] != "running"
                              and j, timeout=180, what="the resumed import to finish")
        assert (done["status"], done["rows_done"], done["created"], done["updated"], done["errors"]) == (
            "done", rows, rows, 0, 0)
        assert tally() == (rows, rows, rows)
        # Exactly once: no product with two created rows or two events, no version handed out twice.
        assert query("SELECT count(DISTINCT a.entity_id) FROM audit_log a JOIN products p ON p.id = a.entity_id "
                     "WHERE a.action = 'product.created' AND p.sku LIKE 'KB-%'") == [(rows,)]
        assert query("SELECT count(DISTINCT json_extract(envelope, '$.payload.product_id')) FROM outbox "
                     "WHERE type = 'product.changed' AND json_extract(envelope, '$.payload.sku') LIKE 'KB-%'"
                     ) == [(rows,)]
        assert query("SELECT count(DISTINCT version) FROM products WHERE sku LIKE 'KB-%'") == [(rows,)]
        assert query("SELECT count(*) FROM product_barcodes b JOIN products p ON p.id = b.product_id "
                     "WHERE p.sku LIKE 'KB-%'") == [(rows,)]
    finally:
        server.stop()
