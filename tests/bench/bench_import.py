"""A 100,000-row catalog import while lanes sign in and sell, against a real store server.

    python tests/bench/bench_import.py [--rows 100000] [--pace 0.2]

Starts `novapos-edge serve --demo` in a temporary directory, posts the CSV, and until the import
job ends, one lane signs in with its PIN and another rings a cash sale, each every `--pace`
seconds. Prints the import's time (validation plus every chunk) and the p50/p99 of the sign-ins
and the sales meanwhile. The aims: the import under 30 s, the lanes' p99 under 100 ms. Figures
only, no asserts: the machine may be busy with other work.
"""

from __future__ import annotations

import argparse
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


def lane_loop(url: str, what: str, stop: threading.Event, pace: float, out: list[float], statuses: dict) -> None:
    with httpx.Client(base_url=url, timeout=120) as http:
        cashier = login(http, "cashier") if what == "sale" else None
        while not stop.is_set():
            started = time.perf_counter()
            if what == "pin":
                response = http.post("/api/v1/auth/pin", json={"lane_id": "2", "pin": "1234"})
            else:
                response = http.post("/api/v1/orders", headers=cashier | {"Idempotency-Key": str(uuid.uuid4())},
                                     json={"lane_id": "1", "lines": [{"sku": "BAK-0007", "quantity": 1}],
                                           "tenders": [{"method": "cash", "amount_cents": 10_000}]})
            out.append((time.perf_counter() - started) * 1000)
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
            stop.wait(pace)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--pace", type=float, default=0.2)
    args = parser.parse_args()
    text = catalog_csv(args.rows)
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "store"
        data.mkdir()
        server = EdgeServer(data, free_port())
        server.start(timeout=60)
        try:
            stop = threading.Event()
            timings: dict[str, list[float]] = {"pin": [], "sale": []}
            statuses: dict[str, dict[int, int]] = {"pin": {}, "sale": {}}
            threads = [threading.Thread(target=lane_loop, args=(server.url, what, stop, args.pace, timings[what],
                                                                 statuses[what])) for what in timings]
            with httpx.Client(base_url=server.url, timeout=600) as http:
                manager = login(http, "manager")
                for thread in threads:
                    thread.start()
                started = time.perf_counter()
                response = http.post("/api/v1/products/import", content=text,
                                     headers=manager | {"Content-Type": "text/csv"})
                accepted = time.perf_counter() - started
                if response.status_code not in (200, 202):
                    raise SystemExit(f"import refused: {response.status_code} {response.text[:300]}")
                job = response.json()
                while response.status_code == 202 and job["status"] == "running":
                    time.sleep(0.5)
                    job = http.get(response.headers["location"], headers=manager).json()
                total = time.perf_counter() - started
            stop.set()
            for thread in threads:
                thread.join()
        finally:
            server.stop()
    print(f"import of {args.rows} rows: {total:.1f} s in all ({accepted:.1f} s to validate and answer), "
          f"status {job.get('status', 'sync')}, created {job.get('created')}, updated {job.get('updated')}")
    for what, values in timings.items():
        print(f"{what:5s} during the import: n={len(values)} p50={statistics.median(values) if values else 0:.1f} ms "
              f"p99={percentile(values, 0.99):.1f} ms max={max(values, default=0):.1f} ms statuses={statuses[what]}")
    print(f"aims: import < 30 s (got {total:.1f} s); lane p99 < 100 ms "
          f"(pin {percentile(timings['pin'], 0.99):.1f} ms, sale {percentile(timings['sale'], 0.99):.1f} ms)")


if __name__ == "__main__":
    main()
