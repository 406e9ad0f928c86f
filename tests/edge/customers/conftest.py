"""Helpers for the store's customer tests (the demo app and logins come from tests/conftest.py)."""

from __future__ import annotations

import uuid
from typing import Any

from litestar.testing import TestClient


def key() -> str:
    return uuid.uuid4().hex


def sign_up(client: TestClient, headers: dict[str, str], body: dict[str, Any], idem: str | None = None) -> Any:
    return client.post("/api/v1/customers", json=body, headers={**headers, "Idempotency-Key": idem or key()})


def unique_person() -> dict[str, str]:
    """A customer whose email and phone appear nowhere else (for the plaintext scans)."""
    tag = uuid.uuid4().hex[:10]
    digits = f"{int(tag[:6], 16) % 10_000:04d}"
    return {"name": f"Zed Q{tag} Marlowe", "email": f"zq.{tag}@example.net", "phone": f"+1 212 555 {digits}",
            "phone_e164": f"+1212555{digits}"}


def sell_to(client: TestClient, headers: dict[str, str], customer_id: str | None, *, sku: str | None = None) -> Any:
    if sku is None:
        items = client.get("/api/v1/products?limit=50", headers=headers).json()["items"]
        sku = next(p["sku"] for p in items if not p["sold_by_weight"])
    body: dict[str, Any] = {"lane_id": "1", "lines": [{"sku": sku, "quantity": 1}],
                            "tenders": [{"method": "cash", "amount_cents": 100_000}]}
    if customer_id is not None:
        body["customer_id"] = customer_id
    return client.post("/api/v1/orders", json=body, headers={**headers, "Idempotency-Key": key()})
