"""The outbox relay: publishes the store's outbox to NATS JetStream, in `seq` order
(ARCHITECTURE.md, "Replication").

Delivery argument, in one place:
- every row is published with `Nats-Msg-Id = event_id`, so JetStream drops a re-publish
  inside its duplicate window, and the cloud drops one outside it (`ON CONFLICT (event_id)`);
- a row is marked sent only after its PubAck, in a committed write; a crash between the
  PubAck and that write only causes a re-publish of the same id, never a loss;
- a publish whose PubAck does not come in time has an unknown outcome: the row stays unsent and is
  re-published with the same id on the next pass;
- `pending_size=0` makes publishes fail fast while disconnected instead of parking in the
  client's reconnect buffer, which nats-py would replay blindly after the request timed out;
- `max_reconnect_attempts=-1` and a 20 s x 3 ping: the defaults give up after ~2 minutes of
  WAN outage and notice a dead link only after minutes.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import nats
import structlog
from nats.js.api import DiscardPolicy, StorageType, StreamConfig
from nats.js.errors import BadRequestError, NotFoundError
from sqlalchemy import Connection, func, select, update

from edge.adapters.db import Database
from edge.adapters.pub_acks import Outgoing, PubAckWindows
from edge.adapters.tables import outbox
from edge.contracts.envelope import inbox_prefix, legacy_stream_name, stream_name, subject_for_event
from edge.contracts.link_trouble import LinkTrouble
from edge.domain.ids import now_iso

log = structlog.get_logger()

RECENT_ERRORS = 20


@dataclass(frozen=True, kw_only=True)
class RelayConfig:
    nats_url: str
    tenant_id: str
    store_id: str
    in_flight: int = 256  # PubAcks awaited at once: ~5x the serial throughput (bench_replication.py)
    batch: int = 1000  # rows read per pass
    ack_timeout_s: float = 5.0
    idle_poll_s: float = 0.25  # the edge may call `Relay.notify()` to skip the wait
    # False when the stream is managed elsewhere (a leaf-node config, or HQ provisioning).
    manage_stream: bool = True
    duplicate_window_s: float = 120.0
    max_age_s: float = 30 * 86400.0  # longer than any expected WAN outage
    ping_interval_s: int = 20
    max_outstanding_pings: int = 3
    reconnect_wait_s: float = 2.0
    # The store's own NATS user (an nkey seed file) when the hub enforces accounts; None in
    # the no-auth dev mode and behind a local leaf node (the leaf link carries it instead).
    credentials: str | None = None


@dataclass(kw_only=True)
class RelayStatus:
    outbox_pending: int
    oldest_pending_age_s: float | None
    last_ack_at: str | None
    link: str  # "up" | "down" | "disabled"
    recent_errors: list[dict[str, str]] = field(default_factory=list)


def stream_config(
    tenant_id: str, store_id: str, *, duplicate_window_s: float = 120.0, max_age_s: float = 30 * 86400.0
) -> StreamConfig:
    """The store stream. `discard: new` refuses new events when full instead of dropping old
    unreplicated ones; the relay then keeps them in the outbox and retries."""
    return StreamConfig(
        name=stream_name(tenant_id, store_id),
        subjects=[subject_for_event(tenant_id, store_id, ">")],
        storage=StorageType.FILE,
        discard=DiscardPolicy.NEW,
        duplicate_window=duplicate_window_s,
        max_age=max_age_s,
    )


async def ensure_stream(js: Any, config: StreamConfig, *, store_id: str | None = None) -> None:
    try:
        await js.add_stream(config)
    except BadRequestError:
        # Exists with other settings (e.g. a changed duplicate window): bring it in line.
        try:
            await js.update_stream(config)
        except NotFoundError:
            # The subjects are held by the stream's pre-tenant name (NOVAPOS_<STORE>): keep
            # publishing into it, so its history stays where the hub already sources it.
            if store_id is None:
                raise
            legacy = legacy_stream_name(store_id)
            await js.stream_info(legacy)
            log.warning("relay.legacy_stream", stream=legacy, wanted=config.name)


class Relay:
    """Publishes unsent outbox rows. `start()`/`stop()` run it as a background task."""

    def __init__(self, db: Database, config: RelayConfig, *, connect: Callable[..., Any] = nats.connect):
        self.db = db
        self.config = config
        self._connect = connect
        self._nc: Any = None
        self._js: Any = None
        self._windows: PubAckWindows | None = None
        self._subjects: dict[tuple[str, str, str], str] = {}  # (tenant, store, type) -> up subject
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._stopping = False
        self.last_ack_at: str | None = None
        self.recent_errors: deque[dict[str, str]] = deque(maxlen=RECENT_ERRORS)
        self._trouble = LinkTrouble(log, "relay", store_id=config.store_id)
        self.published = 0

    # -- lifecycle -------------------------------------------------------------------------
    async def start(self) -> None:
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name="outbox-relay")

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None
        await self._close()

    def notify(self) -> None:
        """Called after a commit that wrote outbox rows: publish now rather than at the next poll."""
        self._wake.set()

    @property
    def link(self) -> str:
        return "up" if self._nc is not None and self._nc.is_connected else "down"

    # -- loop ------------------------------------------------------------------------------
    async def _run(self) -> None:
        backoff = self.config.reconnect_wait_s
        while not self._stopping:
            try:
                if self._js is None:
                    await self._open()
                    backoff = self.config.reconnect_wait_s
                sent = await self.publish_pending()
                if sent == 0:
                    self._wake.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), self.config.idle_poll_s)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._record_error("relay.loop", exc)
                if self._nc is None or self._nc.is_closed:
                    await self._close()
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 30.0)

    async def _open(self) -> None:
        cfg = self.config

        async def _disconnected() -> None:
            self._trouble.report(None)

        async def _reconnected() -> None:
            self._trouble.recovered()
            self._wake.set()

        async def _error(exc: Exception) -> None:
            self._record_error("relay.nats", exc)

        # Replies come below the store's own prefix: its NATS user (or its leaf link) may
        # receive nothing else.
        auth: dict[str, Any] = {"inbox_prefix": inbox_prefix(cfg.tenant_id, cfg.store_id)}
        if cfg.credentials:
            auth["nkeys_seed"] = cfg.credentials
        self._nc = await self._connect(
            cfg.nats_url,
            **auth,
            name=f"novapos-relay-{cfg.store_id}",
            max_reconnect_attempts=-1,
            reconnect_time_wait=cfg.reconnect_wait_s,
            ping_interval=cfg.ping_interval_s,
            max_outstanding_pings=cfg.max_outstanding_pings,
            pending_size=0,
            connect_timeout=5,
            disconnected_cb=_disconnected,
            reconnected_cb=_reconnected,
            error_cb=_error,
        )
        # The PubAck subscription first: `_run` takes a set `_js` as "connected".
        windows = PubAckWindows(self._nc)
        await windows.open()
        self._windows = windows
        self._js = self._nc.jetstream()
        if cfg.manage_stream:
            await ensure_stream(
                self._js,
                stream_config(
                    cfg.tenant_id,
                    cfg.store_id,
                    duplicate_window_s=cfg.duplicate_window_s,
                    max_age_s=cfg.max_age_s,
                ),
                store_id=cfg.store_id,
            )
        log.info("relay.connected", url=cfg.nats_url, store_id=cfg.store_id)
        self._trouble.recovered()

    async def _close(self) -> None:
        nc, self._nc, self._js, self._windows = self._nc, None, None, None
        if nc is not None:
            with contextlib.suppress(Exception):
                await nc.close()

    # -- publishing ------------------------------------------------------------------------
    async def publish_pending(self) -> int:
        """Publish one pass of unsent rows, oldest first; returns how many were acknowledged."""
        rows = await self.db.read(lambda conn: _unsent(conn, self.config.batch))
        acked_total = 0
        window = self.config.in_flight
        for start in range(0, len(rows), window):
            chunk = rows[start : start + window]
            acked, failed = await self._publish_window(chunk)
            if acked:
                await self._mark_sent(acked)
                acked_total += len(acked)
            if failed:
                await self.db.write(lambda conn, f=failed: _record_failures(conn, f))
                # Stop this pass: later rows would overtake the failed ones in the stream.
                break
        return acked_total

    async def _publish_window(self, rows: list[Any]) -> tuple[list[int], dict[int, str]]:
        windows = self._windows
        if windows is None:
            raise ConnectionError("relay is not connected")
        window = [Outgoing(row.seq, self._subject(row), row.envelope.encode(), row.event_id) for row in rows]
        # A PubAck still missing at the deadline counts as an unknown outcome (edge.adapters.pub_acks).
        acked, failed = await windows.publish(window, self.config.ack_timeout_s)
        if failed:
            first = min(failed)
            self._record_error("relay.publish", RuntimeError(f"seq {first}: {failed[first]}"))
        return acked, failed

    def _subject(self, row: Any) -> str:
        key = (row.tenant_id, row.store_id, row.type)
        subject = self._subjects.get(key)
        if subject is None:
            if len(self._subjects) > 1024:  # a store's event types are few; bounded all the same
                self._subjects.clear()
            subject = self._subjects[key] = subject_for_event(*key)
        return subject

    async def _mark_sent(self, seqs: list[int]) -> None:
        at = now_iso()
        await self.db.write(
            lambda conn: conn.execute(
                update(outbox)
                .where(outbox.c.seq.in_(seqs))
                .values(sent_at=at, attempts=outbox.c.attempts + 1, last_error=None)
            )
        )
        self.last_ack_at = at
        self.published += len(seqs)
        log.debug("relay.acked", count=len(seqs), last_seq=max(seqs))

    def _record_error(self, where: str, exc: BaseException) -> None:
        message = _describe(exc)
        self.recent_errors.append({"at": now_iso(), "where": where, "error": message})
        self._trouble.report(exc)  # one warning per outage, then reminders: not one per retry

    def status_fields(self) -> dict[str, Any]:
        return {"last_ack_at": self.last_ack_at, "link": self.link, "recent_errors": list(self.recent_errors)}


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _unsent(conn: Connection, limit: int) -> list[Any]:
    query = (
        select(
            outbox.c.seq,
            outbox.c.event_id,
            outbox.c.tenant_id,
            outbox.c.store_id,
            outbox.c.type,
            outbox.c.envelope,
        )
        .where(outbox.c.sent_at.is_(None))
        .order_by(outbox.c.seq)
        .limit(limit)
    )
    return list(conn.execute(query))


def _record_failures(conn: Connection, failed: dict[int, str]) -> None:
    for seq, error in failed.items():
        conn.execute(
            update(outbox)
            .where(outbox.c.seq == seq)
            .values(attempts=outbox.c.attempts + 1, last_error=error[:500])
        )


def pending_count(conn: Connection) -> tuple[int, str | None]:
    row = conn.execute(
        select(func.count(), func.min(outbox.c.occurred_at)).where(outbox.c.sent_at.is_(None))
    ).one()
    return int(row[0]), row[1]
