"""Low stock means one thing everywhere: at or below a positive threshold. A threshold of 0 (the
catalog's default) watches nothing, so a product nobody set a reorder point for never shows as
low, not even when it sells out."""

from __future__ import annotations

from edge.domain.inventory import is_low_stock
from tests.edge.sales.conftest import post


def product(client, headers, sku, threshold):
    body = {"sku": sku, "name": f"Test {sku}", "price_cents": 500, "tax_category": "standard",
            "low_stock_threshold": threshold}
    created = post(client, "/api/v1/products", body, headers)
    assert created.status_code == 201, created.text


def low_skus(client, headers, path):
    return {i["sku"] for i in client.get(path, headers=headers).json()["items"]}


def test_a_sold_out_product_with_threshold_zero_is_on_neither_low_stock_list(client, manager):
    product(client, manager, "LOW-OFF", 0)  # never stocked: 0 available
    product(client, manager, "LOW-ON", 3)  # never stocked: low
    product(client, manager, "LOW-FULL", 3)
    received = post(client, "/api/v1/inventory/receipts",
                    {"ref": "PO-77", "items": [{"sku": "LOW-FULL", "quantity": 10}]}, manager)
    assert received.status_code == 201, received.text

    for path in ("/api/v1/inventory?low_stock=true&limit=1000", "/api/v1/inventory/low-stock"):
        listed = low_skus(client, manager, path)
        assert "LOW-ON" in listed
        assert "LOW-OFF" not in listed and "LOW-FULL" not in listed


def test_the_low_stock_listing_agrees_with_the_domain_rule_for_every_product(client, manager):
    product(client, manager, "ZERO-T", 0)
    product(client, manager, "ONE-T", 1)
    everything = client.get("/api/v1/inventory?limit=1000", headers=manager).json()["items"]
    listed = low_skus(client, manager, "/api/v1/inventory?low_stock=true&limit=1000")
    thresholds = {i["threshold"] for i in everything}
    assert {0, 1, 5} <= thresholds  # the rule's edges are all in play
    assert {i["sku"] for i in everything if is_low_stock(i["available"], i["threshold"])} == listed
