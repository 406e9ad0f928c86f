"""A circuit breaker with a timeout, for calls to slow or failing downstreams (partner webhook
endpoints).

closed ──N consecutive failures──► open ──after reset_s──► half-open ──success──► closed
                                     ▲                         │
                                     └────────failure──────────┘

While open, calls fail at once with `CircuitOpen` instead of tying up a worker for the full
timeout on every attempt; a timeout counts as a failure. One breaker per downstream (one per
webhook endpoint), per instance: each instance learns a dead endpoint on its own, which costs
at most N timeouts per instance.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import structlog

log = structlog.get_logger()
T = TypeVar("T")


class CircuitOpen(Exception):
    """The downstream failed repeatedly; calls are refused until `retry_at` (monotonic)."""

    def __init__(self, name: str, retry_in_s: float):
        super().__init__(f"circuit for {name} is open; retry in {retry_in_s:.0f} s")
        self.retry_in_s = retry_in_s


class CircuitBreaker:
    def __init__(self, name: str, *, failures: int, reset_s: float, timeout_s: float,
                 clock: Callable[[], float] = time.monotonic):
        self.name = name
        self.max_failures = failures
        self.reset_s = reset_s
        self.timeout_s = timeout_s
        self.clock = clock
        self.failures = 0
        self.opened_at: float | None = None

    @property
    def state(self) -> str:
        if self.opened_at is None:
            return "closed"
        return "half-open" if self.clock() - self.opened_at >= self.reset_s else "open"

    async def call(self, fn: Callable[[], Awaitable[T]], *, failed: Callable[[T], bool] = lambda _: False) -> T:
        """Run `fn()` within the timeout. `failed(result)` marks a result as a failure (a 5xx)
        without raising, so the caller still sees it."""
        if self.state == "open":
            assert self.opened_at is not None
            raise CircuitOpen(self.name, self.reset_s - (self.clock() - self.opened_at))
        try:
            result = await asyncio.wait_for(fn(), self.timeout_s)
        except Exception:
            self._failure()
            raise
        if failed(result):
            self._failure()
        else:
            self.failures, self.opened_at = 0, None
        return result

    def _failure(self) -> None:
        self.failures += 1
        if self.state == "half-open" or self.failures >= self.max_failures:
            if self.opened_at is None or self.state == "half-open":
                log.warning("breaker.opened", downstream=self.name, failures=self.failures)
            self.opened_at = self.clock()


class Breakers:
    """One breaker per downstream name, made on first use."""

    def __init__(self, *, failures: int, reset_s: float, timeout_s: float):
        self.failures, self.reset_s, self.timeout_s = failures, reset_s, timeout_s
        self._by_name: dict[str, CircuitBreaker] = {}

    def get(self, name: str) -> CircuitBreaker:
        breaker = self._by_name.get(name)
        if breaker is None:
            breaker = self._by_name[name] = CircuitBreaker(name, failures=self.failures, reset_s=self.reset_s,
                                                           timeout_s=self.timeout_s)
        return breaker
