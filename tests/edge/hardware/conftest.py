"""The real edge app in demo mode with its simulated hub: one device of every kind per lane,
on real sockets and FIFOs. Card tenders go through the hub's lane terminals here."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from tests.support import demo_settings, login


def wait_for(predicate: Callable[[], Any], within_s: float = 10.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def hw_env() -> dict[str, str]:
    return {"NOVAPOS_HARDWARE_CARD_TERMINAL": "hub"}


@pytest.fixture
def client(demo_dir: Path, hw_env: dict[str, str]) -> Iterator[TestClient]:
    from edge.bootstrap import create_app

    with TestClient(create_app(demo_settings(demo_dir, **hw_env)), raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def hub(client: TestClient) -> Any:
    return client.app.state.services.hardware


@pytest.fixture
def sim(hub: Any) -> Any:
    return hub.simulators


@pytest.fixture
def cashier(client: TestClient) -> dict[str, str]:
    return login(client, "cashier")


@pytest.fixture
def manager(client: TestClient) -> dict[str, str]:
    return login(client, "manager")


@pytest.fixture
def tech(client: TestClient) -> dict[str, str]:
    return login(client, "tech")


@pytest.fixture
def products(client: TestClient, manager: dict[str, str]) -> list[dict[str, Any]]:
    return client.get("/api/v1/products?limit=200", headers=manager).json()["items"]


def order(client: TestClient, headers: dict[str, str], lines: list[dict[str, Any]], tenders: list[dict[str, Any]],
          lane_id: str = "1") -> Any:
    return client.post("/api/v1/orders", json={"lane_id": lane_id, "lines": lines, "tenders": tenders},
                       headers={**headers, "Idempotency-Key": uuid.uuid4().hex})


def outbox(client: TestClient, event_type: str) -> list[dict[str, Any]]:
    import json

    db = client.app.state.services.db
    rows = db.read_now(lambda c: c.exec_driver_sql(
        "SELECT envelope FROM outbox WHERE type = ? ORDER BY seq", (event_type,)).all())
    return [json.loads(r[0])["payload"] for r in rows]
