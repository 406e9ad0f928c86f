"""The cloud database: SQLAlchemy Core on SQLite (default) or Postgres (production).

Writes are sync Core functions `fn(conn, *args)` handed to `CloudDB.write`, so the same code
runs on both engines:
- SQLite: one writer thread owns one connection (`BEGIN IMMEDIATE`, WAL, `synchronous=FULL`),
  as on the store (edge.adapters.db): every cloud write funnels through it, so writers never
  contend for SQLite's one lock and each statement is a plain sqlite3 call instead of an
  aiosqlite thread hop (~40 µs each). Readers use the async engine concurrently.
- Postgres: the function runs on an async connection through `run_sync`.
- Postgres: tenant isolation by row-level security. Every tenant transaction switches to the
  non-owner application role (`SET LOCAL ROLE`) and sets `app.tenant_id` with
  `set_config(..., true)`, so the setting dies with the transaction and a pooled connection
  can never leak one tenant's scope into another's request. The owner role (used for DDL and
  for the global tables: tenants, users, tokens) is never used for tenant data.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import structlog
from sqlalchemy import Connection, create_engine, event, text
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import StaticPool

log = structlog.get_logger()

DEFAULT_APP_ROLE = "novapos_app"

T = TypeVar("T")


def async_url(url: str) -> str:
    if url.startswith("sqlite:///"):
        return "sqlite+aiosqlite:///" + url[len("sqlite:///") :]
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql+asyncpg://" + url.split("://", 1)[1]
    return url


class CloudDB:
    def __init__(self, url: str, *, schema: str | None = None, app_role: str = DEFAULT_APP_ROLE):
        self.url = async_url(url)
        self.is_postgres = self.url.startswith("postgresql")
        self.schema = schema
        self.app_role = app_role
        self._write_lock = asyncio.Lock()
        kwargs: dict[str, Any] = {}
        if self.is_postgres:
            settings = {"search_path": schema} if schema else {}
            kwargs = {"connect_args": {"server_settings": settings}, "pool_size": 5, "max_overflow": 5}
        self.engine: AsyncEngine = create_async_engine(self.url, **kwargs)
        self._writer_engine: Engine | None = None
        self._writer: ThreadPoolExecutor | None = None
        if not self.is_postgres:
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
            self._writer_engine = _sqlite_writer_engine(self.url)
            self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cloud-db-writer")

    async def close(self) -> None:
        if self._writer is not None:
            await asyncio.to_thread(self._writer.shutdown, wait=True)
            self._writer = None
        if self._writer_engine is not None:
            self._writer_engine.dispose()
        await self.engine.dispose()

    async def write(
        self, fn: Callable[..., T], *args: Any, tenant_id: str | None = None, system: bool = False, **kwargs: Any
    ) -> T:
        """Run `fn(conn, *args, **kwargs)` in one transaction; return only after it committed.

        `system=True` runs as the owner role (global tables). Otherwise the transaction runs as
        the RLS-bound app role, scoped to `tenant_id`; a function that spans tenants (ingest)
        switches scope itself with `set_tenant(conn, tenant)` before touching each tenant's rows.
        """
        call = functools.partial(fn, **kwargs) if kwargs else fn
        if self.is_postgres:
            ctx = self.system() if system else self._app_tx(tenant_id)
            async with ctx as conn:
                return await conn.run_sync(call, *args)
        async with self._write_lock:  # also orders writer-thread work against `tenant(write=True)`
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._writer, self._write_in_thread, call, args)

    def _write_in_thread(self, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        assert self._writer_engine is not None
        with self._writer_engine.connect() as conn, conn.begin():
            return fn(conn, *args)

    @contextlib.asynccontextmanager
    async def _app_tx(self, tenant_id: str | None) -> AsyncIterator[AsyncConnection]:
        async with self.engine.begin() as conn:
            if self.is_postgres:
                await conn.execute(text(f'SET LOCAL ROLE "{self.app_role}"'))
            if self.is_postgres and tenant_id is not None:
                await conn.execute(text("SELECT set_config('app.tenant_id', :t, true)"), {"t": tenant_id})
            yield conn

    @contextlib.asynccontextmanager
    async def tenant(self, tenant_id: str, *, write: bool = True) -> AsyncIterator[AsyncConnection]:
        """One transaction scoped to `tenant_id` (RLS on Postgres). Commits on normal exit."""
        async with self._maybe_lock(write), self._app_tx(tenant_id) as conn:
            yield conn

    @contextlib.asynccontextmanager
    async def system(self, *, write: bool = True) -> AsyncIterator[AsyncConnection]:
        """A transaction on the global tables (tenants, users, tokens) as the owner role."""
        async with self._maybe_lock(write), self.engine.begin() as conn:
            yield conn

    @contextlib.asynccontextmanager
    async def _maybe_lock(self, write: bool) -> AsyncIterator[None]:
        # SQLite has one write lock; taking it in-process avoids SQLITE_BUSY retries.
        if write and not self.is_postgres:
            async with self._write_lock:
                yield
        else:
            yield

    async def ping(self) -> bool:
        try:
            async with self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
            return True
        except Exception as exc:
            log.warning("db.unreachable", error=str(exc))
            return False


def set_tenant(conn: Connection, tenant_id: str) -> None:
    """Scope the rest of this transaction to `tenant_id` (RLS on Postgres; nothing on SQLite)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT set_config('app.tenant_id', :t, true)"), {"t": tenant_id})


def _sqlite_writer_engine(async_url_: str) -> Engine:
    engine = create_engine(
        async_url_.replace("sqlite+aiosqlite://", "sqlite://", 1),
        poolclass=StaticPool,
        connect_args={"check_same_thread": False},
    )

    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves (below)
        _sqlite_pragmas(dbapi_conn, record)

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        # IMMEDIATE takes the write lock up front: a batch never fails half-way on SQLITE_BUSY.
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA busy_timeout=5000")
    cur.close()
