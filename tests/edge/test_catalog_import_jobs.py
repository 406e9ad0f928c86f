"""Large catalog imports run as jobs: validated whole, applied in chunks beside the lanes' work,
visible while they run, and resumed after a kill -9 with exactly the right products."""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path
from typing import Any

import httpx

from edge.domain.catalog import ean13
from edge.service import catalog_import_jobs
from edge.service.catalog import validate_catalog_csv
from edge.service.ports import Actor
from tests.support import EdgeServer, demo_settings, free_port, login, wait_until

HEADER = "sku,name,price_cents,tax_category,barcodes,active\n"


def big_csv(rows: int, prefix: str = "IMP", *, bad: dict[int, str] | None = None) -> str:
    """`rows` products (file row n+2 is product n); `bad` replaces some file rows by bad lines."""
    lines = [HEADER]
    for n in range(rows):
        file_row = n + 2
        if bad and file_row in bad:
            lines.append(bad[file_row] + "\n")
            continue
        lines.append(f"{prefix}-{n:06d},Imported {n},{100 + n},standard,{ean13(f'7{n:011d}')},true\n")
    return "".join(lines)


def import_file(client: Any, headers: dict[str, str], text: str) -> httpx.Response:
    return client.post("/api/v1/products/import", content=text, headers=headers | {"Content-Type": "text/csv"})


def job_when_done(client: Any, headers: dict[str, str], location: str) -> dict[str, Any]:
    def finished() -> dict[str, Any] | None:
        job = client.get(location, headers=headers).json()
        return job if job["status"] != "running" else None

    return wait_until(finished, timeout=120, what="the import job to finish")


def db_of(data_dir: Path) -> Path:
    return demo_settings(data_dir).db_path


def count_products(db: Path, prefix: str) -> int:
    conn = sqlite3.connect(db)
    try:
        return conn.execute("SELECT count(*) FROM products WHERE sku LIKE ?", (f"{prefix}-%",)).fetchone()[0]
    finally:
        conn.close()


def store_manager(services: Any) -> Actor:
    """The store's manager as the writer sees them, for running the import's units directly."""
    settings = services.settings
    return Actor(tenant_id=settings.store.tenant_id, store_id=settings.store.store_id, user_id=None,
                 username="manager")


def test_a_large_file_becomes_a_job_whose_progress_is_visible_until_every_product_is_in(client, as_user, demo_dir):
    manager = as_user("manager")
    rows = catalog_import_jobs.SYNC_MAX_ROWS + 700
    response = import_file(client, manager, big_csv(rows))
    assert response.status_code == 202, response.text
    job = response.json()
    assert response.headers["location"] == f"/api/v1/products/imports/{job['id']}"
    assert (job["status"], job["rows_total"]) == ("running", rows)
    kept = demo_dir / "imports" / f"{job['id']}.csv"
    done = job_when_done(client, manager, response.headers["location"])
    assert (done["status"], done["rows_done"], done["created"], done["updated"], done["errors"]) == (
        "done", rows, rows, 0, 0)
    assert done["finished_at"]
    found = client.get("/api/v1/products?sku=IMP-001234", headers=manager).json()["items"]
    assert [(p["name"], p["price_cents"]) for p in found] == [("Imported 1234", 1334)]
    assert count_products(db_of(demo_dir), "IMP") == rows
    wait_until(lambda: not kept.exists(), what="the import's file to be removed once applied")
    # Every product has its audit row, as one made by hand would.
    product_id = found[0]["id"]
    audit = client.get(f"/api/v1/products/{product_id}/audit", headers=manager).json()["items"]
    assert [a["action"] for a in audit] == ["product.created"]


def test_a_second_import_of_the_same_file_updates_every_product(client, as_user, demo_dir):
    manager = as_user("manager")
    rows = catalog_import_jobs.SYNC_MAX_ROWS + 10
    first = import_file(client, manager, big_csv(rows))
    job_when_done(client, manager, first.headers["location"])
    again = import_file(client, manager, big_csv(rows))
    assert again.status_code == 202, again.text
    done = job_when_done(client, manager, again.headers["location"])
    assert (done["created"], done["updated"]) == (0, rows)
    assert count_products(db_of(demo_dir), "IMP") == rows


def test_a_large_file_with_bad_rows_is_refused_whole_with_every_bad_row(client, as_user, demo_dir):
    manager = as_user("manager")
    rows = catalog_import_jobs.SYNC_MAX_ROWS + 500
    text = big_csv(rows, bad={3: "IMP-BAD1,Bad price,1.5,standard,,true",
                              900: "IMP-BAD2,Bad tax,100,martian,,true",
                              rows + 1: "IMP-000010,Same SKU twice,100,standard,,true"})
    response = import_file(client, manager, text)
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["type"].endswith("/csv-invalid")
    assert {e["row"] for e in body["errors"]} == {3, 900, rows + 1}
    assert count_products(db_of(demo_dir), "IMP") == 0
    assert not (demo_dir / "imports").exists() or not list((demo_dir / "imports").glob("*.csv"))


def test_an_unknown_job_is_a_404_and_a_cashier_cannot_import(client, as_user):
    response = client.get(f"/api/v1/products/imports/{uuid.uuid4()}", headers=as_user("manager"))
    assert response.status_code == 404
    assert response.json()["type"].endswith("/import-not-found")
    assert import_file(client, as_user("cashier"), big_csv(3)).status_code == 403


def test_a_row_that_became_conflicting_meanwhile_is_reported_on_the_job_not_a_crash(client):
    services = client.app.state.services
    actor = store_manager(services)
    text = big_csv(1_200, prefix="RACE")
    rows = services.uow.run_sync(actor, lambda u: validate_catalog_csv(u, text))
    # Between validation and its chunk, someone gives row 1000's barcode to another product.
    taken = ean13(f"7{998:011d}")
    created = client.post("/api/v1/products", headers=login(client, "manager"), json={
        "sku": "HAND-1", "name": "Made by hand", "price_cents": 100, "tax_category": "standard",
        "barcodes": [taken]})
    assert created.status_code in (200, 201), created.text
    job_id = catalog_import_jobs.new_job_id()
    services.uow.run_sync(actor, lambda u: catalog_import_jobs.create_job(u, job_id, f"{job_id}.csv", len(rows)))
    while (view := services.uow.run_sync(actor, lambda u: catalog_import_jobs.apply_chunk(u, job_id, rows))
           ).status == "running":
        pass
    assert (view.status, view.rows_done, view.created, view.errors) == ("done", 1_200, 1_199, 1)
    refused = [w for w in view.warnings if w["code"] == "conflict"]
    assert [(w["row"], w["sku"]) for w in refused] == [(1000, "RACE-000998")]
    assert "barcode" in refused[0]["message"]


def test_a_sale_completes_while_a_large_import_runs(client, as_user, demo_dir):
    manager, cashier = as_user("manager"), as_user("cashier")
    response = import_file(client, manager, big_csv(3_000))
    assert response.status_code == 202, response.text
    sale = client.post("/api/v1/orders", headers=cashier | {"Idempotency-Key": str(uuid.uuid4())}, json={
        "lane_id": "1", "lines": [{"sku": "BAK-0007", "quantity": 1}],
        "tenders": [{"method": "cash", "amount_cents": 10_000}]})
    assert sale.status_code == 201, sale.text
    during = client.get(response.headers["location"], headers=manager).json()
    assert during["status"] == "running" and during["rows_done"] < 3_000  # the sale did not wait for all of it
    done = job_when_done(client, manager, response.headers["location"])
    assert done["created"] == 3_000


def test_kill_9_mid_import_resumes_after_the_last_chunk_with_exactly_the_right_products(demo_dir):
    rows = 4_000
    server = EdgeServer(demo_dir, free_port())
    server.start()
    try:
        with httpx.Client(base_url=server.url, timeout=30) as http:
            manager = login(http, "manager")
            response = import_file(http, manager, big_csv(rows, prefix="KILL"))
            assert response.status_code == 202, response.text
            location = response.headers["location"]
            wait_until(lambda: http.get(location, headers=manager).json()["rows_done"] >= 1_000, timeout=60,
                       what="a few chunks applied")
            server.kill9()
        # What survived is exactly the committed chunks: the products and the job's progress agree.
        conn = sqlite3.connect(db_of(demo_dir))
        try:
            status, rows_done = conn.execute("SELECT status, rows_done FROM catalog_imports").fetchone()
        finally:
            conn.close()
        assert status == "running" and 0 < rows_done < rows
        assert count_products(db_of(demo_dir), "KILL") == rows_done
        server.start()
        with httpx.Client(base_url=server.url, timeout=30) as http:
            manager = login(http, "manager")
            done = job_when_done(http, manager, location)
        assert (done["status"], done["rows_done"], done["created"], done["updated"]) == ("done", rows, rows, 0)
        assert count_products(db_of(demo_dir), "KILL") == rows
        # The spooled upload is removed just after the job's last commit, so a poll may see
        # "done" a moment before the file is gone.
        spool = demo_dir / "imports" / f"{location.rsplit('/', 1)[1]}.csv"
        wait_until(lambda: not spool.exists(), timeout=10, what="the spooled CSV removed after the import")
    finally:
        server.stop()
