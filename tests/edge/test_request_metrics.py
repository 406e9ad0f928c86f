"""The per-request series read the same on /metrics as prometheus_client's own Counter and
Histogram would write them, and no client can grow their number."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from edge.api.request_metrics import BUCKETS, MAX_SERIES, RequestMetrics

OBSERVED = [("GET", "/api/v1/products", 200, 0.0004), ("GET", "/api/v1/products", 200, 0.001),
            ("GET", "/api/v1/products", 200, 0.0031), ("GET", "/api/v1/products", 401, 3.2),
            ("POST", "/api/v1/orders", 201, 0.02), ("POST", "/api/v1/orders", 201, 0.25)]


def _samples(text: bytes) -> set[str]:
    return {line for line in text.decode().splitlines() if line and not line.startswith("#")
            and "_created" not in line}


def test_scrape_matches_what_prometheus_client_writes_for_the_same_requests():
    ours = CollectorRegistry()
    metrics = RequestMetrics().register(ours)
    reference = CollectorRegistry()
    requests = Counter("novapos_http_requests_total", "HTTP requests by route and status.",
                       ["method", "route", "status"], registry=reference)
    latency = Histogram("novapos_http_request_seconds", "HTTP request latency.", ["route"], registry=reference,
                        buckets=BUCKETS)
    for method, route, status, seconds in OBSERVED:
        metrics.observe(method, route, status, seconds)
        requests.labels(method, route, str(status)).inc()
        latency.labels(route).observe(seconds)

    assert _samples(generate_latest(ours)) == _samples(generate_latest(reference))


def test_unknown_methods_and_a_flood_of_series_stay_bounded():
    registry = CollectorRegistry()
    metrics = RequestMetrics().register(registry)
    for n in range(MAX_SERIES + 50):
        metrics.observe(f"M{n}", "unmatched", 405, 0.001)
        metrics.observe("GET", f"/route/{n}", 200, 0.001)
    scraped = generate_latest(registry).decode()
    assert 'method="M1"' not in scraped and 'method="other",route="unmatched",status="405"' in scraped
    assert scraped.count("novapos_http_requests_total{") <= MAX_SERIES + 1
    assert scraped.count("novapos_http_request_seconds_count{") <= MAX_SERIES + 1
