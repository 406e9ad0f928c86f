"""Customers in the running process: the key cache, the channel to HQ, the directory the routes
use, and the sweep that escrows keys to HQ and keeps the cache bounded.

The key cache is `<data_dir>/keys.sqlite` (see `edge.adapters.customer_keys`); the channel exists
only when `sync.nats_url` is set. The demo store has no HQ: it mints its own tenant key and seeds
two demo customers, sealed like any other.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import msgspec
import structlog

from edge.adapters.customer_keys import key_cache_for, key_cache_of_database
from edge.adapters.hq_channel import HqChannel, HqChannelConfig
from edge.contracts.loyalty import LoyaltyProgram
from edge.domain.errors import Conflict
from edge.service import customers as cases
from edge.service.customer_directory import CustomerDirectory
from edge.service.ports import Actor

log = structlog.get_logger()

KEY = "customers"


class DemoCustomer(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    email: str | None = None
    phone: str | None = None
    consents: Any = None


DEMO_CUSTOMERS = [
    DemoCustomer(name="Ada Lovelace", email="ada@example.org", phone="+1 415 555 0100"),
    DemoCustomer(name="Grace Hopper", email="grace@example.org", phone="+1 415 555 0199"),
]


def _vault_of(uow: Any) -> Any:
    return key_cache_of_database(uow.conn.engine.url.database)


def _program(services: Any) -> LoyaltyProgram:
    sales = (services.extras or {}).get("sales")
    return sales.policy_in_force.document.loyalty if sales is not None else LoyaltyProgram()


async def start_customers(services: Any) -> None:
    settings = services.settings
    cfg, store = settings.customers, settings.store
    vault = key_cache_for(settings.data_dir, cfg.kek_file)
    cases.vault_of = _vault_of
    hq = None
    if settings.sync.nats_url:
        hq = HqChannel(HqChannelConfig(nats_url=settings.sync.nats_url, tenant_id=store.tenant_id,
                                       store_id=store.store_id, credentials=settings.sync.credentials or None,
                                       timeout_s=cfg.hq_timeout_s))
        await hq.start()
        await hq.wait_connected(min(cfg.hq_timeout_s, 3.0))
    directory = CustomerDirectory(services.uow, vault, hq, tenant_id=store.tenant_id, store_id=store.store_id,
                                  region=cfg.region, cache_max=cfg.cache_max, cache_days=cfg.cache_days,
                                  program=lambda: _program(services))
    services.extras[KEY] = directory
    services.extras["customers_hq"] = hq
    demo = settings.demo
    if await directory.ensure_tenant_key() and demo:
        demo = not await _seed_demo(directory)
    services.extras["customers_sweep"] = asyncio.create_task(_sweep(directory, cfg.escrow_interval_s, demo),
                                                             name="customers-sweep")


async def _seed_demo(directory: CustomerDirectory) -> bool:
    """The demo customers, once the store has its tenant key; True when they are there."""
    if directory.vault.tenant_keys(directory.tenant_id) is None:
        return False
    actor = Actor.system(directory.tenant_id, directory.store_id, "demo-seed")
    for demo in DEMO_CUSTOMERS:
        with contextlib.suppress(Conflict):  # seeded on an earlier start
            await directory.uow.run(actor, lambda u, d=demo: cases.create_customer(
                u, directory.vault, d, region=directory.region))
    return True


async def _sweep(directory: CustomerDirectory, every_s: float, seed_demo: bool) -> None:
    while True:
        try:
            if seed_demo:
                seed_demo = not await _seed_demo(directory)
            await directory.sweep()
        except asyncio.CancelledError:
            raise
        except Exception:  # a background loop must keep going
            log.exception("customers.sweep_failed")
        await asyncio.sleep(every_s)


async def stop_customers(services: Any) -> None:
    extras = services.extras or {}
    task = extras.pop("customers_sweep", None)
    if task is not None:
        task.cancel()
        with contextlib.suppress(BaseException):
            await task
    hq = extras.pop("customers_hq", None)
    if hq is not None:
        await hq.stop()
