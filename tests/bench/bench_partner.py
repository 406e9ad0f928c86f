"""The partner API with a cached OAuth token against a bare endpoint, same run; then webhook
deliveries per second from the hub to a local receiver.

    python tests/bench/bench_partner.py [--seconds 8] [--deliveries 2000]

Both HTTP servers run as one uvicorn worker; one load generator drives both with the same closed
loop. The partner call authenticates the JWT, reads the app row (revocation on the next request),
counts four rate-limit policies in one database transaction (the limits are set high so that
nothing is refused) and reads the catalog. HQ's own `GET /api/v1/hq/stores` (user token, one
tenant read) is printed beside it as the hub's reference for a guarded database read. Prints
figures only.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.bench.bench_catalog import cpu_seconds, wait_ready
from tests.bench.loadgen import http_request, run_load
from tests.support import free_port

BIN = Path(sys.executable).parent
HERE = Path(__file__).resolve().parent
CLIENTS = (1, 16)


async def receiver(port: int, counter: list[int], done: asyncio.Event, target: int) -> asyncio.AbstractServer:
    """The fastest honest partner endpoint: read the request, answer 204."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                               if line.lower().startswith(b"content-length:")), 0)
                await reader.readexactly(length)
                counter[0] += 1
                if counter[0] >= target:
                    done.set()
                writer.write(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            writer.close()  # the hub closed its keep-alive connection, or the bench is ending

    return await asyncio.start_server(handle, "127.0.0.1", port)


def start_hub(data_dir: Path, port: int) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NOVAPOS_CLOUD_")}
    env.update({"NOVAPOS_CLOUD_PARTNER_APP_BURST_PER_S": "1000000", "NOVAPOS_CLOUD_PARTNER_APP_SUSTAINED_PER_MIN":
                "100000000", "NOVAPOS_CLOUD_PARTNER_TENANT_BURST_PER_S": "1000000",
                "NOVAPOS_CLOUD_PARTNER_TENANT_SUSTAINED_PER_MIN": "100000000",
                "NOVAPOS_CLOUD_PARTNER_ALLOW_PRIVATE_WEBHOOKS": "1", "NOVAPOS_CLOUD_PARTNER_WEBHOOK_POLL_S": "0.05",
                "NOVAPOS_CLOUD_PARTNER_WEBHOOK_BATCH": "200", "NOVAPOS_LOG_FORMAT": "json"})
    proc = subprocess.Popen([str(BIN / "novapos-cloud"), "serve", "--demo", "--port", str(port), "--db-url",
                             f"sqlite:///{data_dir / 'cloud.db'}"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env=env)
    wait_ready(f"http://127.0.0.1:{port}/readyz", proc)
    return proc


def measured(proc: subprocess.Popen, port: int, requests: list[bytes], clients: int, seconds: float):
    before = cpu_seconds(proc.pid)
    result = asyncio.run(run_load("127.0.0.1", port, requests, concurrency=clients, duration_s=seconds))
    sent = result.requests + result.warmup_requests
    return result, (cpu_seconds(proc.pid) - before) / sent * 1e6 if sent else float("nan")


async def deliveries_per_second(hub_url: str, db_url: str, admin: dict[str, str], app_id: str, count: int) -> None:
    from sqlalchemy import func, select

    from cloud import webhooks
    from cloud.db import CloudDB
    from cloud.schema_partners import webhook_deliveries

    port, received, done = free_port(), [0], asyncio.Event()
    server = await receiver(port, received, done, count)
    async with httpx.AsyncClient(base_url=hub_url, headers=admin, timeout=30) as client:
        r = await client.post(f"/api/v1/partner-admin/apps/{app_id}/webhooks",
                              json={"url": f"http://127.0.0.1:{port}/hooks", "event_types": ["order.completed"]})
        assert r.status_code == 201, r.text
    db = CloudDB(db_url)

    def enqueue_all(conn) -> None:
        for i in range(count):
            webhooks.enqueue(conn, "demo", "order.completed", {"order_id": f"bench-{i}", "total_cents": 1000 + i},
                             str(uuid.uuid4()))

    started = time.perf_counter()
    await db.write(enqueue_all)
    enqueued = time.perf_counter()
    try:
        await asyncio.wait_for(done.wait(), 300)
    except TimeoutError:
        print("webhooks: not all deliveries arrived within 300 s")
    sent_at = time.perf_counter()
    async with db.tenant("demo", write=False) as conn:
        delivered = (await conn.execute(select(func.count()).where(webhook_deliveries.c.status == "delivered"))).scalar()
    await db.close()
    server.close()
    await server.wait_closed()
    print(f"webhooks: {count} queued in {enqueued - started:.2f} s; received {received[0]} in "
          f"{sent_at - enqueued:.2f} s = {received[0] / (sent_at - enqueued):,.0f} deliveries/s "
          f"(signed, one attempt-log row each; {delivered} marked delivered)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--deliveries", type=int, default=2000)
    args = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="novapos-bench-partner-"))
    hub_port, bare_port = free_port(), free_port()
    hub = start_hub(data_dir, hub_port)
    bare = subprocess.Popen([sys.executable, str(HERE / "bare_app.py"), str(bare_port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_ready(f"http://127.0.0.1:{bare_port}/bare", bare)
    url = f"http://127.0.0.1:{hub_port}"
    try:
        admin = {"Authorization": "Bearer " + httpx.post(f"{url}/api/v1/auth/login", json={
            "username": "hq", "password": "novapos-demo"}).json()["access_token"]}
        app = httpx.post(f"{url}/api/v1/partner-admin/apps", headers=admin, json={
            "name": "Bench", "contact": "bench@example.com", "scopes": ["catalog:read", "webhooks:manage"]}).json()
        token = httpx.post(f"{url}/oauth/token", data={"grant_type": "client_credentials"},
                           auth=(app["client_id"], app["client_secret"])).json()["access_token"]  # cached: one token
        partner_requests = [http_request("GET", "/api/v1/partner/catalog", headers={"Authorization": f"Bearer {token}"})]
        bare_requests = [http_request("GET", "/bare")]
        hq_requests = [http_request("GET", "/api/v1/hq/stores", headers=admin)]  # HQ's own guard + DB read
        print(f"{args.seconds:.0f} s per measurement, 1 uvicorn worker each, SQLite hub database")
        for clients in CLIENTS:
            bare_r, bare_cpu = measured(bare, bare_port, bare_requests, clients, args.seconds)
            partner_r, partner_cpu = measured(hub, hub_port, partner_requests, clients, args.seconds)
            hq_r, hq_cpu = measured(hub, hub_port, hq_requests, clients, args.seconds)
            print(f"{'bare Litestar GET (baseline)':<34}{clients:>4}  {bare_cpu:7.0f} us/req  {bare_r.summary()}")
            print(f"{'partner GET /catalog (token+RL)':<34}{clients:>4}  {partner_cpu:7.0f} us/req  {partner_r.summary()}")
            print(f"{'HQ GET /hq/stores (reference)':<34}{clients:>4}  {hq_cpu:7.0f} us/req  {hq_r.summary()}")
            print(f"{'ratio partner / bare':<34}{clients:>4}  {partner_r.rps / bare_r.rps:6.1%} of the baseline's req/s; "
                  f"server CPU per request {partner_cpu / bare_cpu:.1f}x")
        asyncio.run(deliveries_per_second(url, f"sqlite:///{data_dir / 'cloud.db'}", admin, app["app_id"],
                                          args.deliveries))
    finally:
        for proc in (hub, bare):
            proc.terminate()
            proc.wait()
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
