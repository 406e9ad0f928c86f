"""Helpers for the sales API tests (the demo app and logins come from tests/conftest.py)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from litestar.testing import TestClient


def key() -> str:
    return uuid.uuid4().hex


@pytest.fixture
def products(client: TestClient, manager: dict[str, str]) -> list[dict[str, Any]]:
    items = client.get("/api/v1/products?limit=200", headers=manager).json()["items"]
    return [p for p in items if not p["sold_by_weight"]]


@pytest.fixture
def weighed(client: TestClient, manager: dict[str, str]) -> dict[str, Any]:
    items = client.get("/api/v1/products?limit=200", headers=manager).json()["items"]
    return next(p for p in items if p["sold_by_weight"])


def stock(client: TestClient, headers: dict[str, str], sku: str) -> dict[str, Any]:
    return client.get(f"/api/v1/inventory?sku={sku}", headers=headers).json()["items"][0]


def post(client: TestClient, path: str, body: dict[str, Any], headers: dict[str, str],
         idem: str | None = None) -> Any:
    return client.post(path, json=body, headers={**headers, "Idempotency-Key": idem or key()})


def cash_order(client: TestClient, headers: dict[str, str], lines: list[dict[str, Any]], amount: int | None = None,
               idem: str | None = None) -> Any:
    body: dict[str, Any] = {"lane_id": "1", "lines": lines,
                            "tenders": [{"method": "cash", "amount_cents": amount or 10_000_000}]}
    return post(client, "/api/v1/orders", body, headers, idem)
