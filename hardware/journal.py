"""Durable print-job journal (one SQLite file in the hub's data directory).

A job is written as ``queued`` *before* any byte goes to the printer, moves to
``printing`` while it is on the wire and ends ``printed`` or ``failed``. A job still
``printing`` when the hub starts was cut off by a crash or power loss, so it is marked
failed ("interrupted") and offered for reprint: the paper may or may not have come out,
and a cashier can judge that, the software cannot. The receipt bytes are kept so a reprint
is byte-identical.
"""

from __future__ import annotations

import sqlite3
import threading
import uuid
from datetime import UTC, datetime
from pathlib import Path

from hardware.errors import UnknownDevice
from hardware.models import PrintJob

_SCHEMA = """
CREATE TABLE IF NOT EXISTS print_jobs (
    id TEXT PRIMARY KEY,
    lane_id TEXT NOT NULL,
    printer_id TEXT NOT NULL,
    ref TEXT NOT NULL,
    status TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    attempts INTEGER NOT NULL DEFAULT 0,
    data BLOB NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    reprint_of TEXT
);
CREATE INDEX IF NOT EXISTS print_jobs_created ON print_jobs (created_at);
"""
_COLUMNS = "id, lane_id, printer_id, ref, status, reason, attempts, created_at, updated_at, reprint_of"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class JobJournal:
    def __init__(self, path: Path | str) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        # Writes are tiny and rare (one per receipt); a lock around one connection is enough.
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)
        self._lock = threading.Lock()

    def close(self) -> None:
        self._db.close()

    def add(self, lane_id: str, printer_id: str, ref: str, data: bytes, reprint_of: str | None = None) -> PrintJob:
        job_id = uuid.uuid4().hex[:16]
        now = _now()
        with self._lock:
            self._db.execute(
                "INSERT INTO print_jobs (id, lane_id, printer_id, ref, status, data, created_at, updated_at,"
                " reprint_of) VALUES (?, ?, ?, ?, 'queued', ?, ?, ?, ?)",
                (job_id, lane_id, printer_id, ref, data, now, now, reprint_of),
            )
        return self.get(job_id)

    def mark(self, job_id: str, status: str, reason: str = "") -> PrintJob:
        with self._lock:
            bump = 1 if status == "printing" else 0
            self._db.execute(
                "UPDATE print_jobs SET status = ?, reason = ?, attempts = attempts + ?, updated_at = ? WHERE id = ?",
                (status, reason, bump, _now(), job_id),
            )
        return self.get(job_id)

    def get(self, job_id: str) -> PrintJob:
        with self._lock:
            row = self._db.execute(f"SELECT {_COLUMNS} FROM print_jobs WHERE id = ?", (job_id,)).fetchone()  # noqa: S608 (constant columns)
        if row is None:
            raise UnknownDevice(f"no print job {job_id!r}")
        return PrintJob(*row)

    def data(self, job_id: str) -> bytes:
        with self._lock:
            row = self._db.execute("SELECT data FROM print_jobs WHERE id = ?", (job_id,)).fetchone()
        if row is None:
            raise UnknownDevice(f"no print job {job_id!r}")
        return bytes(row[0])

    def recent(self, limit: int = 50, status: str | None = None) -> list[PrintJob]:
        query = f"SELECT {_COLUMNS} FROM print_jobs"  # noqa: S608 (constant columns, bound values)
        args: tuple[object, ...] = ()
        if status:
            query, args = query + " WHERE status = ?", (status,)
        with self._lock:
            rows = self._db.execute(query + " ORDER BY created_at DESC, rowid DESC LIMIT ?", (*args, limit))
            return [PrintJob(*row) for row in rows.fetchall()]

    def recover_interrupted(self) -> list[PrintJob]:
        """Jobs left ``queued`` or ``printing`` by a previous run become failed, for reprint."""
        with self._lock:
            ids = [r[0] for r in self._db.execute(
                "SELECT id FROM print_jobs WHERE status IN ('queued', 'printing')").fetchall()]
        return [self.mark(job_id, "failed", "interrupted") for job_id in ids]
