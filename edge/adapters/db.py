"""The store database: one writer thread with group commit, plus reader connections.

Why a thread and not the async ORM: measured on the 2-core box, the Python cost per
order dominates, and every aiosqlite call is a thread hop. A single writer thread running sync
SQLAlchemy Core, committing several callers' units of work together, is the fastest durable
path. Durability rule: a caller's future resolves only *after* the COMMIT that holds its change
(`synchronous=FULL` in WAL mode), so a 2xx answered from that future survives kill -9 and power
loss. Each unit of work runs inside its own SAVEPOINT, so one failing caller never takes the
rest of the batch down with it.

Reads use their own connections: WAL readers see the last commit and never block the writer.
Short indexed reads may run on the event loop (`read_now`), which avoids a thread hop on hot
lookups; anything that scans goes through `read` and the reader pool.
"""

from __future__ import annotations

import asyncio
import os
import queue
import sqlite3
import sys
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import structlog
from sqlalchemy import Connection, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.pool import NullPool, StaticPool

log = structlog.get_logger()

T = TypeVar("T")

BUSY_TIMEOUT_MS = 5000

# sqlite3 binds int, float, str and bytes directly, but for any other value (None, and bool,
# which is an int subclass) it first looks for an adapter, and a failed lookup is paid for
# with Python attribute lookups and a formatted error it then discards: about a third of a
# microsecond per value, and a checkout binds some hundred NULLs and booleans. Registered
# adapters that are C callables make the lookup hit and cost next to nothing. Both store what
# sqlite3 stored before (NULL; 0 or 1), and they are process-wide, as sqlite3's adapters are.
sqlite3.register_adapter(type(None), {}.get)  # {}.get(None) is None: bound as NULL
sqlite3.register_adapter(bool, int)


def _configure_sqlite(dbapi_conn: sqlite3.Connection, _record: Any) -> None:
    # SQLAlchemy's pysqlite driver defers BEGIN; with isolation_level=None we issue it
    # ourselves (see the "begin" listener) so SAVEPOINTs and BEGIN IMMEDIATE behave.
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cur.close()


# The store's record holds staff names, sales and hashed credentials: owner-only. SQLite gives
# the -wal and -shm files the main file's mode, so creating it 0600 covers all three.
PRIVATE_FILE_MODE = 0o600


def make_private(path: Path) -> None:
    """Create the database file owner-only before SQLite opens it, and tighten a file (and its
    -wal and -shm companions) that an older release left readable by others."""
    if str(path) == ":memory:" or not path.parent.is_dir():
        return  # nothing to protect yet; SQLite reports a missing directory itself
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE))
    except FileExistsError:
        pass
    for candidate in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        try:
            if candidate.stat().st_mode & 0o077:
                candidate.chmod(PRIVATE_FILE_MODE)
        except FileNotFoundError:
            continue


def make_engine(path: Path, *, writer: bool) -> Engine:
    make_private(path)
    engine = create_engine(
        f"sqlite:///{path}",
        poolclass=StaticPool if writer else NullPool,
        connect_args={"check_same_thread": False},
    )
    event.listen(engine, "connect", _configure_sqlite)

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        # IMMEDIATE takes the write lock at BEGIN, so a batch never fails half-way on
        # SQLITE_BUSY after it has done work. A single-statement read needs no BEGIN at all:
        # one statement is its own snapshot (see Database.read_now).
        if conn.info.get("single_statement"):
            return
        conn.exec_driver_sql("BEGIN IMMEDIATE" if writer else "BEGIN")

    return engine


BACKGROUND_SWITCH_SECONDS = 0.0005  # the GIL switch interval while a background unit runs


class RequestsInFlight:
    """How many HTTP requests the server is answering right now, counted on the event loop by the
    request middleware; background work (an import's chunks) waits for a moment with none.

    A lane's request spends much of its time off the database: Argon2 verifying a PIN on a worker
    thread (tens of ms of a core), the event loop parsing and answering. Counting only the
    database calls, an import's chunk started meanwhile and took the core and the GIL the
    request needed; counted from the request's arrival to its answer, it does not."""

    def __init__(self) -> None:
        self.count = 0
        self._waiters: list[asyncio.Future[None]] = []

    def enter(self) -> None:
        self.count += 1

    def leave(self) -> None:
        self.count -= 1
        if self.count <= 0:
            self.count = 0
            waiters, self._waiters = self._waiters, []
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_result(None)

    async def quiet(self, at_most: float) -> bool:
        """Return once no request is in flight, or after `at_most` seconds (a long request, a
        stream, must not stop the background work for good). True if it had to wait."""
        if self.count <= 0:
            return False
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await asyncio.wait_for(asyncio.shield(waiter), at_most)
        except TimeoutError:
            pass
        finally:
            if waiter in self._waiters:
                self._waiters.remove(waiter)
        return True


class _Job:
    """A unit of work for the writer; `loop` is None for a caller blocked on a thread future."""

    __slots__ = ("background", "fn", "future", "loop")

    def __init__(self, fn: Callable[[Connection], Any], future: asyncio.Future | Future,
                 loop: asyncio.AbstractEventLoop | None, background: bool = False):
        self.fn = fn
        self.future = future
        self.loop = loop
        self.background = background


class Database:
    """Owns the store's SQLite file. `write` runs a unit of work in the writer thread."""

    def __init__(self, path: Path, *, max_batch: int = 64, readers: int = 4):
        self.path = Path(path)
        self.max_batch = max_batch
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._writer_engine = make_engine(self.path, writer=True)
        self._reader_engine = make_engine(self.path, writer=False)
        self._reader_pool = ThreadPoolExecutor(max_workers=readers, thread_name_prefix="db-reader")
        self._thread: threading.Thread | None = None
        self._local = threading.local()
        self._loop_conn: Connection | None = None
        self.commits = 0
        self.units = 0
        # Calls of write, read and read_now: a background job sees from it that requests came.
        self.requests = 0
        self.in_flight = RequestsInFlight()  # HTTP requests being answered (see the middleware)

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run_writer, name="db-writer", daemon=True)
        self._thread.start()

    async def close(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            await asyncio.to_thread(self._thread.join)
            self._thread = None
        if self._loop_conn is not None:
            self._loop_conn.close()
            self._loop_conn = None
        self._reader_pool.shutdown(wait=True)
        self._writer_engine.dispose()
        self._reader_engine.dispose()

    # -- writes ----------------------------------------------------------------------------
    async def write(self, fn: Callable[[Connection], T]) -> T:
        """Run `fn(conn)` in one transaction; resolve only after that transaction commits."""
        if self._thread is None:
            raise RuntimeError("Database.start() was not called")
        self.requests += 1
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._queue.put(_Job(fn, future, loop))
        return await future

    async def write_background(self, fn: Callable[[Connection], T]) -> T:
        """Like `write`, for long background work (an import's chunks): it runs in a transaction
        of its own, and only when no other unit of work is waiting, so a lane's request never
        shares a commit with it nor queues behind more than the one already running."""
        if self._thread is None:
            raise RuntimeError("Database.start() was not called")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._queue.put(_Job(fn, future, loop, background=True))
        return await future

    def write_sync(self, fn: Callable[[Connection], T]) -> T:
        """One transaction, committed, from synchronous code (CLIs, seeding, tests).

        While the writer thread runs, the job goes through its queue: the writer engine has one
        shared connection, and a second thread beginning a transaction on it would collide with
        the writer's batch ("cannot start a transaction within a transaction").
        """
        if self._thread is not None and threading.current_thread() is not self._thread:
            done: Future[T] = Future()
            self._queue.put(_Job(fn, done, None))
            return done.result()
        with self._writer_engine.connect() as conn, conn.begin():
            return fn(conn)

    def _run_writer(self) -> None:
        conn = self._writer_engine.connect()
        waiting: deque[_Job] = deque()  # background units, run when nothing else is queued
        try:
            while True:
                if waiting:
                    try:
                        job = self._queue.get_nowait()
                    except queue.Empty:
                        self._run_background(conn, waiting.popleft())
                        continue
                else:
                    job = self._queue.get()
                batch: list[_Job] = []
                stop = job is None
                while not stop:
                    if job.background:
                        waiting.append(job)
                    else:
                        batch.append(job)
                    if len(batch) >= self.max_batch:
                        break
                    try:
                        job = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    stop = job is None
                if batch:
                    self._run_batch(conn, batch)
                if stop:
                    while waiting:  # closing: answer them rather than leave their callers waiting
                        self._run_batch(conn, [waiting.popleft()])
                    return
        finally:
            conn.close()

    def _run_background(self, conn: Connection, job: _Job) -> None:
        # While this thread runs a long pure-Python unit, the event loop's thread gets the GIL
        # back only when this one is made to drop it: every 5 ms by default, and a request gives
        # it up at each socket or SQLite call, so a lookup took tens of ms. A shorter interval
        # costs the background unit a little and lets the requests through.
        interval = sys.getswitchinterval()
        sys.setswitchinterval(BACKGROUND_SWITCH_SECONDS)
        try:
            self._run_batch(conn, [job])
        finally:
            sys.setswitchinterval(interval)

    def _run_batch(self, conn: Connection, batch: list[_Job]) -> None:
        outcomes: list[tuple[_Job, bool, Any]] = []
        try:
            with conn.begin():
                # The savepoints go straight to the driver: through SQLAlchemy's begin_nested()
                # the pair cost more than a whole checkout's SQL. A unit that opens its own
                # begin_nested() nests inside this one as usual.
                raw = conn.connection.driver_connection
                for job in batch:
                    raw.execute("SAVEPOINT unit")
                    try:
                        result = job.fn(conn)
                    except BaseException as exc:  # the caller gets its own error back
                        raw.execute("ROLLBACK TO unit")
                        raw.execute("RELEASE unit")
                        outcomes.append((job, False, exc))
                    else:
                        raw.execute("RELEASE unit")
                        outcomes.append((job, True, result))
        except BaseException as exc:
            # The COMMIT itself failed (disk full, I/O error): nothing in the batch is durable.
            log.error("db.commit_failed", error=str(exc), batch=len(batch))
            for job in batch:
                _resolve(job, False, exc)
            return
        self.commits += 1
        self.units += len(batch)
        _resolve_all(outcomes)

    # -- reads -----------------------------------------------------------------------------
    async def read(self, fn: Callable[[Connection], T]) -> T:
        self.requests += 1
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._reader_pool, self._read_in_thread, fn)

    def _read_in_thread(self, fn: Callable[[Connection], T]) -> T:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._reader_engine.connect()
            self._local.conn = conn
        with conn.begin():
            return fn(conn)

    def read_now(self, fn: Callable[[Connection], T]) -> T:
        """A short indexed read on the caller's thread (the event loop): one statement, no scans.

        It runs without BEGIN/COMMIT, since a single SELECT already sees one consistent snapshot.
        """
        self.requests += 1
        conn = self._loop_conn
        if conn is None:
            conn = self._loop_conn = self._reader_engine.connect()
            conn.info["single_statement"] = True
        try:
            return fn(conn)
        finally:
            # A Core statement autobegins SQLAlchemy's bookkeeping transaction (no BEGIN reaches
            # SQLite, see make_engine); end it here. A lookup on the driver connection skips both.
            if conn.in_transaction():
                conn.rollback()

    def read_sync(self, fn: Callable[[Connection], T]) -> T:
        with self._reader_engine.connect() as conn, conn.begin():
            return fn(conn)


def _resolve_all(outcomes: list[tuple[_Job, bool, Any]]) -> None:
    """Answer a committed batch's callers: one wake-up per event loop, not one per caller.

    Each `call_soon_threadsafe` writes to the loop's self-pipe (a syscall in the writer and a
    wake-up in the loop); a group commit of sixteen checkouts paid sixteen of each."""
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[_Job, bool, Any]]] = {}
    for outcome in outcomes:
        job = outcome[0]
        if job.loop is None:
            _resolve(*outcome)
        else:
            by_loop.setdefault(job.loop, []).append(outcome)
    for loop, answers in by_loop.items():
        loop.call_soon_threadsafe(_set_all, answers)


def _set_all(answers: list[tuple[_Job, bool, Any]]) -> None:
    for job, ok, value in answers:
        if job.future.done():  # the caller was cancelled (client gone); the change is committed
            continue
        if ok:
            job.future.set_result(value)
        else:
            job.future.set_exception(value)


def _resolve(job: _Job, ok: bool, value: Any) -> None:
    if job.loop is None:  # a write_sync caller: a thread-safe future
        if ok:
            job.future.set_result(value)
        else:
            job.future.set_exception(value)
        return

    def _set() -> None:
        if job.future.done():
            return
        if ok:
            job.future.set_result(value)
        else:
            job.future.set_exception(value)

    job.loop.call_soon_threadsafe(_set)
