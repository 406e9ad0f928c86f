"""A small closed-loop HTTP/1.1 load generator for the benchmarks.

Each of N clients keeps one keep-alive connection and sends its next request when the previous
answer arrives. It is plain asyncio streams, so the generator's own CPU cost per request is
small next to the servers', and every server in a run is driven by the same code.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from dataclasses import dataclass, field


@dataclass
class LoadResult:
    requests: int = 0
    errors: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    latencies_ms: list[float] = field(default_factory=list)
    seconds: float = 0.0
    warmup_requests: int = 0  # answered during the warm-up, not counted in the figures
    _sorted: list[float] | None = field(default=None, repr=False)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def pct(self, p: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        if self._sorted is None or len(self._sorted) != len(self.latencies_ms):
            self._sorted = sorted(self.latencies_ms)
        data = self._sorted
        return data[min(len(data) - 1, int(len(data) * p / 100))]

    def summary(self) -> str:
        return (f"{self.rps:8.0f} req/s  p50 {self.pct(50):6.2f} ms  p95 {self.pct(95):6.2f} ms  "
                f"p99 {self.pct(99):6.2f} ms  errors {self.errors}  statuses {self.statuses}")


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    length = 0
    for line in lines[1:]:
        if line[:15].lower() == b"content-length:":
            length = int(line[15:].strip())
    if length:
        await reader.readexactly(length)
    return status


async def run_load(host: str, port: int, requests: list[bytes], *, concurrency: int, duration_s: float,
                   warmup_s: float = 1.0, distinct: bool = False) -> LoadResult:
    """Send `requests` (raw HTTP/1.1 bytes, cycled) for `duration_s` after a warm-up.

    distinct=True gives each client its own slice (client n sends n, n+N, n+2N, ...), so no two
    clients send the same request: needed when each request carries its own Idempotency-Key."""
    step = concurrency if distinct else 1
    result = LoadResult()
    start = time.perf_counter()
    measure_from = start + warmup_s
    stop_at = measure_from + duration_s

    async def client(n: int) -> None:
        reader, writer = await asyncio.open_connection(host, port)
        i = n
        try:
            while True:
                now = time.perf_counter()
                if now >= stop_at:
                    return
                writer.write(requests[i % len(requests)])
                i += step
                try:
                    status = await _read_response(reader)
                except (asyncio.IncompleteReadError, ConnectionError):
                    result.errors += 1
                    writer.close()
                    reader, writer = await asyncio.open_connection(host, port)
                    continue
                done = time.perf_counter()
                if now >= measure_from:
                    result.requests += 1
                    result.statuses[status] = result.statuses.get(status, 0) + 1
                    result.latencies_ms.append((done - now) * 1000)
                else:
                    result.warmup_requests += 1
        finally:
            writer.close()

    await asyncio.gather(*[client(n) for n in range(concurrency)])
    result.seconds = duration_s
    return result


def http_request(method: str, path: str, *, host: str = "127.0.0.1", headers: dict[str, str] | None = None,
                 body: bytes = b"") -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", "Connection: keep-alive"]
    for key, value in (headers or {}).items():
        lines.append(f"{key}: {value}")
    if body or method in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")
