"""Fixtures for the cloud and replication tests: real nats-server processes, real SQLite files,
and the local Postgres when reachable.

Never the system NATS on 4222: every server here is started on a random loopback port with
its own store directory, so fault tests can kill -9 and restart it.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from edge.adapters.db import Database
from edge.adapters.migrations import migrate
from edge.adapters.tables import outbox
from edge.contracts.envelope import EventEnvelope, encode_envelope
from edge.domain.ids import now_iso, uuid7
from tests.support import EdgeServer, free_port


def nats_server_binary() -> str:
    here = Path(sys.executable).parent / "nats-server"
    if here.exists():
        return str(here)
    found = shutil.which("nats-server")
    if not found:
        pytest.skip("nats-server binary not found (.venv/bin or PATH)")
    return found


class NatsServer:
    """One nats-server process with JetStream; `kill9()` and `restart()` keep port and store dir."""

    def __init__(self, store_dir: Path, *, config: str | None = None, port: int | None = None):
        self.store_dir = store_dir
        self.port = port or free_port()
        self.monitor_port = free_port()
        self.config_text = config
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = store_dir.parent / f"nats-{self.port}.log"

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.store_dir.mkdir(parents=True, exist_ok=True)
        args = [nats_server_binary(), "-a", "127.0.0.1", "-p", str(self.port), "-m", str(self.monitor_port)]
        if self.config_text is not None:
            conf = self.store_dir.parent / f"nats-{self.port}.conf"
            conf.write_text(self.config_text)
            args += ["-c", str(conf)]
        else:
            args += ["-js", "-sd", str(self.store_dir)]
        logf = self.log_path.open("ab")
        self.proc = subprocess.Popen(args, stdout=logf, stderr=subprocess.STDOUT)
        self._wait_ready()

    def _wait_ready(self, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"nats-server exited: {self.log_path.read_text()[-2000:]}")
            try:
                r = httpx.get(f"http://127.0.0.1:{self.monitor_port}/healthz?js-enabled-only=true", timeout=0.5)
                if r.status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise RuntimeError("nats-server did not become ready")

    def kill9(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
        self.proc = None

    def restart(self) -> None:
        self.kill9()
        self.start()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.kill9()
        self.proc = None


@pytest.fixture
def nats_server(tmp_path: Path):
    server = NatsServer(tmp_path / "js")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def make_nats(tmp_path: Path):
    started: list[NatsServer] = []

    def _make(name: str, *, config: str | None = None, port: int | None = None) -> NatsServer:
        server = NatsServer(tmp_path / name, config=config, port=port)
        server.start()
        started.append(server)
        return server

    yield _make
    for server in started:
        server.stop()


class EdgeStore:
    """A store's SQLite file with the real migrations; events are written straight to its outbox."""

    def __init__(self, path: Path, tenant_id: str, store_id: str):
        migrate(path)
        self.db = Database(path)
        self.db.start()
        self.tenant_id = tenant_id
        self.store_id = store_id

    def envelope(self, type_: str, payload: dict[str, Any], *, occurred_at: str | None = None) -> dict[str, Any]:
        at = occurred_at or now_iso()
        return {"event_id": uuid7(), "type": type_, "payload": payload, "occurred_at": at}

    async def emit(self, events: list[tuple[str, dict[str, Any]]]) -> list[str]:
        """Append events to the outbox in one transaction, as a sale would; returns their ids."""
        tenant, store = self.tenant_id, self.store_id

        def _write(conn: Any) -> list[str]:
            ids = []
            for type_, payload in events:
                event_id, at = uuid7(), now_iso()
                seq = conn.execute(
                    outbox.insert().values(
                        event_id=event_id,
                        tenant_id=tenant,
                        store_id=store,
                        type=type_,
                        occurred_at=at,
                        envelope="",
                        attempts=0,
                    )
                ).inserted_primary_key[0]
                env = EventEnvelope(
                    event_id=event_id,
                    tenant_id=tenant,
                    store_id=store,
                    seq=seq,
                    type=type_,
                    occurred_at=at,
                    business_day=at[:10],
                    payload=payload,
                )
                conn.execute(outbox.update().where(outbox.c.seq == seq).values(envelope=encode_envelope(env).decode()))
                ids.append(event_id)
            return ids

        return await self.db.write(_write)

    async def pending(self) -> int:
        from sqlalchemy import func, select

        return await self.db.read(
            lambda c: c.execute(select(func.count()).where(outbox.c.sent_at.is_(None))).scalar_one()
        )

    async def close(self) -> None:
        await self.db.close()


@pytest.fixture
async def make_store(tmp_path: Path) -> AsyncIterator[Callable[..., EdgeStore]]:
    stores: list[EdgeStore] = []

    def _make(store_id: str, tenant_id: str = "acme") -> EdgeStore:
        store = EdgeStore(tmp_path / f"edge-{store_id}.db", tenant_id, store_id)
        stores.append(store)
        return store

    yield _make
    for store in stores:
        await store.close()


async def wait_until(predicate: Callable[[], Awaitable[bool]], *, limit: float = 30.0, what: str = "") -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if await predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what or predicate}")


def sale(
    total_cents: int,
    *,
    sku: str = "SKU-1",
    quantity: int = 1,
    location: str = "",
    method: str = "cash",
    order_id: str | None = None,
) -> dict[str, Any]:
    """An order.completed payload with one line, one tender and its stock movement."""
    order_id = order_id or str(uuid.uuid4())
    movement = {
        "id": str(uuid.uuid4()),
        "location_id": location,
        "product_id": sku,
        "sku": sku,
        "kind": "sale",
        "delta": -quantity,
        "ref": order_id,
    }
    return {
        "order_id": order_id,
        "currency": "USD",
        "total_cents": total_cents,
        "lines": [{"sku": sku, "name": sku, "quantity": quantity, "total_cents": total_cents}],
        "tenders": [{"method": method, "amount_cents": total_cents}],
        "movements": [movement] if location else [],
    }


# -- Postgres ---------------------------------------------------------------------------------
PG_URL = os.environ.get("NOVAPOS_TEST_PG_URL", "postgresql://127.0.0.1:5432/test")


_PG_PROBLEM: list[str | None] = []


async def pg_problem() -> str | None:
    """Why the test Postgres is unusable (probed once per run), or None when it is reachable."""
    if not _PG_PROBLEM:
        import asyncpg

        try:
            conn = await asyncpg.connect(PG_URL.replace("postgresql+asyncpg://", "postgresql://"), timeout=3)
            await conn.close()
            _PG_PROBLEM.append(None)
        except Exception as exc:
            _PG_PROBLEM.append(f"{type(exc).__name__}: {exc}")
    return _PG_PROBLEM[0]


async def pg_schema_or_skip() -> str:
    """A fresh schema name on the local Postgres, or a skip saying why there is none: the one
    place that decides whether a Postgres variant runs."""
    problem = await pg_problem()
    if problem:
        pytest.skip(f"Postgres not reachable at {PG_URL} ({problem}); set NOVAPOS_TEST_PG_URL")
    return f"novapos_test_{uuid.uuid4().hex[:10]}"


@pytest.fixture(params=["sqlite", "postgres"])
async def cloud_db(request: pytest.FixtureRequest, tmp_path: Path):
    """A fresh cloud database: a SQLite file, or a unique schema in the local Postgres."""
    from cloud.db import CloudDB
    from cloud.schema import create_schema

    if request.param == "sqlite":
        db = CloudDB(f"sqlite:///{tmp_path / 'cloud.db'}")
        await create_schema(db)
        yield db
        await db.close()
        return
    schema = await pg_schema_or_skip()
    db = CloudDB(PG_URL, schema=schema, app_role="novapos_test_app")
    await create_schema(db)
    try:
        yield db
    finally:
        async with db.engine.begin() as conn:
            await conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        await db.close()


class CloudSide:
    """The cloud's ingest path against a hub: aggregate stream sync + the durable consumer."""

    def __init__(
        self, db: Any, url: str, *, batch: int = 200, ack_wait_s: float = 30.0, aggregate_window_s: float = 120.0
    ):
        self.db = db
        self.url = url
        self.batch = batch
        self.ack_wait_s = ack_wait_s
        self.aggregate_window_s = aggregate_window_s
        self.nc: Any = None
        self.consumer: Any = None
        self.ingestor: Any = None

    async def start(self, leaf_stores: dict[str, str] | None = None) -> None:
        import nats

        from cloud.ingest import IngestConsumer, Ingestor
        from cloud.streams import sync_aggregate

        self.nc = await nats.connect(self.url, max_reconnect_attempts=-1, reconnect_time_wait=0.5)
        js = self.nc.jetstream()
        await sync_aggregate(js, leaf_stores, duplicate_window_s=self.aggregate_window_s)
        self.ingestor = Ingestor(self.db)
        self.consumer = IngestConsumer(
            self.ingestor, js, batch=self.batch, fetch_timeout_s=0.5, ack_wait_s=self.ack_wait_s
        )
        await self.consumer.start()

    async def resync(self, leaf_stores: dict[str, str] | None = None) -> None:
        from cloud.streams import sync_aggregate

        await sync_aggregate(self.nc.jetstream(), leaf_stores)

    async def stop(self) -> None:
        if self.consumer is not None:
            await self.consumer.stop()
        if self.nc is not None:
            await self.nc.close()

    async def event_ids(self, tenant: str = "acme") -> list[str]:
        from sqlalchemy import select

        from cloud.schema import events

        async with self.db.tenant(tenant, write=False) as conn:
            return [r[0] for r in await conn.execute(select(events.c.event_id))]


# -- accounts mode (cloud.nats_auth) ----------------------------------------------------------
class AccountsHub:
    """A hub whose accounts file cloud.nats_auth renders from a cloud DB, reloaded by SIGHUP."""

    def __init__(self, tmp_path: Path, make_nats: Callable[..., NatsServer], db: Any):
        from cloud.leafnode import render_hub_config
        from cloud.nats_auth import NatsAuth

        self.db = db
        self.auth_dir = tmp_path / "nats-auth"
        self.pid_file = tmp_path / "hub.pid"
        self.auth = NatsAuth(self.auth_dir, pid_file=self.pid_file)
        self.port, self.leaf_port = free_port(), free_port()
        # NatsServer writes the config next to the store dir: the include is relative to it.
        self._config = render_hub_config(
            store_dir=str(tmp_path / "hub-js"),
            port=self.port,
            leaf_port=self.leaf_port,
            accounts_include="nats-auth/accounts.conf",
            pid_file=str(self.pid_file),
        )
        self._make_nats = make_nats
        self.server: NatsServer | None = None

    async def start(self) -> AccountsHub:
        await self.auth.apply(self.db)  # the include must exist before the hub starts
        self.server = self._make_nats("hub", config=self._config, port=self.port)
        return self

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def settings(self, db_url: str, **over: Any) -> Any:
        from cloud.settings import CloudSettings

        return CloudSettings(
            db_url=db_url,
            nats_url=self.url,
            nats_auth_dir=str(self.auth_dir),
            nats_pid_file=str(self.pid_file),
            aggregate_sync_interval_s=0.3,
            **over,
        )


@pytest.fixture
async def accounts_hub(tmp_path: Path, make_nats) -> AsyncIterator[AccountsHub]:
    """A real nats-server in accounts mode over a fresh SQLite cloud DB (`hub.db`)."""
    from cloud.db import CloudDB
    from cloud.schema import create_schema

    db = CloudDB(f"sqlite:///{tmp_path / 'cloud.db'}")
    await create_schema(db)
    hub = await AccountsHub(tmp_path, make_nats, db).start()
    yield hub
    await db.close()


# -- store servers joined to a test's nats-server (the pickup end-to-end tests) -------------------
def start_store(data_dir: Path, nats_url: str, store_id: str | None = None) -> EdgeServer:
    env = {"NOVAPOS_NATS_URL": nats_url, **({"NOVAPOS_DEMO_STORE": store_id} if store_id else {})}
    server = EdgeServer(data_dir, free_port(), extra_env=env)
    server.start(timeout=120)
    return server


@pytest.fixture
def store_a(demo_dir: Path, nats_server):
    server = start_store(demo_dir, nats_server.url)
    yield server
    server.stop()


@pytest.fixture
def store_b(tmp_path: Path, nats_server):
    directory = tmp_path / "store-b"
    directory.mkdir()
    server = start_store(directory, nats_server.url, "demo-002")
    yield server
    server.stop()
