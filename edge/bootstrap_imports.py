"""Catalog import jobs in the running process: the kept files, the tasks that apply them, and
resuming the jobs a crash or a restart interrupted.

The file of a job is kept as `<data_dir>/imports/<job id>.csv`, owner-only (it may hold
supplier prices nobody else should read), until the job ends; then it is removed.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import structlog
from sqlalchemy import select

from edge.adapters.catalog_import_worker import parse_in_child
from edge.adapters.tables_imports import catalog_imports
from edge.service import catalog_import_jobs as jobs
from edge.service.ports import Actor

log = structlog.get_logger()

KEY = "catalog_imports"


class CatalogImports:
    def __init__(self, services: Any):
        self.services = services
        self.directory = Path(services.settings.data_dir) / "imports"
        self.tasks: dict[str, asyncio.Task] = {}

    def _path(self, job_id: str) -> Path:
        return self.directory / f"{job_id}.csv"

    async def submit(self, actor: Actor, text: str, rows: Sequence[jobs.CsvProduct]) -> jobs.ImportJobView:
        """Keep the validated file, record the job, and start applying it."""
        job_id = jobs.new_job_id()
        path = self._path(job_id)
        await asyncio.to_thread(_write_private, path, text)
        try:
            view = await self.services.uow.run(actor, lambda u: jobs.create_job(u, job_id, path.name, len(rows)))
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        self._start(actor, job_id, rows)
        return view

    def _start(self, actor: Actor, job_id: str, rows: Sequence[jobs.CsvProduct]) -> None:
        self.tasks[job_id] = asyncio.create_task(self._run(actor, job_id, rows), name=f"catalog-import-{job_id}")

    async def _run(self, actor: Actor, job_id: str, rows: Sequence[jobs.CsvProduct]) -> None:
        try:
            await jobs.run_job(self.services.uow, actor, job_id, rows)
        except asyncio.CancelledError:
            raise  # shutting down: the job resumes on the next start
        except Exception as err:
            log.exception("catalog_import.failed", job_id=job_id)
            reason = f"the import stopped ({type(err).__name__})"
            with contextlib.suppress(Exception):
                await self.services.uow.run(actor, lambda u: jobs.fail_job(u, job_id, reason))
        finally:
            self.tasks.pop(job_id, None)
        self._path(job_id).unlink(missing_ok=True)

    async def resume(self) -> None:
        """Start again every job a crash or a stop left running, after its last committed chunk."""
        def running(conn: Any) -> list[dict[str, Any]]:
            return [dict(r) for r in conn.execute(
                select(catalog_imports.c.id, catalog_imports.c.tenant_id).where(
                    catalog_imports.c.status == "running").order_by(catalog_imports.c.created_at)).mappings()]

        for found in await self.services.db.read(running):
            job_id, tenant_id = found["id"], found["tenant_id"]
            system = Actor.system(tenant_id, None, "catalog-import")
            job = await self.services.uow.read(system, lambda u, j=job_id: u.imports.get(j))
            actor = jobs.job_actor(tenant_id, job)
            path = self._path(job_id)
            try:
                text = await asyncio.to_thread(path.read_text, encoding="utf-8")
            except OSError:
                await self.services.uow.run(actor, lambda u, j=job_id: jobs.fail_job(u, j, "the import's file is gone"))
                continue
            rows = await parse_in_child(text)  # seconds of parsing, off the server's GIL
            log.info("catalog_import.resumed", job_id=job_id, rows_done=job.rows_done, rows_total=job.rows_total)
            self._start(actor, job_id, rows)

    async def stop(self) -> None:
        for task in list(self.tasks.values()):
            task.cancel()
        await asyncio.gather(*self.tasks.values(), return_exceptions=True)


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
        out.flush()
        os.fsync(out.fileno())  # the job row that names it commits after this


def catalog_imports_of(services: Any) -> CatalogImports:
    extras = services.extras if services.extras is not None else {}
    services.extras = extras
    if KEY not in extras:
        extras[KEY] = CatalogImports(services)
    return extras[KEY]


async def start_catalog_imports(services: Any) -> None:
    await catalog_imports_of(services).resume()


async def stop_catalog_imports(services: Any) -> None:
    await catalog_imports_of(services).stop()
