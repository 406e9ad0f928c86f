"""`novapos-edge relay`: only the outbox relay and the command inbox, as their own process.

For a box where the relay runs as its own systemd unit. It shares the store database with the
server: WAL lets both open it, and the relay's writes (marking rows sent, applying commands)
are small and wait on `busy_timeout` rather than failing.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal

import structlog

from edge.adapters.migrations import migrate
from edge.adapters.replication import start_replication, stop_replication
from edge.settings import ConfigError, Settings

log = structlog.get_logger()


def run_relay(settings: Settings) -> int:
    if not settings.sync.nats_url:
        raise ConfigError("config error: sync.nats_url: the relay needs a NATS URL "
                          '(example: nats_url = "nats://127.0.0.1:4222")')
    return asyncio.run(_main(settings))


async def _main(settings: Settings) -> int:
    from edge.bootstrap import build_services

    migrate(settings.db_path)
    services = build_services(settings)
    services.db.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await start_replication(services)
    log.info("relay.running", store=settings.store.store_id)
    try:
        await stop.wait()
    finally:
        await stop_replication(services)
        await services.db.close()
    return 0
