"""Points in the accounting journal: redeemed points settle the loyalty liability (they are not money
taken and the sale keeps its full revenue), a refund back to points reverses that, a tender method the
journal does not know still gets its own account, and every day still balances."""

from __future__ import annotations

from cloud import journal


def completed(order_id: str, tenders: list[tuple[str, int]]) -> dict:
    return {"type": "order.completed", "payload": {
        "order_id": order_id, "currency": "EUR", "total_cents": 1_000,
        "lines": [{"line_id": f"{order_id}-1", "sku": "A", "total_cents": 1_000, "tax_cents": 167,
                   "tax_rate_bp": 2_000, "tax_category": "standard"}],
        "tenders": [{"method": m, "amount_cents": a} for m, a in tenders]}}


def balanced(result: dict) -> bool:
    entries = result["entries"]
    return sum(e["debit_cents"] for e in entries) == sum(e["credit_cents"] for e in entries)


def accounts(result: dict) -> dict[str, int]:
    return {e["account"]: e["debit_cents"] - e["credit_cents"] for e in result["entries"]}


def test_points_settle_the_loyalty_liability_and_the_sale_keeps_its_revenue():
    day = journal.build([completed("o1", [("points", 300), ("cash", 700)])], lambda *_: None)
    booked = accounts(day)
    assert booked["loyalty_liability"] == 300 and booked["tender:cash"] == 700
    assert "tender:points" not in booked
    assert booked["sales:2000bp"] == -833 and booked["tax:2000bp"] == -167  # full price, not discounted
    assert day["rounding_cents"] == 0 and balanced(day)


def test_a_refund_to_points_credits_the_liability_back():
    sale = completed("o1", [("points", 1_000)])
    refund = {"type": "return.created", "payload": {
        "order_id": "o1", "refund_cents": 1_000,
        "lines": [{"line_id": "o1-1", "sku": "A", "quantity": 1, "total_cents": 1_000}],
        "refunds": [{"method": "points", "amount_cents": 1_000}]}}
    day = journal.build([sale, refund], lambda order_id, same_day: sale["payload"])
    assert "loyalty_liability" not in accounts(day)  # redeemed and restored the same day: nothing left
    assert balanced(day)


def test_an_unknown_tender_method_gets_its_own_account_and_the_day_balances():
    day = journal.build([completed("o1", [("voucher", 1_000)])], lambda *_: None)
    assert accounts(day)["tender:voucher"] == 1_000 and balanced(day)
