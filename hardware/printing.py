"""Receipt printing with a journal: a printer failure never blocks or loses a sale.

Every job is journaled as ``queued`` before a byte is sent. Failures end as ``failed`` with
a reason (paper_out, offline, cover_open, no_answer, no_printer) and a ``printer_failed``
event on the lane, so the UI can offer a reprint; the bytes stay in the journal.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import structlog

from hardware.bus import EventBus
from hardware.drivers.printer import PrinterDriver
from hardware.errors import DeviceError, DeviceTimeout, DeviceUnavailable, PrinterNotReady
from hardware.journal import JobJournal
from hardware.models import PrintJob

log = structlog.get_logger()


class PrintService:
    def __init__(self, journal: JobJournal, bus: EventBus, printer_for: Callable[[str], PrinterDriver | None],
                 on_status: Callable[[str, str], None], wait_s: float = 5.0) -> None:
        self.journal = journal
        self.bus = bus
        self._printer_for = printer_for
        self._on_status = on_status
        self.wait_s = wait_s
        self._tasks: set[asyncio.Task[PrintJob]] = set()

    async def submit(self, lane_id: str, printer_id: str | None, data: bytes, ref: str,
                     reprint_of: str | None = None) -> PrintJob:
        job = self.journal.add(lane_id, printer_id or "", ref, data, reprint_of)
        self.bus.publish(lane_id, "job_queued", job_id=job.id, ref=ref, printer_id=job.printer_id)
        task = asyncio.create_task(self._attempt(job, data))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        try:
            # shield: if the caller gives up waiting, the job keeps going in the background.
            return await asyncio.wait_for(asyncio.shield(task), self.wait_s)
        except TimeoutError:
            return self.journal.get(job.id)

    async def reprint(self, job_id: str, printer_id: str | None = None) -> PrintJob:
        original = self.journal.get(job_id)
        return await self.submit(original.lane_id, printer_id or original.printer_id, self.journal.data(job_id),
                                 original.ref, reprint_of=job_id)

    async def drain(self) -> None:
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _attempt(self, job: PrintJob, data: bytes) -> PrintJob:
        driver = self._printer_for(job.printer_id) if job.printer_id else None
        if driver is None:
            return self._fail(job, "no_printer")
        self.journal.mark(job.id, "printing")
        try:
            status = await driver.print_job(data)
        except PrinterNotReady as err:
            self._on_status(job.printer_id, {"paper_out": "paper_out"}.get(err.reason, "offline"))
            if err.reason == "paper_out":
                self.bus.publish(job.lane_id, "paper_out", printer_id=job.printer_id)
            return self._fail(job, err.reason)
        except DeviceTimeout:
            self._on_status(job.printer_id, "offline")
            return self._fail(job, "no_answer")
        except DeviceUnavailable:
            self._on_status(job.printer_id, "offline")
            return self._fail(job, "offline")
        except (DeviceError, OSError) as err:
            log.warning("print.error", job_id=job.id, error=str(err))
            return self._fail(job, "error")
        self._on_status(job.printer_id, "paper_low" if status.paper == "low" else "ok")
        if status.paper == "low":
            self.bus.publish(job.lane_id, "paper_low", printer_id=job.printer_id)
        done = self.journal.mark(job.id, "printed")
        self.bus.publish(job.lane_id, "job_printed", job_id=job.id, ref=job.ref)
        return done

    def _fail(self, job: PrintJob, reason: str) -> PrintJob:
        failed = self.journal.mark(job.id, "failed", reason)
        log.warning("print.failed", job_id=job.id, ref=job.ref, printer_id=job.printer_id, reason=reason)
        self.bus.publish(job.lane_id, "printer_failed", job_id=job.id, ref=job.ref, reason=reason,
                         printer_id=job.printer_id, reprint=True)
        return failed
