"""The device reactor applies the domain's lane-device rules to real committed sales: a sale the
box only reaches after `stale_after_s` (it was down) opens no drawer and prints nothing, judged
by the unit of work's clock; a fresh cash sale opens the drawer and prints."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest
from litestar.testing import TestClient

from edge.adapters.device_reactor import DeviceReactor
from tests.support import FakeClock, demo_settings, login


class RecordingHub:
    """A hub with a printer, a drawer and a display on lane 1 that records what it is asked."""

    def __init__(self) -> None:
        self.kicks: list[str] = []
        self.prints: list[str] = []

    async def devices(self):  # type: ignore[no-untyped-def]
        return [SimpleNamespace(kind=kind, lane_id="1") for kind in ("printer", "drawer", "display")]

    async def kick_drawer(self, lane_id: str):  # type: ignore[no-untyped-def]
        self.kicks.append(lane_id)
        return SimpleNamespace(ok=True, detail="")

    async def show_on_display(self, lane_id: str, *lines: str) -> None:
        return None

    async def print_receipt(self, lane_id: str, data: bytes, *, ref: str):  # type: ignore[no-untyped-def]
        self.prints.append(ref)
        return SimpleNamespace(id=f"job-{ref}", status="printed", printer_id="p1", reason="")


@pytest.fixture
def store(demo_dir: Path) -> Iterator[TestClient]:
    """The demo store without its own hub, so only the reactor under test reacts."""
    from edge.bootstrap import create_app

    with TestClient(create_app(demo_settings(demo_dir, NOVAPOS_HARDWARE_MODE="off")),
                    raise_server_exceptions=False) as client:
        yield client


def sell_for_cash(client: TestClient, headers: dict[str, str], sku: str) -> str:
    body = {"lane_id": "1", "lines": [{"sku": sku}], "tenders": [{"method": "cash", "amount_cents": 100_000}]}
    response = client.post("/api/v1/orders", json=body, headers={**headers, "Idempotency-Key": uuid.uuid4().hex})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def test_a_sale_reached_after_the_stale_limit_leaves_the_devices_alone_and_a_fresh_one_does_not(store):
    services = store.app.state.services
    clock = FakeClock(datetime.now(UTC))
    services.uow.clock = clock
    hub = RecordingHub()
    reactor = DeviceReactor(services, hub, stale_after_s=300)
    asyncio.run(reactor.step())  # first start: from now on

    cashier = login(store, "cashier")
    sku = next(p for p in store.get("/api/v1/products?limit=20", headers=cashier).json()["items"]
               if not p["sold_by_weight"])["sku"]
    old_sale = sell_for_cash(store, cashier, sku)
    clock.advance(301)  # the box comes back after the customer has gone
    asyncio.run(reactor.step())
    assert hub.kicks == [] and hub.prints == []

    fresh_sale = sell_for_cash(store, cashier, sku)
    asyncio.run(reactor.step())
    assert hub.kicks == ["1"] and hub.prints == [fresh_sale]
    assert old_sale not in hub.prints
