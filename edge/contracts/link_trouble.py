"""How a NATS link reports an outage: one structured warning, then reminders with backoff.

While the broker is unreachable, nats-py retries every couple of seconds and reports each
attempt to `error_cb` (its default callback logs a full traceback each time), and the relay,
inbox and ingest loops fail on every pass. A WAN cut of an hour must not bury the store's log:
the first failure logs `<name>.unreachable` with the error, later ones only count, and a
reminder with the count follows after 30 s, 60 s, 120 s ... (at most every 10 minutes). The
first success after that logs `<name>.restored` once.

Shared by the store's relay and inbox and by the cloud hub's runtime and ingest; it takes the
caller's structlog logger, so it imports only the standard library.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

FIRST_REMINDER_S = 30.0
MAX_REMINDER_S = 600.0


def describe(exc: BaseException | None) -> str:
    if exc is None:
        return "disconnected"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


class LinkTrouble:
    def __init__(self, log: Any, name: str, *, clock: Callable[[], float] = time.monotonic,
                 first_reminder_s: float = FIRST_REMINDER_S, max_reminder_s: float = MAX_REMINDER_S,
                 **context: Any):
        self.log = log
        self.name = name
        self.context = context
        self.clock = clock
        self.first_reminder_s = first_reminder_s
        self.max_reminder_s = max_reminder_s
        self.failures = 0
        self.last_error: str | None = None
        self._next_report_at: float | None = None
        self._interval = first_reminder_s

    def report(self, exc: BaseException | None) -> None:
        """A failed attempt: logged at once if it is the first, else counted until the next reminder."""
        now = self.clock()
        self.failures += 1
        self.last_error = describe(exc)
        if self._next_report_at is not None and now < self._next_report_at:
            return
        if self._next_report_at is None:
            self._interval = self.first_reminder_s
        self.log.warning(f"{self.name}.unreachable", error=self.last_error, failures=self.failures,
                         next_report_in_s=round(self._interval), **self.context)
        self._next_report_at = now + self._interval
        self._interval = min(self._interval * 2, self.max_reminder_s)

    def recovered(self) -> None:
        if self.failures:
            self.log.info(f"{self.name}.restored", failures=self.failures, last_error=self.last_error,
                          **self.context)
        self.failures = 0
        self._next_report_at = None

    # nats-py callbacks: pass these to nats.connect so its default traceback logger never runs.
    async def error_cb(self, exc: Exception) -> None:
        self.report(exc)

    async def disconnected_cb(self) -> None:
        self.report(None)

    async def reconnected_cb(self) -> None:
        self.recovered()

    def callbacks(self) -> dict[str, Any]:
        return {"error_cb": self.error_cb, "disconnected_cb": self.disconnected_cb,
                "reconnected_cb": self.reconnected_cb}
