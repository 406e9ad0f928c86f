"""A demo store configured for BTCPay, against the fake on a real port (shared by the BTCPay tests)."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from litestar.testing import TestClient

from tests.fakes.btcpay import FakeBtcpay
from tests.support import demo_settings, login

WEBHOOK = "/api/v1/payments/webhooks/btcpay"


def btcpay_env(fake: FakeBtcpay, secrets_dir: Path, **extra: str) -> dict[str, str]:
    secrets_dir.mkdir(exist_ok=True)
    (secrets_dir / "btcpay-api-key").write_text(fake.api_key + "\n")
    (secrets_dir / "btcpay-webhook-secret").write_text(fake.webhook_secret + "\n")
    return {"NOVAPOS_PAYMENTS_CRYPTO_PROVIDER": "btcpay", "NOVAPOS_PAYMENTS_BTCPAY_URL": fake.url,
            "NOVAPOS_PAYMENTS_BTCPAY_STORE_ID": fake.store_id,
            "NOVAPOS_PAYMENTS_BTCPAY_API_KEY_FILE": str(secrets_dir / "btcpay-api-key"),
            "NOVAPOS_PAYMENTS_BTCPAY_WEBHOOK_SECRET_FILE": str(secrets_dir / "btcpay-webhook-secret"),
            # Only what a test delivers or asks settles a payment: no background re-check races it.
            "NOVAPOS_PAYMENTS_SWEEP_INTERVAL_S": "3600", **extra}


@contextlib.contextmanager
def btcpay_store(demo_dir: Path, fake: FakeBtcpay, secrets_dir: Path, **extra: str) -> Iterator[TestClient]:
    from edge.bootstrap import create_app

    settings = demo_settings(demo_dir, **btcpay_env(fake, secrets_dir, **extra))
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        fake.sender = lambda body, headers: client.post(WEBHOOK, content=body, headers=headers).status_code
        yield client


def key() -> str:
    return uuid.uuid4().hex


def crypto_order(client: TestClient, headers: dict[str, str], product_index: int = 3) -> dict[str, Any]:
    """A one-item sale tendered in crypto; the order as the edge answers it."""
    items = client.get("/api/v1/products?limit=50", headers=headers).json()["items"]
    sku = [p for p in items if not p["sold_by_weight"]][product_index]["sku"]
    quote = client.post("/api/v1/orders/quote", json={"lines": [{"sku": sku}]}, headers=headers).json()
    response = client.post("/api/v1/orders", json={"lane_id": "1", "lines": [{"sku": sku}],
                                                   "tenders": [{"method": "crypto",
                                                                "amount_cents": quote["total_cents"]}]},
                           headers={**headers, "Idempotency-Key": key()})
    assert response.status_code == 201, response.text
    return response.json()


def staff(client: TestClient, username: str = "cashier") -> dict[str, str]:
    return login(client, username)
