"""A broker outage gives one structured warning per link, then reminders with backoff: not a
traceback per reconnect attempt in the store's or HQ's log."""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path

import pytest
import structlog
from conftest import wait_until

from edge.adapters.inbox import Inbox, InboxConfig
from edge.adapters.relay import Relay, RelayConfig
from edge.contracts.link_trouble import LinkTrouble


def _warnings(logged: list[dict]) -> Counter:
    return Counter(e["event"] for e in logged if e["log_level"] == "warning")


def _nats_tracebacks(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name.startswith("nats") or r.exc_info]


async def test_a_stopped_broker_gives_the_store_one_warning_per_link(nats_server, make_store, caplog):
    store = make_store("s1")
    relay = Relay(store.db, RelayConfig(nats_url=nats_server.url, tenant_id="acme", store_id="s1",
                                        reconnect_wait_s=0.1, idle_poll_s=0.05))
    inbox = Inbox(store.db, InboxConfig(nats_url=nats_server.url, tenant_id="acme", store_id="s1",
                                        retry_wait_s=0.1, fetch_timeout_s=0.2), handlers={})
    with structlog.testing.capture_logs() as logged:
        await relay.start()
        await inbox.start()
        try:
            await wait_until(lambda: _linked(relay, inbox), what="relay and inbox connected")
            nats_server.kill9()
            # Many failed attempts on both links: nats-py retries, the loops fail on every pass.
            await wait_until(lambda: _failing(relay, inbox, 4), what="repeated failures")
            assert _warnings(logged) == {"relay.unreachable": 1, "inbox.unreachable": 1}
            unreachable = next(e for e in logged if e["event"] == "relay.unreachable")
            assert unreachable["store_id"] == "s1" and unreachable["error"]
            nats_server.start()
            await wait_until(lambda: _restored(logged), what="relay.restored logged")
        finally:
            await relay.stop()
            await inbox.stop()
    assert _nats_tracebacks(caplog) == []


async def test_hq_loses_its_broker_with_one_warning_per_link(nats_server, tmp_path: Path, caplog):
    from cloud.db import CloudDB
    from cloud.runtime import CloudRuntime
    from cloud.schema import create_schema
    from cloud.settings import CloudSettings

    db = CloudDB(f"sqlite:///{tmp_path / 'cloud.db'}")
    await create_schema(db)
    runtime = CloudRuntime(db, CloudSettings(nats_url=nats_server.url, aggregate_sync_interval_s=0.1))
    with structlog.testing.capture_logs() as logged:
        await runtime.start()
        try:
            await wait_until(lambda: _cloud_up(runtime), what="cloud connected and ingesting")
            nats_server.kill9()
            await wait_until(lambda: _cloud_failing(runtime, 4), what="repeated failures")
            per_link = Counter((e["event"], e.get("loop")) for e in logged if e["log_level"] == "warning")
            assert per_link[("cloud.nats.unreachable", None)] == 1
            assert all(count == 1 for count in per_link.values()), per_link  # one per link or loop
        finally:
            await runtime.stop()
            await db.close()
    assert _nats_tracebacks(caplog) == []


def test_reminders_back_off_and_recovery_is_said_once():
    now = [0.0]
    logged = []

    class Log:
        def warning(self, event, **kw):
            logged.append((now[0], event, kw["failures"]))

        def info(self, event, **kw):
            logged.append((now[0], event, kw["failures"]))

    trouble = LinkTrouble(Log(), "relay", clock=lambda: now[0])
    for second in range(0, 200):  # a retry every second for 200 s
        now[0] = float(second)
        trouble.report(ConnectionRefusedError("refused"))
    trouble.recovered()
    assert logged == [(0.0, "relay.unreachable", 1), (30.0, "relay.unreachable", 31),
                      (90.0, "relay.unreachable", 91), (199.0, "relay.restored", 200)]


async def _linked(relay: Relay, inbox: Inbox) -> bool:
    return relay.link == "up" and inbox._sub is not None


async def _failing(relay: Relay, inbox: Inbox, n: int) -> bool:
    return relay._trouble.failures >= n and inbox._trouble.failures >= n


async def _restored(logged: list[dict]) -> bool:
    return any(e["event"] == "relay.restored" for e in logged)


async def _cloud_up(runtime) -> bool:
    link = runtime.links.get(None)
    return runtime.nats_up and link is not None and link.consumer._sub is not None


async def _cloud_failing(runtime, n: int) -> bool:
    return runtime.links[None].trouble.failures >= n  # nats-py's reconnect attempts (the loops may fail too)
