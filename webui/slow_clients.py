"""Connection limits for both servers (`novapos-edge serve`, `novapos-cloud serve`): slow clients
are cut off, and the number of connections is bounded.

uvicorn times out only idle keep-alive connections, and it re-arms that timer on every byte, so a
client that trickles a request one byte at a time holds a connection (and a slot) for as long as
it likes; ASGI middleware cannot help, since it runs only once the headers are complete. The fix
lives in the HTTP protocol itself: `guarded_protocol()` extends uvicorn's httptools protocol with a
deadline for the request's headers (from its first byte, or from the connection's start) and one
for its body (from the end of the headers). When one passes, the client gets `408 Request
Timeout` (if nothing was answered yet) and the connection is closed. Headers larger than
`max_header_bytes` get `431`. Nothing limits how long the *application* takes to answer (a card
payment may wait a minute on the terminal), and WebSockets are left alone once upgraded.

Beyond `max_connections` open connections, uvicorn answers new requests `503 Service
Unavailable` at once (its `limit_concurrency`), so a flood is refused quickly instead of queueing.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import structlog
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

log = structlog.get_logger()


@dataclass(frozen=True)
class ConnectionLimits:
    header_timeout_s: float = 10.0  # the request line and headers, from their first byte
    body_timeout_s: float = 30.0  # the whole body, from the end of the headers
    keep_alive_s: int = 5  # an idle connection between requests
    max_connections: int = 256  # beyond this, new requests are answered 503 at once
    max_header_bytes: int = 64 * 1024  # request line and headers together


def uvicorn_options(limits: ConnectionLimits) -> dict[str, Any]:
    """Keyword arguments for `uvicorn.run` that apply `limits`."""
    return {
        "http": guarded_protocol(limits),
        "timeout_keep_alive": limits.keep_alive_s,
        "limit_concurrency": limits.max_connections,
        "h11_max_incomplete_event_size": limits.max_header_bytes,  # in case h11 is ever chosen
    }


def guarded_protocol(limits: ConnectionLimits) -> type[asyncio.Protocol]:
    return type("GuardedHttpToolsProtocol", (_RequestDeadline, HttpToolsProtocol), {"limits": limits})


_REASONS = {408: b"Request Timeout", 431: b"Request Header Fields Too Large"}


class _RequestDeadline:
    """Mixed in before `HttpToolsProtocol`: the deadline is armed while a request is being
    received (phase "headers" or "body") and disarmed once it is complete.

    The deadline is a time first, and becomes a loop timer only when a chunk of data leaves the
    request unfinished: most requests (a lookup, a checkout) arrive whole in one chunk, and
    starting and cancelling two timers for each of them was pure overhead on the hot path."""

    limits: ConnectionLimits
    _phase: str | None = None
    _deadline = 0.0
    _timer: asyncio.TimerHandle | None = None
    _header_bytes = 0

    def connection_made(self, transport: asyncio.Transport) -> None:
        super().connection_made(transport)  # type: ignore[misc]
        self._expect_headers()
        self._start_timer()  # nothing has arrived yet: the header deadline runs from here

    def data_received(self, data: bytes) -> None:
        cycle = self.cycle  # type: ignore[attr-defined]
        if self._phase is None and (cycle is None or cycle.response_complete):
            self._expect_headers()  # the first byte of the next request on a kept-alive connection
        super().data_received(data)  # type: ignore[misc]
        if self._phase is not None and self._timer is None:
            self._start_timer()  # the request is still incomplete after this chunk
        if self._phase == "headers" and not self.transport.is_closing():  # type: ignore[attr-defined]
            # Still inside the headers after parsing all of `data`: every byte of it was header.
            self._header_bytes += len(data)
            if self._header_bytes > self.limits.max_header_bytes:
                log.warning("http.headers_too_large", client=self._peer(), limit_bytes=self.limits.max_header_bytes)
                self._refuse(431)

    def on_headers_complete(self) -> None:
        self._arm("body", self.limits.body_timeout_s)
        super().on_headers_complete()  # type: ignore[misc]

    def on_message_complete(self) -> None:
        self._disarm()
        super().on_message_complete()  # type: ignore[misc]

    def handle_websocket_upgrade(self) -> None:
        self._disarm()
        super().handle_websocket_upgrade()  # type: ignore[misc]

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)  # type: ignore[misc]

    def _expect_headers(self) -> None:
        self._header_bytes = 0
        self._arm("headers", self.limits.header_timeout_s)

    def _arm(self, phase: str, seconds: float) -> None:
        self._disarm()
        self._phase = phase
        self._deadline = self.loop.time() + seconds  # type: ignore[attr-defined]

    def _start_timer(self) -> None:
        self._timer = self.loop.call_at(self._deadline, self._too_slow)  # type: ignore[attr-defined]

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._phase = None

    def _too_slow(self) -> None:
        phase, self._timer = self._phase, None
        limit = self.limits.header_timeout_s if phase == "headers" else self.limits.body_timeout_s
        log.warning("http.slow_client_closed", client=self._peer(), phase=phase, limit_s=limit)
        self._refuse(408)

    def _refuse(self, status: int) -> None:
        self._disarm()
        transport: asyncio.Transport = self.transport  # type: ignore[attr-defined]
        if transport.is_closing():
            return
        cycle = self.cycle  # type: ignore[attr-defined]
        if cycle is None or not cycle.response_started:
            body = _REASONS[status] + b"\n"
            transport.write(b"HTTP/1.1 %d %s\r\ncontent-type: text/plain; charset=utf-8\r\n"
                            b"content-length: %d\r\nconnection: close\r\n\r\n%s"
                            % (status, _REASONS[status], len(body), body))
        transport.close()

    def _peer(self) -> str:
        client = self.client  # type: ignore[attr-defined]
        return f"{client[0]}:{client[1]}" if client else "?"
