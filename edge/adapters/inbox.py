"""The inbox: HQ commands (catalog, prices, tax, policies, users) applied at the store exactly once.

A durable pull consumer reads the store's down subjects from the tenant's command stream on
the hub. Each command is applied in ONE store transaction together with its `inbox` row
(keyed by `command_id`), and acked only after that commit: a redelivery after a crash finds
the row and is acked without running the handler again.

Handlers are injected: `handlers[command.type](conn, command) -> outcome`. They run inside the
writer's transaction, so they must only touch the database; the outcome ("applied", "stale",
...) is stored with the inbox row. Versions are the handler's business (e.g. ignore a price
older than the one held), because only it knows what the version orders.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import msgspec
import nats
import structlog
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, StorageType, StreamConfig
from nats.js.errors import BadRequestError, NotFoundError
from sqlalchemy import Connection, insert, select

from edge.adapters.db import Database
from edge.adapters.tables import inbox
from edge.contracts.envelope import (
    command_stream_name,
    command_stream_subjects,
    inbox_durable,
    inbox_prefix,
    subject_for_command,
)
from edge.contracts.events import Command, decode_command
from edge.contracts.link_trouble import LinkTrouble
from edge.domain.ids import now_iso

log = structlog.get_logger()

Handler = Callable[[Connection, Command], str]
AfterCommit = Callable[[Command, str], Awaitable[None]]  # (command, outcome), once it is durable

MAX_HANDLER_ATTEMPTS = 3  # a handler that keeps failing is recorded as "failed" and acked


def command_stream_config(tenant_id: str) -> StreamConfig:
    return StreamConfig(
        name=command_stream_name(tenant_id),
        subjects=command_stream_subjects(tenant_id),
        storage=StorageType.FILE,
        duplicate_window=120.0,
        max_age=90 * 86400.0,  # a store offline for weeks still gets every command
    )


@dataclass(frozen=True, kw_only=True)
class InboxConfig:
    nats_url: str
    tenant_id: str
    store_id: str
    hub_domain: str | None = None  # set when the relay talks to a leaf node: the hub's JS domain
    manage_stream: bool = True  # create the command stream if missing (direct-to-hub mode)
    # Create the durable consumer if missing. False when HQ provisions it: a store's NATS user
    # may not create consumers, since the consumer's filter would be the store's to choose.
    manage_consumer: bool = True
    credentials: str | None = None  # the store's nkey seed file (accounts mode), as for the relay
    fetch_batch: int = 50
    fetch_timeout_s: float = 1.0
    retry_wait_s: float = 2.0


class Inbox:
    def __init__(self, db: Database, config: InboxConfig, handlers: dict[str, Handler]):
        self.db = db
        self.config = config
        self.handlers = handlers
        self._nc: Any = None
        self._sub: Any = None
        self._task: asyncio.Task[None] | None = None
        self.applied = 0
        self.last_error: str | None = None
        self._trouble = LinkTrouble(log, "inbox", store_id=config.store_id)
        # In-memory state derived from applied commands (the sales policy) refreshes here, so
        # it never runs ahead of a transaction that might still roll back.
        self.after_commit: list[AfterCommit] = []

    @property
    def durable(self) -> str:
        return inbox_durable(self.config.tenant_id, self.config.store_id)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="command-inbox")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None
        if self._nc is not None:
            with contextlib.suppress(Exception):
                await self._nc.close()
            self._nc = None

    async def _run(self) -> None:
        while True:
            try:
                if self._sub is None:
                    await self._bind()
                await self.poll_once()
                if self._nc is not None and self._nc.is_connected:  # an empty fetch also "succeeds" offline
                    self._trouble.recovered()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                # nats.py pull subscriptions can go stale after a reconnect (#504, #507): rebind.
                self.last_error = f"{type(exc).__name__}: {exc}"
                self._trouble.report(exc)
                self._sub = None
                await asyncio.sleep(self.config.retry_wait_s)

    async def _bind(self) -> None:
        cfg = self.config
        if self._nc is None:
            # Replies come below the store's own prefix, as for the relay.
            auth: dict[str, Any] = {"inbox_prefix": inbox_prefix(cfg.tenant_id, cfg.store_id)}
            if cfg.credentials:
                auth["nkeys_seed"] = cfg.credentials
            self._nc = await nats.connect(
                cfg.nats_url,
                **auth,
                name=f"novapos-inbox-{cfg.store_id}",
                max_reconnect_attempts=-1,
                ping_interval=20,
                max_outstanding_pings=3,
                connect_timeout=5,
                **self._trouble.callbacks(),  # not nats-py's default: a traceback per retry
            )
        js = self._nc.jetstream(domain=cfg.hub_domain) if cfg.hub_domain else self._nc.jetstream()
        stream = command_stream_name(cfg.tenant_id)
        if cfg.manage_stream:
            with contextlib.suppress(BadRequestError):
                await js.add_stream(command_stream_config(cfg.tenant_id))
        consumer = ConsumerConfig(
            durable_name=self.durable,
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            ack_wait=30.0,
            filter_subjects=[
                subject_for_command(cfg.tenant_id, cfg.store_id, ">"),
                subject_for_command(cfg.tenant_id, None, ">"),
            ],
        )
        if cfg.manage_consumer and not await _exists(js, stream, self.durable):
            # Looked up first: where HQ provisioned it, the store's user may read but not create it.
            with contextlib.suppress(BadRequestError):
                await js.add_consumer(stream, consumer)
        self._sub = await js.pull_subscribe_bind(durable=self.durable, stream=stream)
        log.info("inbox.bound", stream=stream, durable=self.durable)

    async def poll_once(self) -> int:
        try:
            msgs = await self._sub.fetch(self.config.fetch_batch, timeout=self.config.fetch_timeout_s)
        except TimeoutError:
            return 0  # empty consumer: by design in nats.py
        for msg in msgs:
            await self._handle(msg)
        return len(msgs)

    async def _handle(self, msg: Any) -> None:
        try:
            command = decode_command(msg.data)
        except msgspec.DecodeError as exc:
            log.error("inbox.undecodable", subject=msg.subject, error=str(exc))
            await msg.term()  # a poison message would otherwise be redelivered forever
            return
        try:
            outcome = await self.db.write(lambda conn: self.apply(conn, command))
        except Exception as exc:
            attempts = msg.metadata.num_delivered if msg.metadata else 1
            if attempts < MAX_HANDLER_ATTEMPTS:
                await msg.nak(delay=self.config.retry_wait_s)
                return
            detail = f"{type(exc).__name__}: {exc}"
            outcome = await self.db.write(lambda conn: _record(conn, command, "failed", detail))
            log.error("inbox.command_failed", command_id=command.command_id, type=command.type, error=detail)
        await msg.ack()
        if outcome != "duplicate":
            self.applied += 1
        log.info("inbox.command", command_id=command.command_id, type=command.type, outcome=outcome)
        for hook in self.after_commit:
            try:
                await hook(command, outcome)
            except Exception:  # the command is applied and acked; a reader refreshes on its own loop too
                log.exception("inbox.after_commit_failed", command_id=command.command_id)

    def apply(self, conn: Connection, command: Command) -> str:
        """Apply once: runs in the writer's transaction; the inbox row commits with the effect."""
        seen = conn.execute(select(inbox.c.command_id).where(inbox.c.command_id == command.command_id))
        if seen.first() is not None:
            return "duplicate"
        cfg = self.config
        if command.tenant_id != cfg.tenant_id or command.store_id not in (None, cfg.store_id):
            return _record(conn, command, "rejected", "addressed to another tenant or store")
        handler = self.handlers.get(command.type)
        if handler is None:
            return _record(conn, command, "ignored", f"no handler for {command.type}")
        outcome = handler(conn, command) or "applied"
        return _record(conn, command, outcome, None)


async def _exists(js: Any, stream: str, durable: str) -> bool:
    try:
        await js.consumer_info(stream, durable)
        return True
    except NotFoundError:
        return False


def _record(conn: Connection, command: Command, outcome: str, detail: str | None) -> str:
    at = now_iso()
    conn.execute(
        insert(inbox).values(
            command_id=command.command_id,
            tenant_id=command.tenant_id,
            type=command.type,
            version=command.version,
            received_at=at,
            applied_at=at if outcome not in ("failed", "rejected") else None,
            outcome=outcome,
            detail=detail,
        )
    )
    return outcome
