"""Checkout throughput: a 3-line cash order against a bare Litestar POST that decodes the same
body, measured in the same run on the same machine (DESIGN §11; no timing asserts anywhere).

    .venv/bin/python tests/bench/bench_checkout.py [--seconds 8] [--clients 16 64]

Starts `novapos-edge serve --demo` on a temporary data dir and a bare app in uvicorn, drives
each with an asyncio load loop over httpx keep-alive connections, prints rps, p50 and p99.
The load generator shares the machine, so both sides pay for it equally; read the ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from pathlib import Path

import httpx

BIN = Path(sys.executable).parent
BARE = textwrap.dedent('''
    import msgspec
    from litestar import Litestar, post

    class Line(msgspec.Struct):
        sku: str
        quantity: int = 1

    class Tender(msgspec.Struct):
        method: str
        amount_cents: int

    class Order(msgspec.Struct):
        lines: list[Line]
        lane_id: str | None = None
        tenders: list[Tender] = []

    @post("/api/v1/orders")
    async def create(data: Order) -> dict:
        return {"id": "x", "lines": len(data.lines)}

    app = Litestar([create], logging_config=None)
''')


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(url: str, path: str) -> None:
    for _ in range(600):
        try:
            httpx.get(url + path, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not start")


async def drive(url: str, headers: dict[str, str], skus: list[str], clients: int, seconds: float
                ) -> tuple[int, list[float], int]:
    latencies: list[float] = []
    errors = 0
    end = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)

    async def worker(client: httpx.AsyncClient, n: int) -> None:
        nonlocal errors
        i = n
        while time.perf_counter() < end:
            i += clients
            lines = [{"sku": skus[(i + k) % len(skus)], "quantity": 1} for k in range(3)]
            body = {"lane_id": str(1 + i % 3), "lines": lines,
                    "tenders": [{"method": "cash", "amount_cents": 100_000}]}
            started = time.perf_counter()
            r = await client.post("/api/v1/orders", json=body,
                                  headers={**headers, "Idempotency-Key": uuid.uuid4().hex})
            latencies.append(time.perf_counter() - started)
            if r.status_code >= 300:
                errors += 1

    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as client:
        await asyncio.gather(*(worker(client, n) for n in range(clients)))
    return len(latencies), sorted(latencies), errors


def pct(values: list[float], p: float) -> float:
    return values[min(len(values) - 1, int(len(values) * p))] * 1000 if values else float("nan")


def login(url: str, username: str) -> dict[str, str]:
    r = httpx.post(f"{url}/api/v1/auth/login", json={"username": username, "password": "novapos-demo"})
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--clients", type=int, nargs="+", default=[16, 64])
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="novapos-bench-"))
    (tmp / "bare_app.py").write_text(BARE)
    edge_port, bare_port = free_port(), free_port()
    edge = subprocess.Popen([str(BIN / "novapos-edge"), "serve", "--demo", "--data-dir", str(tmp / "data"),
                             "--host", "127.0.0.1", "--port", str(edge_port)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env={**os.environ, "NOVAPOS_LOG_FORMAT": "json"})
    bare = subprocess.Popen([str(BIN / "uvicorn"), "bare_app:app", "--port", str(bare_port), "--log-level",
                             "warning", "--no-access-log"], cwd=tmp, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        edge_url, bare_url = f"http://127.0.0.1:{edge_port}", f"http://127.0.0.1:{bare_port}"
        wait_ready(edge_url, "/readyz")
        wait_ready(bare_url, "/")
        headers = login(edge_url, "cashier")
        products = httpx.get(f"{edge_url}/api/v1/products?limit=60", headers=headers).json()["items"]
        skus = [p["sku"] for p in products if not p["sold_by_weight"]][:50]
        # Plenty of stock, so the benchmark measures checkout, not refusals.
        httpx.post(f"{edge_url}/api/v1/inventory/receipts",
                   json={"ref": "bench", "items": [{"sku": s, "quantity": 1_000_000} for s in skus]},
                   headers={**login(edge_url, "manager"), "Idempotency-Key": uuid.uuid4().hex})
        asyncio.run(drive(edge_url, headers, skus, 8, 1.0))  # warm up both
        asyncio.run(drive(bare_url, {}, skus, 8, 1.0))
        print(f"{'target':<10}{'clients':>8}{'requests':>10}{'rps':>9}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}")
        for clients in args.clients:
            rps = {}
            for name, url, hdrs in (("bare", bare_url, {}), ("checkout", edge_url, headers)):
                n, lat, errors = asyncio.run(drive(url, hdrs, skus, clients, args.seconds))
                rps[name] = n / args.seconds
                print(f"{name:<10}{clients:>8}{n:>10}{rps[name]:>9.0f}{pct(lat, 0.5):>9.1f}{pct(lat, 0.99):>9.1f}"
                      f"{errors:>8}")
            print(f"  checkout / bare at {clients} clients: {rps['checkout'] / rps['bare']:.0%}")
    finally:
        for proc in (edge, bare):
            proc.terminate()
            proc.wait(timeout=10)


if __name__ == "__main__":
    main()
