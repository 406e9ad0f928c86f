"""An import's chunk starts only when the server answers no request (a lane's PIN sign-in keeps
its core for Argon2), yet a request that never ends does not stop the import; and the count of
requests being answered goes back to nothing whatever the requests' outcomes."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from edge.adapters.db import RequestsInFlight
from edge.service import catalog_import_jobs
from edge.service.ports import Actor
from tests.edge.test_catalog_import_jobs import big_csv, import_file, job_when_done, store_manager
from tests.support import login

ACTOR = Actor(tenant_id="t", store_id="s", user_id=None, username="manager")


class _Store:
    """Chunks of 100 rows through a writer that records, for each chunk, how many requests the
    server was answering when it started; `quiet` as the store's unit-of-work factory has it."""

    def __init__(self, rows: int, in_flight: RequestsInFlight):
        self.rows = rows
        self.done = 0
        self.in_flight = in_flight
        self.answering_at_chunk: list[int] = []

    async def run(self, actor: Actor, handler: Any) -> Any:
        raise AssertionError("the store's writer runs an import's chunks in the background")

    async def run_background(self, actor: Actor, handler: Any) -> Any:
        self.answering_at_chunk.append(self.in_flight.count)
        self.done = min(self.rows, self.done + 100)
        return catalog_import_jobs.ImportJobView(
            id="j", status="done" if self.done >= self.rows else "running", rows_total=self.rows,
            rows_done=self.done, created=self.done, updated=0, errors=0, warnings=[], created_at="",
            updated_at="", finished_at=None)

    def requests(self) -> int:
        return 0

    def answering(self) -> int:
        return self.in_flight.count

    async def quiet(self, at_most: float) -> bool:
        return await self.in_flight.quiet(at_most)


async def test_no_chunk_starts_while_a_request_is_being_answered():
    in_flight = RequestsInFlight()
    store = _Store(rows=1_000, in_flight=in_flight)
    in_flight.enter()  # a lane's sign-in arrives before the import starts
    job = asyncio.create_task(catalog_import_jobs.run_job(store, ACTOR, "j", []))
    await asyncio.sleep(0.05)
    assert store.done == 0  # the import waits for the sign-in's answer
    in_flight.leave()
    view = await asyncio.wait_for(job, 10)
    assert view.status == "done" and view.rows_done == 1_000
    assert store.answering_at_chunk == [0] * 10


async def test_a_request_that_never_ends_slows_the_import_but_does_not_stop_it(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(catalog_import_jobs, "QUIET_WAIT_SECONDS", 0.01)
    in_flight = RequestsInFlight()
    store = _Store(rows=500, in_flight=in_flight)
    in_flight.enter()  # say a client that sends its body a byte a minute
    view = await asyncio.wait_for(catalog_import_jobs.run_job(store, ACTOR, "j", []), 10)
    assert view.status == "done" and view.rows_done == 500
    assert in_flight.count == 1


async def test_waiting_for_quiet_returns_at_once_when_nothing_is_answered_and_when_the_last_answer_goes():
    in_flight = RequestsInFlight()
    assert await in_flight.quiet(5) is False
    in_flight.enter()
    in_flight.enter()
    waiter = asyncio.create_task(in_flight.quiet(5))
    in_flight.leave()
    await asyncio.sleep(0.01)
    assert not waiter.done()  # one request is still being answered
    in_flight.leave()
    assert await asyncio.wait_for(waiter, 1) is True
    assert in_flight.count == 0


def test_every_request_answered_leaves_the_count_of_requests_in_flight_at_nothing(client, as_user, demo_dir):
    in_flight = client.app.state.services.db.in_flight
    manager = as_user("manager")
    client.get("/api/v1/products?limit=5", headers=manager)
    client.get("/api/v1/nowhere", headers=manager)  # 404
    client.get("/api/v1/products", headers={"Authorization": "Bearer nonsense"})  # 401
    client.post("/api/v1/orders", content=b"{not json", headers=manager | {"Content-Type": "application/json"})
    client.post("/api/v1/auth/pin", json={"lane_id": "2", "pin": "9999"})  # wrong PIN
    assert in_flight.count == 0
    # A large import, then, is not held back by requests long answered: it finishes.
    rows = catalog_import_jobs.SYNC_MAX_ROWS + 300
    response = import_file(client, manager, big_csv(rows, prefix="QUI"))
    assert response.status_code == 202
    job = job_when_done(client, manager, response.headers["location"])
    assert job["status"] == "done" and job["created"] == rows
    assert in_flight.count == 0


def test_a_chunk_cut_short_by_an_arriving_request_writes_what_it_checked_and_the_next_goes_on_from_there(client):
    from edge.service.catalog import validate_catalog_csv

    services = client.app.state.services
    actor = store_manager(services)
    text = big_csv(1_100, prefix="CUT")
    rows = services.uow.run_sync(actor, lambda u: validate_catalog_csv(u, text))
    job_id = catalog_import_jobs.new_job_id()
    services.uow.run_sync(actor, lambda u: catalog_import_jobs.create_job(u, job_id, f"{job_id}.csv", len(rows)))
    pace = catalog_import_jobs.ChunkPace()
    # A request is already waiting when the first row has been checked: the chunk is that row.
    view = services.uow.run_sync(actor, lambda u: catalog_import_jobs.apply_chunk(u, job_id, rows, pace,
                                                                                  lambda: True))
    assert (view.status, view.rows_done, view.created) == ("running", 1, 1)
    assert pace.rows == catalog_import_jobs.FIRST_CHUNK_ROWS  # a cut chunk does not shrink the next ones
    while (view := services.uow.run_sync(actor, lambda u: catalog_import_jobs.apply_chunk(u, job_id, rows, pace))
           ).status == "running":
        pass
    assert (view.status, view.rows_done, view.created, view.errors) == ("done", 1_100, 1_100, 0)
    manager = login(client, "manager")
    for sku in ("CUT-000000", "CUT-000001", "CUT-001099"):
        assert len(client.get(f"/api/v1/products?sku={sku}", headers=manager).json()["items"]) == 1
