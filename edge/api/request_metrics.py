"""Per-request HTTP metrics: counted with plain integers on the event loop, turned into
Prometheus samples only when `/metrics` is scraped.

prometheus_client's `Counter.inc` and `Histogram.observe` take a lock per value and walk the
buckets in Python; with the two series every request touches, that was about 7% of a barcode
lookup's CPU (bench_catalog). A store is scraped every few seconds and answers hundreds of
requests a second, so the work moves to the scrape. The metric names, labels and buckets are
the ones the dashboards already read: `novapos_http_requests_total{method,route,status}` and the
histogram `novapos_http_request_seconds{route}`.

Only the event loop's request middleware observes, so no lock is needed; a scrape from another
thread reads copies.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector, CollectorRegistry

BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5)
# A client may send any method token; anything else is counted as "other", so that no client
# can grow the number of series.
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Routes come from the router's templates (or "unmatched"): a fixed set, but bounded anyway.
MAX_SERIES = 4096


class RequestMetrics(Collector):
    def __init__(self) -> None:
        self._requests: dict[tuple[str, str, int], int] = {}
        # route -> [count in bucket 0, …, count above the last bound], and the sum of seconds
        self._buckets: dict[str, list[int]] = {}
        self._sums: dict[str, float] = {}

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method, route, status)
        requests = self._requests
        count = requests.get(key)
        if count is None:
            if method not in KNOWN_METHODS:
                key = ("other", route, status)
            if len(requests) >= MAX_SERIES and key not in requests:
                key = ("other", "other", status)
            count = requests.get(key, 0)
        requests[key] = count + 1
        buckets = self._buckets.get(route)
        if buckets is None:
            if len(self._buckets) >= MAX_SERIES:
                route = "other"
            buckets = self._buckets.setdefault(route, [0] * (len(BUCKETS) + 1))
            self._sums.setdefault(route, 0.0)
        buckets[bisect_left(BUCKETS, seconds)] += 1  # le: the first bound at or above the value
        self._sums[route] += seconds

    def collect(self) -> Iterator[CounterMetricFamily | HistogramMetricFamily]:
        requests = CounterMetricFamily("novapos_http_requests", "HTTP requests by route and status.",
                                       labels=["method", "route", "status"])
        for (method, route, status), count in list(self._requests.items()):
            requests.add_metric([method, route, str(status)], count)
        yield requests
        latency = HistogramMetricFamily("novapos_http_request_seconds", "HTTP request latency.", labels=["route"])
        sums = dict(self._sums)
        for route, counts in list(self._buckets.items()):
            cumulative, running = [], 0
            for bound, count in zip((*map(_bound, BUCKETS), "+Inf"), list(counts), strict=True):
                running += count
                cumulative.append((bound, running))
            latency.add_metric([route], cumulative, sums.get(route, 0.0))
        yield latency

    def register(self, registry: CollectorRegistry) -> RequestMetrics:
        registry.register(self)
        return self


def _bound(value: float) -> str:
    return repr(float(value))  # as prometheus_client writes `le`: "0.001", "1.0"
