"""The cloud's background work: NATS links, aggregate-source sync, ingest, command publishing,
and the transfer sweep. Each loop survives errors and logs them; the API keeps serving even
when NATS is down (readyz says so).

A *link* is one NATS connection with its aggregate stream, ingest consumer and command
publisher:
- no-auth dev mode (`nats_auth_dir` empty): one link for every tenant;
- accounts mode: one link per tenant account, as that account's HQ user. The account is the
  tenant, so the link tells ingest which tenant every message it reads must belong to.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import nats
import structlog
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import BadRequestError
from sqlalchemy import select

from cloud import conflicts, gdpr
from cloud.clock import now_iso, seconds_ago
from cloud.commands import CommandPublisher, command_stream_config
from cloud.customer_keys import CustomerKeys
from cloud.customer_rpc import CustomerRpc
from cloud.db import CloudDB
from cloud.ingest import Ingestor
from cloud.nats_auth import NatsAuth, hq_connect_options
from cloud.partitions import ingest_consumers, nats_servers
from cloud.schema import stores, tenants
from cloud.settings import CloudSettings
from cloud.streams import store_stream_config, sync_aggregate
from edge.contracts.envelope import command_stream_name, inbox_durable, stream_name, subject_for_command
from edge.contracts.link_trouble import LinkTrouble

log = structlog.get_logger()

RETENTION_EVERY_S = 3600.0


class HubLink:
    """One connection to the hub: all tenants (dev mode) or one tenant's account."""

    def __init__(self, tenant_id: str | None, nc: Any, ingestor: Ingestor, db: CloudDB, settings: CloudSettings,
                 trouble: LinkTrouble | None = None):
        self.tenant_id = tenant_id
        self.nc = nc
        self.trouble = trouble or LinkTrouble(log, "cloud.nats", tenant_id=tenant_id)
        self.js = nc.jetstream()
        self.consumers = ingest_consumers(ingestor, self.js, settings, account_tenant=tenant_id)
        self.consumer = self.consumers[0]
        self.publisher = CommandPublisher(db, self.js, replicas=settings.stream_replicas)

    @property
    def connected(self) -> bool:
        return self.nc.is_connected

    async def close(self) -> None:
        for consumer in self.consumers:
            await consumer.stop()
        with contextlib.suppress(Exception):
            await self.nc.close()


class CloudRuntime:
    def __init__(self, db: CloudDB, settings: CloudSettings):
        self.db = db
        self.settings = settings
        self.ingestor = Ingestor(db)
        self.auth = (
            NatsAuth(settings.nats_auth_dir, pid_file=settings.nats_pid_file or None)
            if settings.nats_auth_dir
            else None
        )
        self.links: dict[str | None, HubLink] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._linking = asyncio.Lock()
        self._loop_trouble: dict[str, LinkTrouble] = {}
        self.customer_keys = CustomerKeys.from_settings(settings)
        self.customer_rpc = CustomerRpc(db, self.customer_keys)  # keys and lookups for the stores
        self._retention_next = 0.0

    @property
    def nats_up(self) -> bool:
        if not self.links:
            return self.auth is not None  # accounts mode before the first tenant: nothing to reach
        return all(link.connected for link in self.links.values())

    # Kept for callers that want "the" connection in dev mode (tests, tools).
    @property
    def nc(self) -> Any:
        link = self.links.get(None)
        return link.nc if link else None

    @property
    def js(self) -> Any:
        link = self.links.get(None)
        return link.js if link else None

    async def start(self) -> None:
        self._tasks.append(asyncio.create_task(self._every(self.settings.sweep_interval_s, self.sweep)))
        if not self.settings.nats_url:
            log.warning("cloud.nats_disabled", reason="no --nats-url: ingest and commands are off")
            return
        if self.auth is not None:
            await self.auth.apply(self.db)  # the hub may have been (re)installed with an empty file
        self._tasks.append(asyncio.create_task(self._every(self.settings.aggregate_sync_interval_s, self.reconcile)))
        self._tasks.append(asyncio.create_task(self._every(1.0, self.publish_commands)))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self.customer_rpc.close()
        for link in list(self.links.values()):
            await link.close()
        self.links.clear()

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

    async def reconcile(self) -> None:
        """Links for every account, the accounts file in line with the DB, aggregates in sync."""
        wanted: list[str | None] = [None]
        if self.auth is not None:
            have = set(await self.auth.tenants(self.db))
            for tenant in await self.tenant_ids():  # e.g. the demo seed, or a hub switched to accounts
                if tenant not in have:
                    await self.auth.ensure_tenant_account(self.db, tenant)
            await self.auth.apply(self.db)
            wanted = list(await self.auth.tenants(self.db))
        for tenant in wanted:
            if tenant not in self.links:
                await self.link(tenant)
        for link in list(self.links.values()):
            await self._sync_sources(link)

    async def link(self, tenant_id: str | None) -> HubLink:
        async with self._linking:
            if tenant_id in self.links:
                return self.links[tenant_id]
            options: dict[str, Any] = {}
            if self.auth is not None and tenant_id is not None:
                options = hq_connect_options(self.auth, tenant_id)
            trouble = LinkTrouble(log, "cloud.nats", tenant_id=tenant_id)
            nc = await nats.connect(
                nats_servers(self.settings.nats_url),  # a cluster: any node will do, the client learns the rest
                name=f"novapos-cloud-{tenant_id}" if tenant_id else "novapos-cloud",
                max_reconnect_attempts=-1,
                ping_interval=20,
                max_outstanding_pings=3,
                connect_timeout=5,
                **trouble.callbacks(),  # not nats-py's default: a traceback per retry
                **options,
            )
            link = HubLink(tenant_id, nc, self.ingestor, self.db, self.settings, trouble)
            await self._sync_sources(link)
            for consumer in link.consumers:
                await consumer.start()
            await self.customer_rpc.attach(link)
            self.links[tenant_id] = link
            log.info("cloud.link_up", tenant_id=tenant_id)
            return link

    async def _link_after_reload(self, tenant_id: str, *, within_s: float = 10.0) -> HubLink:
        """A new account's HQ user is admitted once the hub has applied the reload."""
        deadline = asyncio.get_running_loop().time() + within_s
        while True:
            try:
                return await self.link(tenant_id)
            except Exception:
                if asyncio.get_running_loop().time() > deadline:
                    raise
                await asyncio.sleep(0.2)

    async def _sync_sources(self, link: HubLink) -> None:
        leaf: dict[str, str] = {}
        for tenant in [link.tenant_id] if link.tenant_id else await self.tenant_ids():
            async with self.db.tenant(tenant, write=False) as conn:
                rows = await conn.execute(
                    select(stores.c.store_id, stores.c.leaf_domain).where(
                        stores.c.tenant_id == tenant, stores.c.leaf_domain.is_not(None)
                    )
                )
                leaf.update({stream_name(tenant, s): d for s, d in rows})
        await sync_aggregate(link.js, leaf, partitions=self.settings.ingest_partitions,
                             replicas=self.settings.stream_replicas)

    async def provision_store(self, tenant_id: str, store_id: str, *, leaf: bool) -> None:
        """What a store's NATS user may not create itself: its stream on the hub (direct mode)
        and its durable on the tenant's command stream, filtered to its own commands."""
        if not self.settings.nats_url:
            return
        if self.auth is None:
            link = await self.link(None)
        else:
            await self.auth.ensure_tenant_account(self.db, tenant_id)
            link = await self._link_after_reload(tenant_id)
        js = link.js
        with contextlib.suppress(BadRequestError):
            await js.add_stream(command_stream_config(tenant_id, self.settings.stream_replicas))
        if not leaf:
            with contextlib.suppress(BadRequestError):
                await js.add_stream(store_stream_config(tenant_id, store_id, replicas=self.settings.stream_replicas))
        consumer = ConsumerConfig(
            durable_name=inbox_durable(tenant_id, store_id),
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            ack_wait=30.0,
            filter_subjects=[
                subject_for_command(tenant_id, store_id, ">"),
                subject_for_command(tenant_id, None, ">"),
            ],
        )
        with contextlib.suppress(BadRequestError):
            await js.add_consumer(command_stream_name(tenant_id), consumer)
        await self._sync_sources(link)

    async def publish_commands(self) -> None:
        for tenant, link in list(self.links.items()):
            await link.publisher.publish_pending([tenant] if tenant else await self.tenant_ids())

    async def sweep(self) -> None:
        cutoff, now = seconds_ago(self.settings.transfer_timeout_s), now_iso()
        retention = seconds_ago(self.settings.customers_retention_days * 86400.0)
        # Retention is a day-scale rule: once an hour is plenty, and spares big tenants a scan a minute.
        retention_due = asyncio.get_running_loop().time() >= self._retention_next
        if retention_due:
            self._retention_next = asyncio.get_running_loop().time() + RETENTION_EVERY_S
        for tenant in await self.tenant_ids():
            await self.db.write(conflicts.sweep_transfers, tenant, cutoff=cutoff, now=now, tenant_id=tenant)
            if retention_due:
                await self.db.write(gdpr.retention_sweep, tenant, cutoff=retention, now=now, tenant_id=tenant)
