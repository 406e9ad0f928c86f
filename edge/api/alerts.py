"""Live low-stock push: tails `stock.low` outbox events and fans them out to manager sockets.

Reading the outbox (rather than a callback from the writer) means an alert is pushed only
after the change that raised it has committed, and a socket that connects late can ask for
the alerts it missed (`since` = outbox seq).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

import structlog

log = structlog.get_logger()


class LowStockHub:
    def __init__(self, db: Any, *, poll_s: float = 0.5):
        self.db = db
        self.poll_s = poll_s
        self.subscribers: set[asyncio.Queue] = set()
        self.last_seq: int | None = None

    def _tail(self, after: int) -> list[tuple[int, dict[str, Any]]]:
        rows = self.db.read_now(lambda c: c.exec_driver_sql(
            "SELECT seq, envelope FROM outbox WHERE type = 'stock.low' AND seq > ? ORDER BY seq LIMIT 200",
            (after,)).all())
        return [(seq, json.loads(env)) for seq, env in rows]

    def _head(self) -> int:
        return int(self.db.read_now(lambda c: c.exec_driver_sql("SELECT coalesce(max(seq), 0) FROM outbox")
                                    .scalar()) or 0)

    def subscribe(self) -> asyncio.Queue:
        queue: asyncio.Queue = asyncio.Queue(maxsize=1000)
        self.subscribers.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue) -> None:
        self.subscribers.discard(queue)

    def backlog(self, since: int) -> list[dict[str, Any]]:
        return [self.alert(seq, env) for seq, env in self._tail(since)]

    @staticmethod
    def alert(seq: int, envelope: dict[str, Any]) -> dict[str, Any]:
        return {"type": "stock.low", "seq": seq, "at": envelope.get("occurred_at"), **envelope.get("payload", {})}

    async def run(self) -> None:
        self.last_seq = self._head()
        while True:
            await asyncio.sleep(self.poll_s)
            try:
                if self.last_seq is None:
                    self.last_seq = self._head()
                    continue
                if not self.subscribers:
                    self.last_seq = self._head()
                    continue
                for seq, envelope in self._tail(self.last_seq):
                    self.last_seq = seq
                    alert = self.alert(seq, envelope)
                    for queue in list(self.subscribers):
                        with contextlib.suppress(asyncio.QueueFull):
                            queue.put_nowait(alert)
            except Exception:
                log.exception("alerts.poll_failed")
