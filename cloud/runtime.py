"""The cloud's background work: NATS link, aggregate-source sync, ingest, command publishing,
and the transfer sweep. Each loop survives errors and logs them; the API keeps serving even
when NATS is down (readyz says so)."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import nats
import structlog
from sqlalchemy import select

from cloud import conflicts
from cloud.clock import now_iso, seconds_ago
from cloud.commands import CommandPublisher
from cloud.db import CloudDB
from cloud.ingest import IngestConsumer, Ingestor
from cloud.schema import stores, tenants
from cloud.settings import CloudSettings
from cloud.streams import sync_aggregate
from edge.contracts.envelope import stream_name
from edge.contracts.link_trouble import LinkTrouble

log = structlog.get_logger()


class CloudRuntime:
    def __init__(self, db: CloudDB, settings: CloudSettings):
        self.db = db
        self.settings = settings
        self.nc: Any = None
        self.js: Any = None
        self.ingestor = Ingestor(db)
        self.consumer: IngestConsumer | None = None
        self.publisher: CommandPublisher | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._link = LinkTrouble(log, "cloud.nats")
        self._loop_trouble: dict[str, LinkTrouble] = {}

    @property
    def nats_up(self) -> bool:
        return self.nc is not None and self.nc.is_connected

    async def start(self) -> None:
        self._tasks.append(asyncio.create_task(self._every(self.settings.sweep_interval_s, self.sweep)))
        if not self.settings.nats_url:
            log.warning("cloud.nats_disabled", reason="no --nats-url: ingest and commands are off")
            return
        self._tasks.append(asyncio.create_task(self._connect_then_run()))

    async def stop(self) -> None:
        if self.consumer:
            await self.consumer.stop()
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self.nc is not None:
            with contextlib.suppress(Exception):
                await self.nc.close()

    async def _connect_then_run(self) -> None:
        while self.nc is None:
            try:
                self.nc = await nats.connect(
                    self.settings.nats_url,
                    name="novapos-cloud",
                    max_reconnect_attempts=-1,
                    ping_interval=20,
                    max_outstanding_pings=3,
                    **self._link.callbacks(),  # not nats-py's default: a traceback per retry
                )
            except Exception as exc:
                self._link.report(exc)
                await asyncio.sleep(2.0)
        self._link.recovered()
        self.js = self.nc.jetstream()
        await self._sync_sources()
        self.consumer = IngestConsumer(self.ingestor, self.js, batch=self.settings.ingest_batch)
        await self.consumer.start()
        self.publisher = CommandPublisher(self.db, self.js)
        self._tasks.append(
            asyncio.create_task(self._every(self.settings.aggregate_sync_interval_s, self._sync_sources))
        )
        self._tasks.append(asyncio.create_task(self._every(1.0, self.publish_commands)))

    async def _every(self, interval: float, fn: Any) -> None:
        trouble = self._loop_trouble.setdefault(fn.__name__, LinkTrouble(log, "cloud.loop", loop=fn.__name__))
        while True:
            try:
                await fn()
                trouble.recovered()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                trouble.report(exc)  # one warning, then reminders: a NATS outage fails every pass
            await asyncio.sleep(interval)

    async def tenant_ids(self) -> list[str]:
        async with self.db.system(write=False) as conn:
            return [r[0] for r in await conn.execute(select(tenants.c.id))]

    async def _sync_sources(self) -> None:
        leaf: dict[str, str] = {}
        for tenant in await self.tenant_ids():
            async with self.db.tenant(tenant, write=False) as conn:
                rows = await conn.execute(
                    select(stores.c.store_id, stores.c.leaf_domain).where(
                        stores.c.tenant_id == tenant, stores.c.leaf_domain.is_not(None)
                    )
                )
                leaf.update({stream_name(s): d for s, d in rows})
        await sync_aggregate(self.js, leaf)

    async def publish_commands(self) -> None:
        if self.publisher is not None:
            await self.publisher.publish_pending(await self.tenant_ids())

    async def sweep(self) -> None:
        cutoff, now = seconds_ago(self.settings.transfer_timeout_s), now_iso()
        for tenant in await self.tenant_ids():
            await self.db.write(conflicts.sweep_transfers, tenant, cutoff=cutoff, now=now, tenant_id=tenant)
