"""A 100,000-row catalog import while lanes sign in and sell, against a real store server.

    python tests/bench/bench_import.py [--rows 100000] [--pace 0.2] [--idle 15]

Starts `novapos-edge serve --demo` in a temporary directory. First, for `--idle` seconds, one lane
signs in with its PIN, one looks a barcode up and one rings a cash sale, each every `--pace`
seconds: the baseline, on the idle server, in the same run. Then it posts the CSV and the same
three lanes go on until the import job ends. Prints the import's time (validation plus every
chunk), its rows/s, and each request's p50/p99 during the import against the idle baseline. The
aims: the import under 30 s, the lanes' p99 under 100 ms. Figures only, no asserts: the machine
may be busy with other work.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from edge.domain.catalog import ean13
from tests.support import EdgeServer, free_port, login


def catalog_csv(rows: int) -> str:
    lines = ["sku,name,price_cents,tax_category,barcodes,active\n"]
    lines += [f"BIG-{n:06d},Bench product {n},{100 + n % 5000},standard,{ean13(f'8{n:011d}')},true\n"
              for n in range(rows)]
    return "".join(lines)


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


LANES = ("pin", "lookup", "sale")


def lane_loop(url: str, what: str, stop: threading.Event, pace: float, out: list[float], starts: list[float],
              statuses: dict) -> None:
    with httpx.Client(base_url=url, timeout=120) as http:
        cashier = login(http, "cashier") if what != "pin" else {}
        barcode, skus = "", ["BAK-0007"]
        if what == "sale":
            # Each product has 50-200 in stock: a sale rotates over the catalog so none runs out.
            items = http.get("/api/v1/products?limit=100", headers=cashier).json()["items"]
            skus = [p["sku"] for p in items if not p["sold_by_weight"]] or skus
        if what == "lookup":
            barcode = http.get("/api/v1/products?sku=BAK-0007", headers=cashier).json()["items"][0]["barcodes"][0]
        while not stop.is_set():
            started = time.perf_counter()
            if what == "pin":
                response = http.post("/api/v1/auth/pin", json={"lane_id": "2", "pin": "1234"})
            elif what == "lookup":
                response = http.get(f"/api/v1/products?barcode={barcode}", headers=cashier)
            else:
                response = http.post("/api/v1/orders", headers=cashier | {"Idempotency-Key": str(uuid.uuid4())},
                                     json={"lane_id": "1", "lines": [{"sku": skus[len(out) % len(skus)], "quantity": 1}],
                                           "tenders": [{"method": "cash", "amount_cents": 10_000}]})
            out.append((time.perf_counter() - started) * 1000)
            starts.append(started)
            status = str(response.status_code)
            if response.status_code >= 400:  # which problem, so a refused request is told from a slow one
                status += " " + str(response.json().get("type", "")).rsplit("/", 1)[-1]
            statuses[status] = statuses.get(status, 0) + 1
            stop.wait(pace)


class Lanes:
    """The three lanes' loops, running until `stop()`."""

    def __init__(self, url: str, pace: float):
        self.stopped = threading.Event()
        self.timings: dict[str, list[float]] = {what: [] for what in LANES}
        self.starts: dict[str, list[float]] = {what: [] for what in LANES}  # perf_counter() of each request
        self.statuses: dict[str, dict[str, int]] = {what: {} for what in LANES}
        self.threads = [threading.Thread(target=lane_loop, args=(url, what, self.stopped, pace, self.timings[what], self.starts[what],
                                                                 self.statuses[what])) for what in LANES]
        for thread in self.threads:
            thread.start()

    def forget(self) -> None:
        for values in (*self.timings.values(), *self.starts.values()):
            values.clear()

    def between(self, what: str, start: float, end: float) -> list[float]:
        """The timings of the requests that started in [start, end)."""
        return [ms for ms, at in zip(self.timings[what], self.starts[what], strict=False) if start <= at < end]

    def stop(self) -> None:
        self.stopped.set()
        for thread in self.threads:
            thread.join()


def server_cpu(pid: int) -> float:
    """CPU seconds of the server process (all its threads, and the validation children it has
    reaped): what a request or the import costs the store box, whatever else the machine runs."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def summary(values: list[float]) -> str:
    return (f"n={len(values):4d} p50={statistics.median(values) if values else 0:6.1f} ms "
            f"p99={percentile(values, 0.99):6.1f} ms max={max(values, default=0):6.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--pace", type=float, default=0.2)
    parser.add_argument("--idle", type=float, default=15.0, help="seconds of lane requests on the idle server")
    args = parser.parse_args()
    text = catalog_csv(args.rows)
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "store"
        data.mkdir()
        server = EdgeServer(data, free_port())
        server.start(timeout=60)
        try:
            assert server.proc is not None
            cpu_before = server_cpu(server.proc.pid)
            idle = Lanes(server.url, args.pace)
            time.sleep(args.idle)
            idle.stop()
            idle_cpu = server_cpu(server.proc.pid) - cpu_before
            with httpx.Client(base_url=server.url, timeout=600) as http:
                manager = login(http, "manager")
                busy = Lanes(server.url, args.pace)
                time.sleep(1)  # the lanes signed in (Argon2: CPU) before the file arrives, and not counted
                busy.forget()
                cpu_before = server_cpu(server.proc.pid)
                started = time.perf_counter()
                response = http.post("/api/v1/products/import", content=text,
                                     headers=manager | {"Content-Type": "text/csv"})
                answered = time.perf_counter()
                accepted = answered - started
                if response.status_code not in (200, 202):
                    busy.stop()
                    raise SystemExit(f"import refused: {response.status_code} {response.text[:300]}")
                job = response.json()
                while response.status_code == 202 and job["status"] == "running":
                    time.sleep(0.2)
                    job = http.get(response.headers["location"], headers=manager).json()
                total = time.perf_counter() - started
                import_cpu = server_cpu(server.proc.pid) - cpu_before
            busy.stop()
        finally:
            server.stop()
    print(f"import of {args.rows} rows: {total:.1f} s in all ({accepted:.1f} s to validate and answer), "
          f"{args.rows / total:.0f} rows/s, status {job.get('status', 'sync')}, created {job.get('created')}, "
          f"updated {job.get('updated')}, errors {job.get('errors')}")
    idle_requests = sum(len(idle.timings[w]) for w in LANES)
    print(f"server CPU: idle {1000 * idle_cpu / max(1, idle_requests):.1f} ms per lane request "
          f"({idle_requests} requests); import {import_cpu:.1f} s with its lanes (validation child included)")
    for what in LANES:
        during, before = busy.timings[what], idle.timings[what]
        ratio = percentile(during, 0.99) / percentile(before, 0.99) if before and during else float("nan")
        print(f"{what:6s} idle:   {summary(before)} statuses={idle.statuses[what]}")
        print(f"{what:6s} import: {summary(during)} statuses={busy.statuses[what]}  p99 x{ratio:.1f} idle")
        print(f"{what:6s}  while validating: {summary(busy.between(what, started, answered))}")
        print(f"{what:6s}  while applying:   {summary(busy.between(what, answered, started + total))}")
    worst = max(percentile(busy.timings[w], 0.99) for w in LANES)
    print(f"aims: import < 30 s (got {total:.1f} s); lane p99 < 100 ms during the import (worst {worst:.1f} ms)")


if __name__ == "__main__":
    main()
