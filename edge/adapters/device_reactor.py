"""Device reactions to committed sales: print the receipt, open the drawer, show the total.

The reactor tails the outbox, so a device acts only on a sale that has committed, and a
printer, drawer or display can never slow down, block or fail a checkout. Its position is
the outbox `seq` kept in `sync_state` ("device_reactor"), written after the reactions, so a
crash in between repeats a reaction rather than losing it.

A receipt that cannot print is journaled by the hub as failed (reprint from the jobs API), the
lane hears `printer_failed`, and a `device.alert` event records it for the store. Which sales
the devices react to, and which open the drawer, are the domain's rules
(`edge.domain.lane_devices`); the clock that judges a sale stale is the unit of work's.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import structlog
from sqlalchemy import Connection, select
from sqlalchemy.dialects.sqlite import insert

from edge.adapters import tables as t
from edge.adapters.receipts_escpos import render_escpos
from edge.domain.ids import iso
from edge.domain.lane_devices import CompletedSale, NoReaction, opens_drawer, why_devices_stay_idle
from edge.service.ports import Actor
from edge.service.receipts import money, receipt_view, record_print
from hardware.errors import HardwareError, UnknownLane

log = structlog.get_logger()

CURSOR = "device_reactor"
REACTS_TO = ("order.completed",)
FINAL_JOB_STATES = ("printed", "failed")
SKIP_SAVE_EVERY_S = 5.0


class _Tender(msgspec.Struct):
    method: str = ""


class SaleCompleted(msgspec.Struct):
    """What the devices need of an `order.completed` payload (the rest is ignored)."""

    order_id: str = ""
    lane_id: str | None = None
    tenders: list[_Tender] = []
    offline_created_at: str | None = None
    currency: str = ""
    total_cents: int = 0
    change_due_cents: int = 0


class _Envelope(msgspec.Struct):
    payload: SaleCompleted
    occurred_at: str | None = None


_decode_envelope = msgspec.json.Decoder(_Envelope).decode


class DeviceReactor:
    def __init__(self, services: Any, hub: Any, *, poll_s: float = 0.1, stale_after_s: float = 300.0,
                 batch: int = 100, follow_s: float = 60.0) -> None:
        self.services = services
        self.hub = hub
        self.poll_s = poll_s
        self.stale_after_s = stale_after_s
        self.batch = batch
        self.follow_s = follow_s  # how long to watch a receipt still queued when print_receipt returned
        cfg = services.settings.store
        self.actor = Actor.system(cfg.tenant_id, cfg.store_id, "device-reactor")
        self.cursor: int | None = None
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._followers: set[asyncio.Task[None]] = set()
        self._saved_at = 0.0
        self._saved_seq: int | None = None

    # --- the loop ---
    def start(self) -> None:
        self._task = asyncio.create_task(self.run(), name="device reactor")

    async def run(self) -> None:
        while not self._stopping.is_set():
            try:
                handled = await self.step()
            except Exception:  # a device hiccup must never stop later receipts
                log.exception("device_reactor.failed")
                handled = 0
                await asyncio.sleep(1.0)
            if not handled:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), self.poll_s)

    async def stop(self, grace_s: float = 10.0) -> None:
        """Finish the sales in hand and save the position, so a restart does not react to
        them again; cancel only a step that outlives `grace_s` (a hung device)."""
        self._stopping.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._task), grace_s)
            except TimeoutError:
                self._task.cancel()
                await asyncio.gather(self._task, return_exceptions=True)
        for task in list(self._followers):
            task.cancel()
        await asyncio.gather(*self._followers, return_exceptions=True)
        if self.cursor is not None and self.cursor != self._saved_seq:
            with contextlib.suppress(Exception):  # shutting down: a lost skip only means a re-read
                await self._save(self.cursor)

    async def step(self) -> int:
        """One pass: react to the next committed events; returns how many it handled."""
        db = self.services.db
        if self.cursor is None:
            self.cursor = await db.read(_load_cursor)
            if self.cursor is None:  # first start: react from now on, never to the store's history
                self.cursor = await db.read(_head)
                await self._save(self.cursor)
        head, rows = await db.read(lambda c, after=self.cursor: _events_after(c, after, self.batch))
        if not rows:
            if head > self.cursor:  # nothing for us in between: skip ahead
                self.cursor = head
                # Saved now and then only: losing a skip re-reads rows we ignore anyway.
                if asyncio.get_running_loop().time() - self._saved_at > SKIP_SAVE_EVERY_S:
                    await self._save(head)
            return 0
        by_lane: dict[str, list[SaleCompleted]] = {}
        now = self.services.uow.clock()
        for _seq, envelope in rows:
            sale = completed_sale(envelope.payload, envelope.occurred_at)
            if self._should_react(sale, now) and sale.lane_id:
                by_lane.setdefault(sale.lane_id, []).append(envelope.payload)
        # Lanes react side by side; within one lane, sales react in the order they completed.
        await asyncio.gather(*(self._react_lane(lane, envelopes) for lane, envelopes in by_lane.items()))
        last = rows[-1][0] if len(rows) == self.batch else max(head, rows[-1][0])
        self.cursor = last
        await self._save(last)
        return len(rows)

    async def _save(self, seq: int) -> None:
        await self.services.db.write(lambda c: _save_cursor(c, seq))
        self._saved_at, self._saved_seq = asyncio.get_running_loop().time(), seq

    def _should_react(self, sale: CompletedSale, now: datetime) -> bool:
        reason = why_devices_stay_idle(sale, now=now, stale_after=timedelta(seconds=self.stale_after_s))
        if reason is NoReaction.OFFLINE_REPLAY:
            log.info("device_reactor.skipped", reason=reason.value, order_id=sale.order_id)
        elif reason is NoReaction.STALE and sale.completed_at is not None:
            log.info("device_reactor.skipped", reason=reason.value, order_id=sale.order_id,
                     age_s=round((now - sale.completed_at).total_seconds()))
        return reason is None

    # --- reactions ---
    async def _react_lane(self, lane_id: str, sales: list[SaleCompleted]) -> None:
        kinds = await self._lane_kinds(lane_id)
        for sale in sales:
            try:
                await self.react(lane_id, sale, kinds)
            except Exception:  # one bad sale must not hold back the next one's receipt
                log.exception("device_reactor.reaction_failed", lane_id=lane_id, order_id=sale.order_id)

    async def react(self, lane_id: str, sale: SaleCompleted, kinds: set[str]) -> None:
        order_id = sale.order_id
        if "drawer" in kinds and opens_drawer(completed_sale(sale)):
            kicked = await self._device_call(self.hub.kick_drawer(lane_id))
            if kicked is not None and not kicked.ok:
                log.warning("drawer.kick_failed", lane_id=lane_id, order_id=order_id, detail=kicked.detail)
        if "display" in kinds:
            await self._device_call(self.hub.show_on_display(lane_id, *_display_lines(sale)))
        if "printer" not in kinds:
            return
        data = render_escpos(await self.services.uow.read(self.actor, lambda u: receipt_view(u, order_id)))
        try:
            job = await self.hub.print_receipt(lane_id, data, ref=order_id)
        except HardwareError as err:  # a remote hub that is down journals nothing: say so all the same
            await self.raise_alert(lane_id, order_id, None, reason=f"hub unreachable: {err}")
            return
        if job.status == "failed":
            await self.raise_alert(lane_id, order_id, job)
            return
        # The paper is the original receipt: count it, so any later print says COPY. (A job
        # that failed is not counted: its reprint resends these same bytes.)
        await self.services.uow.run(self.actor, lambda u: record_print(u, order_id, source="lane_printer"))
        if job.status not in FINAL_JOB_STATES:  # the printer is slow: keep an eye on the job
            task = asyncio.create_task(self._follow(lane_id, order_id, job.id))
            self._followers.add(task)
            task.add_done_callback(self._followers.discard)

    async def raise_alert(self, lane_id: str, order_id: str, job: Any, reason: str = "") -> None:
        """The lane already heard `printer_failed` from the hub; this records the fact for the
        store (admin pages, HQ) with what a manager needs to act on it. Without a journaled
        job there is nothing to reprint from the hub, but the order's receipt can still be
        printed or sent from `GET /api/v1/orders/{id}/receipt`."""
        payload = {"kind": "printer_failed", "lane_id": lane_id, "order_id": order_id,
                   "job_id": job.id if job else None, "device_id": job.printer_id if job else None,
                   "reason": job.reason if job else reason, "reprint": job is not None}
        await self.services.uow.run(self.actor, lambda u: u.emit("device.alert", payload))
        log.warning("receipt.not_printed", lane_id=lane_id, order_id=order_id, job_id=payload["job_id"],
                    reason=payload["reason"])

    async def _follow(self, lane_id: str, order_id: str, job_id: str) -> None:
        deadline = asyncio.get_running_loop().time() + self.follow_s
        while asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(1.0)
            with contextlib.suppress(HardwareError):
                job = next((j for j in await self.hub.jobs(200) if j.id == job_id), None)
                if job is None or job.status == "printed":
                    return
                if job.status == "failed":
                    await self.raise_alert(lane_id, order_id, job)
                    return

    async def _lane_kinds(self, lane_id: str) -> set[str]:
        try:
            return {d.kind for d in await self.hub.devices() if d.lane_id == lane_id}
        except HardwareError as err:  # remote hub down: try everything, the hub answers per device
            log.warning("device_reactor.no_device_list", error=str(err))
            return {"printer", "drawer", "display"}

    @staticmethod
    async def _device_call(call: Any) -> Any:
        try:
            return await call
        except UnknownLane:
            return None
        except HardwareError as err:
            log.warning("device_reactor.device_error", error=str(err))
            return None


def completed_sale(payload: SaleCompleted, occurred_at: str | None = None) -> CompletedSale:
    """The device rules' view of an `order.completed` payload read from the outbox."""
    try:
        completed_at: datetime | None = datetime.fromisoformat(occurred_at) if occurred_at else None
    except (TypeError, ValueError):
        completed_at = None
    if completed_at is not None and completed_at.tzinfo is None:
        completed_at = None  # an age against a guessed zone would be a guess too
    return CompletedSale(order_id=payload.order_id, lane_id=payload.lane_id or None,
                         tender_methods=frozenset(t.method for t in payload.tenders),
                         offline_created_at=payload.offline_created_at or None, completed_at=completed_at)


def _display_lines(sale: SaleCompleted) -> tuple[str, str]:
    total = f"TOTAL {sale.currency} {money(sale.total_cents)}".strip()
    change = sale.change_due_cents
    return total, (f"CHANGE {money(change)}" if change else "Thank you!")


# --- the cursor and the outbox, in SQL ---
def _head(conn: Connection) -> int:
    return int(conn.exec_driver_sql("SELECT coalesce(max(seq), 0) FROM outbox").scalar() or 0)


def _load_cursor(conn: Connection) -> int | None:
    row = conn.execute(select(t.sync_state.c.value).where(t.sync_state.c.name == CURSOR)).first()
    return int(row[0]["seq"]) if row is not None else None


def _save_cursor(conn: Connection, seq: int) -> None:
    now = iso(datetime.now(UTC))
    conn.execute(insert(t.sync_state).values(name=CURSOR, value={"seq": seq}, updated_at=now)
                 .on_conflict_do_update(index_elements=["name"], set_={"value": {"seq": seq}, "updated_at": now}))


def _events_after(conn: Connection, after: int, limit: int) -> tuple[int, list[tuple[int, _Envelope]]]:
    """The head and the next events we react to, from one snapshot: every seq up to that head
    has committed (one writer), so skipping to it never jumps over a late commit."""
    head = _head(conn)
    marks = ",".join("?" * len(REACTS_TO))
    rows = conn.exec_driver_sql(
        f"SELECT seq, envelope FROM outbox WHERE seq > ? AND seq <= ? AND type IN ({marks}) "  # noqa: S608 (constant)
        "ORDER BY seq LIMIT ?", (after, head, *REACTS_TO, limit)).all()
    return head, [(seq, _read(seq, envelope)) for seq, envelope in rows]


def _read(seq: int, envelope: str) -> _Envelope:
    try:
        return _decode_envelope(envelope)
    except msgspec.DecodeError as err:  # not a sale the devices can act on: kept in line, it names no lane
        log.warning("device_reactor.unreadable_event", seq=seq, error=str(err))
        return _Envelope(payload=SaleCompleted())
