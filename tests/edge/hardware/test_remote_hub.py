"""The edge as a client of a separate `novapos-hardware serve` (hardware.mode = "remote")."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn
from litestar.testing import TestClient

from edge.service.receipts import money
from hardware.server import create_app as hardware_app
from hardware.service import HardwareHub
from tests.edge.hardware.conftest import order, wait_for
from tests.edge.hardware.test_lane_events import connect, next_of_type
from tests.support import demo_settings, login


@pytest.fixture
def hardware_service(tmp_path) -> Iterator[tuple[str, Any]]:
    """A hub with simulators behind its HTTP service, on its own thread and event loop."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    loop = asyncio.new_event_loop()
    hub = loop.run_until_complete(HardwareHub.simulated(lanes=3, data_dir=tmp_path / "hw-service"))
    server = uvicorn.Server(uvicorn.Config(hardware_app(hub, token="hw-token"), log_level="warning",
                                           timeout_graceful_shutdown=1))
    thread = threading.Thread(target=loop.run_until_complete, args=(server.serve(sockets=[sock]),), daemon=True)
    thread.start()
    wait_for(lambda: server.started, what="the hardware service")
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}", hub.simulators
    finally:
        server.should_exit = True
        thread.join(10)
        loop.run_until_complete(hub.stop())
        loop.close()


def test_a_remote_hub_serves_devices_receipts_and_lane_events(demo_dir, hardware_service):
    from edge.bootstrap import create_app

    url, sim = hardware_service
    settings = demo_settings(demo_dir, NOVAPOS_HARDWARE_MODE="remote", NOVAPOS_HARDWARE_URL=url,
                             NOVAPOS_HARDWARE_TOKEN="hw-token")
    with TestClient(create_app(settings)) as client:
        cashier = login(client, "cashier")
        devices = client.get("/api/v1/devices", headers=cashier).json()
        assert devices["mode"] == "remote" and len(devices["items"]) == 18
        with connect(client, "2", cashier) as ws:
            ws.receive_json(timeout=5)
            sim.lane(2).scan("5901234123457")
            assert next_of_type(ws, "scan")["data"]["barcode"] == "5901234123457"
        sku = next(p for p in client.get("/api/v1/products?limit=20", headers=cashier).json()["items"]
                   if not p["sold_by_weight"])["sku"]
        sale = order(client, cashier, [{"sku": sku}], [{"method": "cash", "amount_cents": 100_000}], "2").json()
        text = wait_for(lambda: next((t for t in sim.lane(2).printer.texts if sale["number"] in t), None),
                        what="the receipt on the remote hub's printer")
        assert money(sale["total_cents"]) in text
        assert wait_for(lambda: sim.lane(2).printer.drawer_kicks >= 1, what="the drawer kick")
