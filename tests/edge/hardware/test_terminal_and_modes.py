"""How hub terminal results become payment outcomes, and a store with its hardware switched off."""

from __future__ import annotations

import pytest
from litestar.testing import TestClient

from edge.adapters.payments.hardware_terminal import outcome_of
from hardware.models import TerminalResult
from tests.support import demo_settings, login


@pytest.mark.parametrize(("status", "charged", "sale", "expected"), [
    ("approved", True, True, "approved"),
    ("partial", True, True, "partial"),
    ("declined", False, True, "declined"),
    ("voided", False, False, "reversed"),
    ("reversed", False, True, "reversed"),
    ("refunded", True, False, "approved"),
    ("not_found", None, False, "not_found"),
    ("timeout", None, True, "timeout"),  # unknown: the processor asks LAST, never sells again
    ("timeout", True, True, "timeout"),  # charged and the reversal failed: LAST will say approved
    ("timeout", False, True, "not_found"),  # the hub checked: nothing was charged
    ("unavailable", False, True, "not_found"),  # never delivered: fail fast at the counter
    ("unavailable", None, False, "timeout"),  # a void or refund stays in flight for recovery
    ("error", None, True, "timeout"),
])
def test_terminal_results_map_to_payment_outcomes(status, charged, sale, expected):
    result = TerminalResult(ref="p1", operation="SALE", status=status, approved_cents=500, last4="4242",
                            brand="VISA", auth_code="A1", charged=charged)
    outcome = outcome_of(result, sale=sale)
    assert outcome.status == expected and outcome.ref == "p1"
    assert outcome.approved_cents == (500 if expected in ("approved", "partial") else 0)
    assert outcome.card_last4 == "4242"


def test_with_hardware_off_the_store_sells_and_device_calls_say_so(demo_dir):
    from edge.bootstrap import create_app

    with TestClient(create_app(demo_settings(demo_dir, NOVAPOS_HARDWARE_MODE="off"))) as client:
        headers = login(client, "cashier")
        assert client.get("/api/v1/devices", headers=headers).json() == {"items": [], "mode": "off"}
        weight = client.get("/api/v1/lanes/1/weight", headers=headers)
        assert weight.status_code == 503 and weight.json()["type"].endswith("hardware-off")
        sku = client.get("/api/v1/products?limit=5", headers=headers).json()["items"][0]["sku"]
        sale = client.post("/api/v1/orders", headers={**headers, "Idempotency-Key": "hardware-off-1"}, json={
            "lane_id": "1", "lines": [{"sku": sku}], "tenders": [{"method": "cash", "amount_cents": 100_000}]})
        assert sale.status_code == 201
