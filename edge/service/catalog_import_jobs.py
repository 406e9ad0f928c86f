"""Large catalog imports as jobs: validated whole, then applied in chunks that share the writer.

The writer is one thread that commits everyone's units of work in turn (edge/adapters/db.py). One
unit of work for 100,000 products held it for minutes and starved the lanes; here each chunk (about
`CHUNK_SECONDS` of work, written set-based) is its own unit of work, so a sign-in or a sale
queued meanwhile waits for at most one short chunk. Each chunk commits its products, their audit rows and events, AND the job's
`rows_done` in the same transaction: after a crash the job resumes after the last committed chunk,
and a row is never applied twice.

Validation stays all-or-nothing: the whole file is checked (on a reader) before the job exists.
A row that became conflicting between validation and its chunk (someone gave its barcode to
another product meanwhile) is skipped and reported on the job, never a crash.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar, runtime_checkable

import msgspec
import structlog

from edge.domain.errors import Conflict, NotFound, ValidationFailed
from edge.domain.ids import uuid7
from edge.service.catalog import CsvProduct, formula_warnings
from edge.service.catalog_bulk import apply_csv_rows
from edge.service.import_ports import ImportJobRow
from edge.service.ports import Actor, UnitOfWork

log = structlog.get_logger()

T = TypeVar("T")

# A chunk's time in the writer: what a lane's request may wait behind. Its commit comes on top
# (a chunk sized for 25 ms held the writer ~32 ms at the median); halving it cost the import
# little (20,000 rows in 1.3-2.0 s against 1.3-1.5 s, in process) and halves that wait.
CHUNK_SECONDS = 0.012
# After a chunk during which requests reached the database (a lane's lookup, a sale), the import
# steps aside this long: the chunk's Python holds the GIL the event loop needs to answer them.
PAUSE_SECONDS = 0.02
# Before each chunk the import waits for a moment when the server answers no request at all (a
# PIN sign-in spends tens of ms verifying Argon2 on a worker thread, off the database, and a
# chunk started meanwhile took its core), but never longer than this: a long request or a busy
# store slows the import down, it does not stop it. A lane's request answered within its 100 ms
# aim is covered; waiting longer for slower ones would only slow the import on a loaded box
# (at worst a chunk every 0.1 s: the import about 5 times slower, not 10).
QUIET_WAIT_SECONDS = 0.1
FIRST_CHUNK_ROWS = 200  # before any chunk has been timed
MIN_CHUNK_ROWS, MAX_CHUNK_ROWS = 20, 5_000
SYNC_MAX_ROWS = 1_000  # a file this small is imported in one unit of work and answered 200
MAX_JOB_WARNINGS = 1_000  # kept on the job; past that only counted


class Runner(Protocol):
    async def run(self, actor: Actor, handler: Callable[[Any], T]) -> T: ...


class ImportJobView(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    status: str
    rows_total: int
    rows_done: int
    created: int
    updated: int
    errors: int  # rows refused while applying (a conflict that appeared after validation)
    warnings: list[dict[str, Any]]
    created_at: str
    updated_at: str
    finished_at: str | None


def present_job(job: ImportJobRow) -> ImportJobView:
    errors = sum(1 for w in job.warnings if w.get("code") == "conflict")
    return ImportJobView(id=job.id, status=job.status, rows_total=job.rows_total, rows_done=job.rows_done,
                         created=job.created, updated=job.updated, errors=errors, warnings=job.warnings,
                         created_at=job.created_at, updated_at=job.updated_at, finished_at=job.finished_at)


def new_job_id() -> str:
    return uuid7()


def create_job(uow: UnitOfWork, job_id: str, file_name: str, rows_total: int) -> ImportJobView:
    """Record a validated file as a job to apply; refuses while another import is running."""
    if uow.imports.running() is not None:
        raise Conflict("another catalog import is still running; wait for it to finish",
                       code="import-running")
    a = uow.actor
    job = ImportJobRow(id=job_id, store_id=a.store_id, status="running", file_name=file_name, rows_total=rows_total,
                       rows_done=0, created=0, updated=0, warnings=[], actor_id=a.user_id, actor=a.username,
                       created_at=uow.now, updated_at=uow.now)
    uow.imports.insert(job)
    view = present_job(job)
    uow.audit("catalog_import.started", "catalog_import", job_id, None, {"rows_total": rows_total})
    return view


def get_job(uow: UnitOfWork, job_id: str) -> ImportJobView:
    job = uow.imports.get(job_id)
    if job is None:
        raise NotFound("no such import", code="import-not-found")
    return present_job(job)


def job_actor(tenant_id: str, job: ImportJobRow) -> Actor:
    """Who the chunks act as: the user who started the import, also after a restart."""
    return Actor(tenant_id=tenant_id, store_id=job.store_id, user_id=job.actor_id, username=job.actor)


class ChunkPace:
    """How many rows fit in a chunk of `CHUNK_SECONDS`, learnt from the chunks already applied.

    A chunk's rows are written together (edge/service/catalog_bulk.py), so its size must be
    chosen before it starts; the rate measured on the last chunks sets it. Checking the rows
    also stops at the time budget, so a wrong guess costs at most the writes of what was checked."""

    def __init__(self, rows: int = FIRST_CHUNK_ROWS):
        self.rows = rows

    def taken(self, rows: int, seconds: float) -> None:
        if rows <= 0 or seconds <= 0:
            return
        fit = rows * CHUNK_SECONDS / seconds
        # Halfway towards what the last chunk says fits: one slow chunk (another process had
        # the CPU) does not shrink the next to nothing, and a fast one does not double it.
        self.rows = max(MIN_CHUNK_ROWS, min(MAX_CHUNK_ROWS, int((self.rows + fit) / 2)))


def apply_chunk(uow: UnitOfWork, job_id: str, rows: Sequence[CsvProduct], pace: ChunkPace | None = None,
                stop: Callable[[], bool] | None = None) -> ImportJobView:
    """Apply the next rows after the job's `rows_done` (as many as `pace` says fit in
    `CHUNK_SECONDS`, fewer if `stop()` turns true while they are checked), and move it on, in
    one transaction."""
    started = time.monotonic()
    pace = pace or ChunkPace()
    job = uow.imports.get(job_id)
    if job is None or job.status != "running":
        raise NotFound("no such running import", code="import-not-found")
    chunk = list(rows[job.rows_done:job.rows_done + pace.rows])
    created = updated = 0
    warnings = list(job.warnings)
    # Progress is recorded by the rows actually taken, so resuming needs no fixed chunk size.
    outcomes = apply_csv_rows(uow, chunk, deadline=started + CHUNK_SECONDS, stop=stop)
    cut = stop is not None and len(outcomes) < len(chunk) and stop()
    for row, outcome in outcomes:
        if isinstance(outcome, (Conflict, ValidationFailed)):
            # The checks run before anything of the chunk is written, and a refused row writes nothing.
            why = "; ".join(e.get("message", "") for e in outcome.errors) or outcome.detail
            _note(warnings, {"row": row.row, "sku": str(row.product.sku), "field": "row", "code": "conflict",
                             "message": f"{why}; the row was not imported"})
            continue
        if outcome.status == "created":
            created += 1
        else:
            updated += 1
        for warning in formula_warnings(row):
            _note(warnings, msgspec.structs.asdict(warning))
    applied = len(outcomes)
    rows_done = job.rows_done + applied
    finished = rows_done >= len(rows)
    values: dict[str, Any] = {"rows_done": rows_done, "created": job.created + created,
                              "updated": job.updated + updated, "warnings": warnings, "updated_at": uow.now}
    if finished:
        values |= {"status": "done", "finished_at": uow.now}
        uow.audit("catalog_import.finished", "catalog_import", job_id, None,
                  {"rows_total": job.rows_total, "created": values["created"], "updated": values["updated"],
                   "refused": sum(1 for w in warnings if w.get("code") == "conflict")})
    uow.imports.update(job_id, values)
    if not cut:  # a chunk cut short for a request says nothing of how many rows fit
        pace.taken(applied, time.monotonic() - started)
    return present_job(msgspec.structs.replace(job, **values))


def fail_job(uow: UnitOfWork, job_id: str, reason: str) -> None:
    job = uow.imports.get(job_id)
    if job is None or job.status != "running":
        return
    uow.imports.update(job_id, {"status": "failed", "updated_at": uow.now, "finished_at": uow.now,
                                "warnings": [*job.warnings, {"row": job.rows_done + 1, "sku": "", "field": "file",
                                                             "code": "failed", "message": reason}]})
    uow.audit("catalog_import.failed", "catalog_import", job_id, None, {"reason": reason})


def _note(warnings: list[dict[str, Any]], warning: dict[str, Any]) -> None:
    if len(warnings) < MAX_JOB_WARNINGS:
        warnings.append(warning)


async def run_job(runner: Runner, actor: Actor, job_id: str, rows: Sequence[CsvProduct]) -> ImportJobView:
    """Apply a job's rows chunk by chunk until it is done. Safe to call again after a crash: each
    chunk starts from the `rows_done` committed with the previous one.

    With the store's writer, a chunk runs only when no request is queued, alone in its
    transaction, and when requests reached the database meanwhile the next chunk waits
    `PAUSE_SECONDS`: the lanes get the GIL and the writer in turn, the import the rest. A chunk
    also starts only once no HTTP request is being answered (up to `QUIET_WAIT_SECONDS`)."""
    pace = ChunkPace()
    background = isinstance(runner, _HasBackground)
    seen = runner.requests() if background else 0
    while True:
        if background:
            await runner.quiet(QUIET_WAIT_SECONDS)
            # A request that arrives while the chunk's rows are checked cuts the chunk there: it
            # waits for the writes of what was checked, not for the whole chunk. (One answered
            # since before the chunk, a long one, does not cut every chunk to a row.)
            stop = functools.partial(_more_than, runner.answering, runner.answering())
            view = await runner.run_background(actor, lambda u, stop=stop: apply_chunk(u, job_id, rows, pace, stop))
        else:
            view = await runner.run(actor, lambda u: apply_chunk(u, job_id, rows, pace))
        if view.status != "running":
            log.info("catalog_import.done", job_id=job_id, rows=view.rows_total, created=view.created,
                     updated=view.updated, refused=view.errors)
            return view
        if background and runner.requests() != seen:
            seen = runner.requests()
            await asyncio.sleep(PAUSE_SECONDS)
        else:
            # Let the requests that arrived during the chunk reach the writer's queue before the next.
            await asyncio.sleep(0)


def _more_than(count: Callable[[], int], before: int) -> bool:
    return count() > before


@runtime_checkable
class _HasBackground(Protocol):
    """The store's database (edge/adapters/uow.py): it runs background units only when no request
    waits, counts the requests that reach it, and knows the HTTP requests being answered."""

    async def run_background(self, actor: Actor, handler: Callable[[Any], T]) -> T: ...

    def requests(self) -> int: ...

    def answering(self) -> int: ...

    async def quiet(self, at_most: float) -> bool: ...
