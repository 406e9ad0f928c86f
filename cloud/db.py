"""The cloud database: SQLAlchemy Core on SQLite (default) or Postgres (production).

- SQLite: one writer at a time (an asyncio lock around write transactions), WAL and
  `synchronous=FULL`, as on the store; readers run concurrently.
- Postgres: tenant isolation by row-level security. Every tenant transaction switches to the
  non-owner application role (`SET LOCAL ROLE`) and sets `app.tenant_id` with
  `set_config(..., true)`, so the setting dies with the transaction and a pooled connection
  can never leak one tenant's scope into another's request. The owner role (used for DDL and
  for the global tables: tenants, users, tokens) is never used for tenant data.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import structlog
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

log = structlog.get_logger()

DEFAULT_APP_ROLE = "novapos_app"


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
        if not self.is_postgres:
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)

    async def close(self) -> None:
        await self.engine.dispose()

    @contextlib.asynccontextmanager
    async def tenant(self, tenant_id: str, *, write: bool = True) -> AsyncIterator[AsyncConnection]:
        """One transaction scoped to `tenant_id` (RLS on Postgres). Commits on normal exit."""
        async with self._maybe_lock(write), self.engine.begin() as conn:
            if self.is_postgres:
                await conn.execute(text(f'SET LOCAL ROLE "{self.app_role}"'))
                await conn.execute(text("SELECT set_config('app.tenant_id', :t, true)"), {"t": tenant_id})
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


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA busy_timeout=5000")
    cur.close()
