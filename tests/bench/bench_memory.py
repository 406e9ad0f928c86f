"""Store-server memory: resident set size idle, after 1,600 and after 10,000 checkouts, against
the bare Litestar app (`bare_app.py`) idle and after as many bare POSTs, measured in the same
run (ARCHITECTURE.md, "Memory on a small box"; no asserts, read the figures).

    .venv/bin/python tests/bench/bench_memory.py [--checkouts 1600 10000] [--arenas N]

The edge runs `serve --demo` with `hardware.mode = "off"` (the demo's device simulators would be
measured with it; in production the hub is its own service or its own hardware). Each checkout
is sent once, with its own Idempotency-Key, by 16 keep-alive clients. `--arenas 0` shows what
glibc's default malloc arenas cost (`server.malloc_arenas`).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.bench.bench_checkout import checkout_requests, login, order_bodies, wait_ready
from tests.bench.loadgen import _read_response, http_request
from tests.support import free_port

BIN = Path(sys.executable).parent
HERE = Path(__file__).resolve().parent
CLIENTS = 16


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


async def send_each_once(port: int, requests: list[bytes]) -> dict[int, int]:
    """Every request exactly once, split over CLIENTS keep-alive connections."""
    statuses: dict[int, int] = {}

    async def client(k: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            for i in range(k, len(requests), CLIENTS):
                writer.write(requests[i])
                status = await _read_response(reader)
                statuses[status] = statuses.get(status, 0) + 1
        finally:
            writer.close()

    await asyncio.gather(*[client(k) for k in range(CLIENTS)])
    return statuses


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--checkouts", type=int, nargs="+", default=[1600, 10_000])
    parser.add_argument("--arenas", type=int, default=None, help="server.malloc_arenas (default: the setting's)")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="novapos-bench-mem-"))
    edge_port, bare_port = free_port(), free_port()
    env = {**os.environ, "NOVAPOS_LOG_FORMAT": "json", "NOVAPOS_HARDWARE_MODE": "off"}
    if args.arenas is not None:
        env["NOVAPOS_SERVER_MALLOC_ARENAS"] = str(args.arenas)
    edge = subprocess.Popen([str(BIN / "novapos-edge"), "serve", "--demo", "--data-dir", str(tmp / "data"),
                             "--host", "127.0.0.1", "--port", str(edge_port)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env=env)
    bare = subprocess.Popen([sys.executable, str(HERE / "bare_app.py"), str(bare_port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        edge_url = f"http://127.0.0.1:{edge_port}"
        wait_ready(f"{edge_url}/readyz", edge)
        wait_ready(f"http://127.0.0.1:{bare_port}/bare", bare)
        auth = login(edge_url, "cashier")
        products = httpx.get(f"{edge_url}/api/v1/products?limit=60", headers=auth).json()["items"]
        skus = [p["sku"] for p in products if not p.get("sold_by_weight")][:50]
        httpx.post(f"{edge_url}/api/v1/inventory/receipts",
                   json={"ref": "bench", "items": [{"sku": s, "quantity": 100_000} for s in skus]},
                   headers={**login(edge_url, "manager"), "Idempotency-Key": uuid.uuid4().hex}).raise_for_status()
        print(f"{'after':<22}{'edge RSS MB':>12}{'bare RSS MB':>12}{'edge / bare':>12}  statuses")
        edge_idle, bare_idle = rss_mb(edge.pid), rss_mb(bare.pid)
        print(f"{'idle':<22}{edge_idle:>12.1f}{bare_idle:>12.1f}{edge_idle / bare_idle:>12.2f}")
        bodies = order_bodies(skus, 150)
        done = 0
        for target in sorted(args.checkouts):
            count = target - done
            edge_requests = checkout_requests(bodies * (count // len(bodies) + 1), auth)[:count]
            bare_requests = [http_request("POST", "/bare", body=b, headers={"Content-Type": "application/json"})
                             for b in (bodies * (count // len(bodies) + 1))[:count]]
            statuses = asyncio.run(send_each_once(edge_port, edge_requests))
            asyncio.run(send_each_once(bare_port, bare_requests))
            done = target
            edge_mb, bare_mb = rss_mb(edge.pid), rss_mb(bare.pid)
            print(f"{f'{target:,} checkouts':<22}{edge_mb:>12.1f}{bare_mb:>12.1f}{edge_mb / bare_mb:>12.2f}  {statuses}")
    finally:
        for proc in (edge, bare):
            proc.terminate()
            proc.wait(timeout=10)


if __name__ == "__main__":
    main()
