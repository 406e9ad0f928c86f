"""A large import leaves the lanes their share: its chunks wait for the requests queued before
them and commit alone, it steps aside after a chunk while requests come, and the file is
validated in a child process with exactly the in-process outcome."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, text

from edge.adapters.catalog_import_worker import BLOCK_ROWS, EncodedRows, validate_in_child
from edge.adapters.db import Database
from edge.domain.errors import ValidationFailed
from edge.service import catalog_import_jobs
from edge.service.catalog import parse_catalog_csv, validate_catalog_csv
from edge.service.ports import Actor
from tests.edge.test_catalog_import_jobs import big_csv, store_manager


def _insert(name: str, order: list[str]) -> Any:
    def unit(conn: Connection) -> None:
        conn.execute(text("INSERT INTO log (name) VALUES (:n)"), {"n": name})
        order.append(name)
    return unit


async def test_a_background_unit_runs_after_the_requests_queued_before_it_and_commits_alone(tmp_path: Path):
    db = Database(tmp_path / "store.db")
    db.write_sync(lambda c: c.execute(text("CREATE TABLE log (name TEXT)")))
    db.start()
    try:
        order: list[str] = []
        gate = threading.Event()
        blocker = asyncio.create_task(db.write(lambda c: gate.wait(10)))  # holds the writer
        await asyncio.sleep(0.05)
        queued = [asyncio.create_task(db.write_background(_insert("import chunk", order)))]
        await asyncio.sleep(0)
        queued += [asyncio.create_task(db.write(_insert(name, order))) for name in ("sale", "sign-in")]
        await asyncio.sleep(0.05)
        commits = db.commits
        gate.set()
        await asyncio.gather(blocker, *queued)
        # The chunk was queued first, yet the lanes' units ran before it, and it committed on
        # its own: the blocker, then the sale with the sign-in, then the chunk.
        assert order == ["sale", "sign-in", "import chunk"]
        assert db.commits - commits == 3
        names = await db.read(lambda c: [r[0] for r in c.execute(text("SELECT name FROM log ORDER BY rowid"))])
        assert names == ["sale", "sign-in", "import chunk"]
    finally:
        await db.close()


async def test_a_failing_background_unit_changes_nothing_and_the_requests_still_commit(tmp_path: Path):
    db = Database(tmp_path / "store.db")
    db.write_sync(lambda c: c.execute(text("CREATE TABLE log (name TEXT)")))
    db.start()
    try:
        def broken(conn: Connection) -> None:
            _insert("half a chunk", [])(conn)
            raise RuntimeError("disk said no")

        chunk = asyncio.create_task(db.write_background(broken))
        sale = asyncio.create_task(db.write(_insert("sale", [])))
        with pytest.raises(RuntimeError):
            await chunk
        await sale
        names = await db.read(lambda c: [r[0] for r in c.execute(text("SELECT name FROM log"))])
        assert names == ["sale"]
    finally:
        await db.close()


class _Writer:
    """Counts chunks and the requests the 'lanes' make between them, as the store's database does."""

    def __init__(self, rows: int, lane_requests_every: int):
        self.done = 0
        self.rows = rows
        self.every = lane_requests_every
        self.chunks = 0
        self.asked = 0
        self.sleeps: list[float] = []

    async def run(self, actor: Actor, handler: Any) -> Any:
        raise AssertionError("the store's writer runs an import's chunks in the background")

    async def run_background(self, actor: Actor, handler: Any) -> Any:
        self.chunks += 1
        if self.chunks % self.every == 0:
            self.asked += 1  # a lane's request reached the database during this chunk
        self.done = min(self.rows, self.done + 100)
        status = "done" if self.done >= self.rows else "running"
        return catalog_import_jobs.ImportJobView(
            id="j", status=status, rows_total=self.rows, rows_done=self.done, created=self.done, updated=0,
            errors=0, warnings=[], created_at="", updated_at="", finished_at=None)

    def requests(self) -> int:
        return self.asked

    def answering(self) -> int:
        return 0

    async def quiet(self, at_most: float) -> bool:
        return False


async def test_the_import_steps_aside_only_after_chunks_during_which_requests_came(monkeypatch: pytest.MonkeyPatch):
    writer = _Writer(rows=1_000, lane_requests_every=3)
    real_sleep = asyncio.sleep
    pauses: list[float] = []

    async def sleep(seconds: float) -> None:
        pauses.append(seconds)
        await real_sleep(0)

    monkeypatch.setattr(catalog_import_jobs.asyncio, "sleep", sleep)
    actor = Actor(tenant_id="t", store_id="s", user_id=None, username="manager")
    view = await catalog_import_jobs.run_job(writer, actor, "j", [])
    assert view.status == "done" and writer.chunks == 10
    # Chunks 3, 6 and 9 saw a request: the pause follows each of them, the others go straight on.
    assert pauses.count(catalog_import_jobs.PAUSE_SECONDS) == 3
    assert pauses.count(0) == 10 - 1 - 3


def test_encoded_rows_read_back_exactly_the_parsed_rows_across_blocks():
    text_ = big_csv(2 * BLOCK_ROWS + 37) + 'FORM-1,"=SUM(A1)",5,standard,,true\n'
    rows = parse_catalog_csv(text_)[0]
    encoded = EncodedRows.of(rows)
    assert len(encoded) == len(rows) and len(encoded.blocks) == 3
    for start, stop in ((0, 10), (BLOCK_ROWS - 3, BLOCK_ROWS + 250), (BLOCK_ROWS - 1, 2 * BLOCK_ROWS + 1),
                        (len(rows) - 5, len(rows) + 100)):
        assert encoded[start:stop] == rows[start:stop]
    assert encoded[-1] == rows[-1] and encoded[-1].formula_columns == ["name"]
    assert list(encoded) == rows


async def test_validating_in_a_child_process_gives_the_in_process_rows_and_refusals(client: Any):
    services = client.app.state.services
    settings = services.settings
    actor = store_manager(services)
    good = big_csv(1_500, prefix="KID")
    rows = await validate_in_child(settings.db_path, actor, good)
    assert list(rows) == services.uow.run_sync(actor, lambda u: validate_catalog_csv(u, good))

    bad = big_csv(1_500, prefix="KID", bad={5: "KID-X,,-1,standard,,true", 1_400: "KID-000001,Twice,5,standard,,true"})
    with pytest.raises(ValidationFailed) as in_child:
        await validate_in_child(settings.db_path, actor, bad)
    with pytest.raises(ValidationFailed) as in_process:
        services.uow.run_sync(actor, lambda u: validate_catalog_csv(u, bad))
    assert in_child.value.code == "csv-invalid"
    assert (in_child.value.detail, in_child.value.errors) == (in_process.value.detail, in_process.value.errors)
    assert [p["row"] for p in in_child.value.errors] == [5, 1_400]


def test_a_card_number_deep_in_a_catalog_file_too_big_for_the_server_process_is_refused(client: Any, as_user: Any,
                                                                                        demo_dir: Path):
    from edge.api.card_numbers import OFF_PROCESS_BYTES
    from tests.edge.test_card_numbers import FORMS, assert_no_card_number_stored, assert_refused

    rows = 20_000
    text_ = big_csv(rows, prefix="PAN", bad={rows - 3: f"PAN-CARD,Gift {FORMS[1]},5,standard,,true"})
    assert len(text_.encode()) > OFF_PROCESS_BYTES  # scanned in a child process
    response = client.post("/api/v1/products/import", content=text_,
                           headers=as_user("manager") | {"Content-Type": "text/csv"})
    assert_refused(response, f"row {rows - 3} name")
    assert client.get("/api/v1/products?sku=PAN-000001", headers=as_user("manager")).json()["items"] == []
    assert_no_card_number_stored(demo_dir)
