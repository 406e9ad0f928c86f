"""Checkout throughput: a 3-line cash order against a bare Litestar POST that decodes the same
body, measured in the same run on the same machine (ARCHITECTURE.md, "Tests and benchmarks";
no timing asserts anywhere).

    .venv/bin/python tests/bench/bench_checkout.py [--seconds 8] [--clients 16 64] [--products 100000]

Starts `novapos-edge serve --demo` on a temporary data dir and `tests/bench/bare_app.py`, each
one uvicorn worker, and drives both with the same raw-asyncio closed loop (`loadgen.py`) over
keep-alive connections, so the load generator costs little and the same for both. Every
checkout carries its own Idempotency-Key. Prints rps, p50 and p99; read the ratio. On a machine
with two cores or more it then pins each server to one core and the load generator to another
and measures 16 clients again: that is the figure a Raspberry Pi-class store box feels.
The edge runs with `hardware.mode = "off"`: the demo's in-process device simulators would
otherwise be measured with it (in production the devices are separate hardware).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.bench.loadgen import LoadResult, http_request, run_load
from tests.support import free_port

BIN = Path(sys.executable).parent
HERE = Path(__file__).resolve().parent


def wait_ready(url: str, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            log = getattr(proc, "log_path", None)
            tail = log.read_text()[-2000:] if log is not None and log.exists() else ""
            raise SystemExit(f"server exited early ({url})\n{tail}")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise SystemExit(f"server not ready: {url}")


def login(url: str, username: str) -> dict[str, str]:
    r = httpx.post(f"{url}/api/v1/auth/login", json={"username": username, "password": "novapos-demo"})
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def order_bodies(skus: list[str], count: int) -> list[bytes]:
    bodies = []
    for i in range(count):
        lines = [{"sku": skus[(i + k) % len(skus)], "quantity": 1} for k in range(3)]
        bodies.append(json.dumps({"lane_id": str(1 + i % 3), "lines": lines,
                                  "tenders": [{"method": "cash", "amount_cents": 100_000}]}).encode())
    return bodies


def checkout_requests(bodies: list[bytes], auth: dict[str, str]) -> list[bytes]:
    """Each request once, with a fresh key: the generator cycles, so make more than it will send."""
    return [http_request("POST", "/api/v1/orders", body=body,
                         headers={**auth, "Content-Type": "application/json", "Idempotency-Key": uuid.uuid4().hex})
            for body in bodies]


def pin(pid: int, cpus: set[int]) -> None:
    """Pin every thread of a running process (`taskset -a -p`): threads it starts later inherit it."""
    for tid in os.listdir(f"/proc/{pid}/task"):
        os.sched_setaffinity(int(tid), cpus)


def thread_cpu(pid: int) -> dict[int, float]:
    """CPU seconds (user + system) per thread of a process, from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        out[int(tid)] = (int(fields[11]) + int(fields[12])) / tick
    return out


def cpu_per_order(pid: int, before: dict[int, float], r: LoadResult) -> str:
    """The writer's and the event loop's CPU per answered checkout (warm-up included, since the
    counters cover it). The writer is the busiest thread other than the main one (the loop): the
    reader pool sleeps through a checkout load. CPU per order is the figure that stays put on a
    shared machine, where rps moves with the neighbours' load."""
    after = thread_cpu(pid)
    delta = {tid: after[tid] - before.get(tid, 0.0) for tid in after}
    loop = delta.pop(pid, 0.0)
    writer = max(delta.values(), default=0.0)
    orders = (r.requests + r.warmup_requests) or 1
    return f"  CPU per order: writer {writer / orders * 1e6:.0f} us, loop {loop / orders * 1e6:.0f} us"


def row(name: str, clients: int, r: LoadResult) -> str:
    return (f"{name:<10}{clients:>8}{r.requests:>10}{r.rps:>9.0f}{r.pct(50):>9.1f}{r.pct(99):>9.1f}"
            f"{r.errors + sum(n for s, n in r.statuses.items() if s >= 300):>8}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--clients", type=int, nargs="+", default=[16, 64])
    parser.add_argument("--products", type=int, default=0,
                        help="grow the catalog to this many products first (a real store has 10,000-100,000)")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="novapos-bench-"))
    edge_port, bare_port = free_port(), free_port()

    def start_edge() -> subprocess.Popen:
        log_path = tmp / "edge.log"
        with log_path.open("ab") as log:
            proc = subprocess.Popen([str(BIN / "novapos-edge"), "serve", "--demo", "--data-dir", str(tmp / "data"),
                                     "--host", "127.0.0.1", "--port", str(edge_port)], stdout=subprocess.DEVNULL,
                                    stderr=log,
                                    env={**os.environ, "NOVAPOS_LOG_FORMAT": "json", "NOVAPOS_HARDWARE_MODE": "off"})
        proc.log_path = log_path  # type: ignore[attr-defined]  (read when it exits early)
        return proc

    edge = start_edge()
    if args.products:
        from tests.bench.bench_catalog import grow_catalog

        wait_ready(f"http://127.0.0.1:{edge_port}/readyz", edge)  # the first start seeds the demo store
        edge.terminate()
        edge.wait()
        grow_catalog(tmp / "data" / "store.db", args.products)
        edge = start_edge()
    bare = subprocess.Popen([sys.executable, str(HERE / "bare_app.py"), str(bare_port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        edge_url = f"http://127.0.0.1:{edge_port}"
        wait_ready(f"{edge_url}/readyz", edge)
        wait_ready(f"http://127.0.0.1:{bare_port}/bare", bare)
        auth = login(edge_url, "cashier")
        products = httpx.get(f"{edge_url}/api/v1/products?limit=60", headers=auth).json()["items"]
        skus = [p["sku"] for p in products if not p.get("sold_by_weight")][:50]
        # Plenty of stock, so the benchmark measures checkout, not refusals.
        received = httpx.post(f"{edge_url}/api/v1/inventory/receipts",
                              json={"ref": "bench", "items": [{"sku": s, "quantity": 100_000} for s in skus]},
                              headers={**login(edge_url, "manager"), "Idempotency-Key": uuid.uuid4().hex})
        received.raise_for_status()  # without the stock, checkout would measure refusals
        bodies = order_bodies(skus, 150)
        bare_requests = [http_request("POST", "/bare", body=b, headers={"Content-Type": "application/json"})
                         for b in bodies]
        if args.products:
            print(f"catalog: {args.products:,} products")
        print(f"{'target':<10}{'clients':>8}{'requests':>10}{'rps':>9}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}")
        for clients in args.clients:
            # Enough distinct keys that none repeats: a repeat would be a (cheap) idempotent replay.
            edge_requests = checkout_requests(bodies * 400, auth)
            bare_r = asyncio.run(run_load("127.0.0.1", bare_port, bare_requests, concurrency=clients,
                                          duration_s=args.seconds))
            cpu_before = thread_cpu(edge.pid)
            edge_r = asyncio.run(run_load("127.0.0.1", edge_port, edge_requests, concurrency=clients,
                                          duration_s=args.seconds, distinct=True))
            cpu = cpu_per_order(edge.pid, cpu_before, edge_r)
            print(row("bare", clients, bare_r))
            print(row("checkout", clients, edge_r))
            print(cpu)
            print(f"  checkout / bare at {clients} clients: {edge_r.rps / bare_r.rps:.0%}  (statuses {edge_r.statuses})")
        if len(os.sched_getaffinity(0)) >= 2:
            # A Raspberry Pi-class box has weak cores: pin each server to one core (every thread of
            # it) and the load generator to another, and measure 16 clients again.
            one, other = sorted(os.sched_getaffinity(0))[:2]
            for proc in (edge, bare):
                pin(proc.pid, {one})
            os.sched_setaffinity(0, {other})
            edge_requests = checkout_requests(bodies * 400, auth)
            bare_r = asyncio.run(run_load("127.0.0.1", bare_port, bare_requests, concurrency=16,
                                          duration_s=args.seconds))
            cpu_before = thread_cpu(edge.pid)
            edge_r = asyncio.run(run_load("127.0.0.1", edge_port, edge_requests, concurrency=16,
                                          duration_s=args.seconds, distinct=True))
            cpu = cpu_per_order(edge.pid, cpu_before, edge_r)
            print(row("bare", 16, bare_r) + "  (server on 1 core)")
            print(row("checkout", 16, edge_r) + "  (server on 1 core)")
            print(cpu)
            print(f"  checkout / bare at 16 clients, one core each: {edge_r.rps / bare_r.rps:.0%}")
    finally:
        for proc in (edge, bare):
            proc.terminate()
            proc.wait(timeout=10)


if __name__ == "__main__":
    main()
