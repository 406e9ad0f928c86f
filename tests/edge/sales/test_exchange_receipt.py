"""An exchange's receipt lists what came back as well as what was bought: the customer keeps one
slip for the whole swap (text and ESC/POS read the same rows)."""

from __future__ import annotations

from tests.edge.sales.conftest import cash_order, post


def test_the_exchange_receipt_lists_the_returned_items_and_the_new_sale(client, cashier, products):
    back, new = products[21], products[22]
    order = cash_order(client, cashier, [{"sku": back["sku"], "quantity": 2}]).json()
    line = order["lines"][0]
    ret = post(client, f"/api/v1/orders/{order['id']}/returns",
               {"lines": [{"line_id": line["id"], "quantity": 1}], "reason": "wrong size",
                "exchange": {"lines": [{"sku": new["sku"]}], "tenders": [{"method": "cash", "amount_cents": 100_000}]}},
               cashier)
    assert ret.status_code == 201, ret.text
    exchange = ret.json()["exchange_order"]
    refund = ret.json()["refund_cents"]

    text = client.get(f"/api/v1/orders/{exchange['id']}/receipt", headers=cashier).text
    returned_at = text.index(f"RETURNED from order {order['number']}")
    returned_row = next(row for row in text.splitlines() if row.startswith(f"1x {back['name'][:20]}"))
    assert returned_row.rstrip().endswith(f"-{refund // 100}.{refund % 100:02d}")
    assert text.index(new["name"][:20]) > returned_at  # the new sale follows what came back
    assert "EXCHANGE_CREDIT" in text

    plain = client.get(f"/api/v1/orders/{order['id']}/receipt", headers=cashier).text
    assert "RETURNED from order" not in plain  # the original sale's receipt shows its refund instead
