"""Barcode lookup in a 100,000-product catalog against a bare Litestar endpoint, same run.

    python tests/bench/bench_catalog.py [--products 100000] [--seconds 10]

Both servers run as one uvicorn worker on this machine; one load generator drives both with the
same closed loop at 1, 4, 16 and 64 concurrent clients. The figures that matter (issue 15) are
the ratio of requests/s at 16 clients (aim: at least 60%) and the lookup's p95 (aim: under 5 ms)
at 1 and 16 clients; the SUMMARY line states both. Each row also shows the server's own
CPU time per request, read from /proc, which stays meaningful when other work shares the box.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.bench.loadgen import http_request, run_load
from tests.support import free_port

BIN = Path(sys.executable).parent
HERE = Path(__file__).resolve().parent
CLIENTS = (1, 4, 16, 64)
RATIO_AT, RATIO_AIM, P95_AIM_MS = 16, 0.60, 5.0


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process so far (Linux /proc; NaN elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_ready(url: str, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited early ({url})")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise SystemExit(f"server not ready: {url}")


def start_edge(data_dir: Path, port: int) -> subprocess.Popen:
    proc = subprocess.Popen([str(BIN / "novapos-edge"), "serve", "--demo", "--data-dir", str(data_dir),
                             "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "NOVAPOS_LOG_FORMAT": "json", "NOVAPOS_HARDWARE_MODE": "off"})
    wait_ready(f"http://127.0.0.1:{port}/readyz", proc)
    return proc


def grow_catalog(db_path: Path, total: int) -> list[str]:
    """Add products straight into SQLite up to `total` (the API would take minutes for 100k)."""
    from edge.domain.catalog import ean13
    from edge.domain.ids import now_iso, uuid7

    conn = sqlite3.connect(db_path)
    existing = conn.execute("SELECT count(*) FROM products").fetchone()[0]
    now = now_iso()
    version = conn.execute("SELECT version FROM catalog_versions WHERE tenant_id='demo'").fetchone()[0]
    products, codes = [], []
    for n in range(existing, total):
        pid = uuid7()
        version += 1
        products.append((pid, "demo", f"BENCH-{n:06d}", f"Bench product {n}", 100 + n % 5000, "standard", 1, "{}",
                         0, 5, version, now, now))
        codes.append(("demo", ean13(f"3{n:011d}"), pid))
    conn.executemany("INSERT INTO products (id, tenant_id, sku, name, price_cents, tax_category, active, attributes,"
                     " sold_by_weight, low_stock_threshold, version, created_at, updated_at)"
                     " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", products)
    conn.executemany("INSERT INTO product_barcodes (tenant_id, barcode, product_id) VALUES (?,?,?)", codes)
    conn.execute("UPDATE catalog_versions SET version=? WHERE tenant_id='demo'", (version,))
    conn.commit()
    barcodes = [row[0] for row in conn.execute("SELECT barcode FROM product_barcodes")]
    conn.close()
    return barcodes


async def measure(port: int, requests: list[bytes], concurrency: int, seconds: float):
    return await run_load("127.0.0.1", port, requests, concurrency=concurrency, duration_s=seconds)


def measured(proc: subprocess.Popen, port: int, requests: list[bytes], clients: int, seconds: float):
    """Load one server; return the result and its CPU microseconds per request (warm-up included)."""
    cpu_before = cpu_seconds(proc.pid)
    result = asyncio.run(measure(port, requests, clients, seconds))
    cpu_used = cpu_seconds(proc.pid) - cpu_before
    sent = result.requests + result.warmup_requests
    return result, cpu_used / sent * 1e6 if sent else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--products", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=8)
    args = parser.parse_args()

    data_dir = Path(tempfile.mkdtemp(prefix="novapos-bench-"))
    edge_port, bare_port = free_port(), free_port()
    edge = start_edge(data_dir, edge_port)  # first start seeds the demo store
    edge.terminate()
    edge.wait()
    barcodes = grow_catalog(data_dir / "store.db", args.products)
    edge = start_edge(data_dir, edge_port)
    bare = subprocess.Popen([sys.executable, str(HERE / "bare_app.py"), str(bare_port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_ready(f"http://127.0.0.1:{bare_port}/bare", bare)
    try:
        token = httpx.post(f"http://127.0.0.1:{edge_port}/api/v1/auth/login",
                           json={"username": "cashier", "password": "novapos-demo"}).json()["access_token"]
        rng = random.Random(7)
        sample = rng.sample(barcodes, 2000)
        auth = {"Authorization": f"Bearer {token}"}
        edge_requests = [http_request("GET", f"/api/v1/products?barcode={b}", headers=auth) for b in sample]
        bare_requests = [http_request("GET", f"/bare?barcode={b}") for b in sample]
        print(f"catalog: {len(barcodes):,} barcodes; {args.seconds:.0f} s per measurement, 1 uvicorn worker each")
        print(f"{'path':<32}{'clients':>8}  {'server CPU':>12}  result")
        rows: dict[int, tuple] = {}
        for clients in CLIENTS:
            bare_r, bare_cpu = measured(bare, bare_port, bare_requests, clients, args.seconds)
            edge_r, edge_cpu = measured(edge, edge_port, edge_requests, clients, args.seconds)
            rows[clients] = (bare_r, edge_r)
            print(f"{'bare Litestar GET (baseline)':<32}{clients:>8}  {bare_cpu:7.0f} us/req  {bare_r.summary()}")
            print(f"{'edge barcode lookup (auth+DB)':<32}{clients:>8}  {edge_cpu:7.0f} us/req  {edge_r.summary()}")
            print(f"{'ratio edge / bare':<32}{clients:>8}  {'':>12}  {edge_r.rps / bare_r.rps:6.1%} of the baseline's "
                  f"req/s; server CPU per request {edge_cpu / bare_cpu:.2f}x the baseline's")
        bare16, edge16 = rows[RATIO_AT]
        ratio = edge16.rps / bare16.rps
        p95_1, p95_16 = rows[1][1].pct(95), edge16.pct(95)
        ok = ratio >= RATIO_AIM and p95_1 < P95_AIM_MS and p95_16 < P95_AIM_MS
        print(f"SUMMARY: lookup at {RATIO_AT} clients = {edge16.rps:,.0f} req/s, {ratio:.1%} of bare "
              f"{bare16.rps:,.0f} req/s (aim >= {RATIO_AIM:.0%}); lookup p95 {p95_1:.2f} ms at 1 client, "
              f"{p95_16:.2f} ms at {RATIO_AT} clients (bare: {bare16.pct(95):.2f} ms; aim < {P95_AIM_MS:.0f} ms): "
              f"{'MET' if ok else 'NOT MET'}")
        if len(os.sched_getaffinity(0)) >= 2:
            # As bench_checkout does: each server on one core (every thread), the load generator
            # on another, 16 clients again: what a Raspberry Pi-class store box feels.
            one, other = sorted(os.sched_getaffinity(0))[:2]
            for proc in (edge, bare):
                for tid in os.listdir(f"/proc/{proc.pid}/task"):
                    os.sched_setaffinity(int(tid), {one})
            os.sched_setaffinity(0, {other})
            bare_r, bare_cpu = measured(bare, bare_port, bare_requests, RATIO_AT, args.seconds)
            edge_r, edge_cpu = measured(edge, edge_port, edge_requests, RATIO_AT, args.seconds)
            print(f"{'bare Litestar GET, 1 core':<32}{RATIO_AT:>8}  {bare_cpu:7.0f} us/req  {bare_r.summary()}")
            print(f"{'edge barcode lookup, 1 core':<32}{RATIO_AT:>8}  {edge_cpu:7.0f} us/req  {edge_r.summary()}")
            print(f"ONE CORE: lookup at {RATIO_AT} clients = {edge_r.rps:,.0f} req/s, {edge_r.rps / bare_r.rps:.1%} of bare "
                  f"{bare_r.rps:,.0f} req/s; lookup p95 {edge_r.pct(95):.2f} ms")
    finally:
        edge.terminate()
        bare.terminate()
        edge.wait()
        bare.wait()
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
