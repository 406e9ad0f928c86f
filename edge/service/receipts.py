"""Receipts, built from the stored order (never from a lane's cache), rendered as text or HTML.

Looking at a receipt changes nothing. Issuing one (the lane printer's paper at the sale, or an
explicit print) is counted: the first is the original, every later one is marked COPY, so a
reprint can never pass for a second sale. ESC/POS rendering lives in an adapter
(`edge.adapters.receipts_escpos`) because it drives python-escpos.
"""

from __future__ import annotations

import html
from typing import Any

import msgspec

from edge.service import customers
from edge.service.orders import get_order
from edge.service.ports import UnitOfWork

E_RECEIPT_BASE = "https://receipts.novapos.dev"
WIDTH = 42


class ReturnedItem(msgspec.Struct, frozen=True, kw_only=True):
    """A line brought back in an exchange, as the exchange's receipt lists it."""

    name: str
    quantity: int
    refund_cents: int


class ReceiptView(msgspec.Struct, frozen=True, kw_only=True):
    """A receipt to render: the order as answers show it (`orders.present`), and how it prints.
    An exchange's new sale also lists what came back (`returned`, from order `returned_from`)."""

    order: dict[str, Any]  # the order's JSON view
    copy: bool  # a receipt was issued before: marked COPY
    print_no: int
    store_name: str | None
    url: str  # the e-receipt
    returned_from: str | None = None  # the number of the order the returned items came from
    returned: list[ReturnedItem] = []
    # The attached customer's loyalty card code, in full (printed as a CODE128 barcode too, so the
    # slip can be scanned next time). It is a random identifier, not contact data: the receipt
    # bytes the hardware hub keeps for reprints hold no name, email or phone, and once the customer
    # is erased the code resolves to nothing (its blind index is gone at the store and at HQ).
    member_card: str | None = None



def receipt_view(uow: UnitOfWork, order_id: str, *, original: bool = False) -> ReceiptView:
    """The receipt as it would print now, read-only: a COPY once any receipt was issued.

    `original` is the lane's own screen right after the sale: the receipt issued with the sale,
    shown not printed, so never a COPY (whether the lane printer got there first is a race)."""
    order = get_order(uow, order_id)
    prints = uow.orders.get(order_id).receipt_prints
    store = uow.stores.store(uow.actor.store_id) if uow.actor.store_id else None
    returned_from, returned = _exchanged(uow, order.get("exchange_of"))
    return ReceiptView(order=order, copy=prints > 0 and not original, print_no=prints + 1,
                       store_name=store.name if store is not None else uow.actor.store_id,
                       url=f"{E_RECEIPT_BASE}/{uow.actor.tenant_id}/{order_id}",
                       returned_from=returned_from, returned=returned,
                       member_card=customers.card_code(uow, order.get("customer_id")) or None)


def _exchanged(uow: UnitOfWork, return_id: str | None) -> tuple[str | None, list[ReturnedItem]]:
    """What an exchange's customer brought back: the customer keeps one slip for the whole swap."""
    found = uow.orders.return_by_id(return_id) if return_id else None
    if found is None:
        return None, []
    ret, lines = found
    original = get_order(uow, ret.order_id)
    names = {ln["id"]: ln["name"] for ln in original["lines"]}
    return original["number"], [ReturnedItem(name=names.get(ln.order_line_id, "item"), quantity=ln.quantity,
                                             refund_cents=ln.refund_cents) for ln in lines]


def record_print(uow: UnitOfWork, order_id: str, *, source: str = "request") -> ReceiptView:
    """Issue a receipt: the view as it stands, then count it, so the next one is a COPY."""
    view = receipt_view(uow, order_id)
    uow.orders.update(order_id, {"receipt_prints": view.print_no})
    uow.audit("receipt.printed", "order", order_id, None,
              {"copy": view.copy, "print_no": view.print_no, "source": source})
    return view


def money(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    return f"{sign}{abs(cents) // 100}.{abs(cents) % 100:02d}"


def lines_of(r: ReceiptView) -> list[tuple[str, str]]:
    """(left, right) rows shared by the text and ESC/POS renderings.

    Line amounts are what the customer pays for the line (tax and discount included), so the
    figure above the tax is labelled as the net excluding tax, and a discount row says it is
    already in the line above. Refunds show only what the processor confirmed; a refund still
    pending or refused shows as such, with what is still owed to the customer."""
    o = r.order
    cur = o["currency"]
    rows: list[tuple[str, str]] = []
    if r.returned:
        rows.append((f"RETURNED from order {r.returned_from}", ""))
        rows += [(f"{item.quantity}x {item.name}"[:WIDTH - 10], money(-item.refund_cents)) for item in r.returned]
        rows += [("", ""), ("NEW SALE", "")]
    for ln in o["lines"]:
        qty = f"{ln['weight_grams']}g" if ln["weight_grams"] else f"{ln['quantity']}x"
        rows.append((f"{qty} {ln['name']}"[:WIDTH - 10], money(ln["total_cents"])))
        if ln["discount_cents"]:
            rows.append(("   incl. discount", money(-ln["discount_cents"])))
    tax_inclusive = bool(o["lines"]) and all(ln.get("tax_inclusive", True) for ln in o["lines"])
    rows += [("", ""), ("Net excl. tax", money(o["subtotal_cents"])),
             ("Tax included" if tax_inclusive else "Tax", money(o["tax_cents"])),
             ("TOTAL " + cur, money(o["total_cents"]))]
    if o["discount_cents"]:
        rows.append(("You saved", money(o["discount_cents"])))
    for t in o["tenders"]:
        if t["approved_cents"]:
            label = t["method"].upper() + (f" ****{t['card_last4']}" if t.get("card_last4") else "")
            rows.append((label, money(t.get("tendered_cents") or t["approved_cents"])))
    if o["change_due_cents"]:
        rows.append(("Change", money(o["change_due_cents"])))
    for rf in o["refunds"]:
        method = rf["method"].upper()
        if rf["status"] == "refunded":
            rows.append((f"REFUND {method}", money(-rf["approved_cents"])))
        elif rf["status"] == "failed":
            rows.append((f"REFUND {method} NOT PROCESSED", money(0)))
        elif rf["status"] in ("created", "timed_out", "awaiting"):
            rows.append((f"REFUND {method} PENDING", money(0)))
    if o.get("refund_owed_cents"):
        rows.append(("OWED TO CUSTOMER", money(o["refund_owed_cents"])))
    return rows


def header_of(r: ReceiptView) -> list[str]:
    o = r.order
    out = [r.store_name or "", f"Order {o['number']}  Lane {o['lane_id']}", f"{o['created_at'][:19].replace('T', ' ')} UTC",
           f"Cashier {o['cashier']}"]
    if o["status"] not in ("COMPLETED",):
        out.append(f"*** {o['status'].replace('_', ' ')} ***")
    if o.get("refund_state") == "failed":
        out.append("*** REFUND NOT PROCESSED ***")
    if r.member_card:
        out.append(f"Member card {r.member_card}")
    if r.copy:
        out.insert(0, "*** COPY ***")
    return out


def render_text(r: ReceiptView) -> str:
    out = [h.center(WIDTH) for h in header_of(r)] + ["-" * WIDTH]
    for left, right in lines_of(r):
        out.append(left.ljust(WIDTH - len(right)) + right if left or right else "")
    out += ["-" * WIDTH, "E-receipt: " + r.url]
    if r.copy:
        out.append("*** COPY ***".center(WIDTH))
    return "\n".join(out) + "\n"


def render_html(r: ReceiptView) -> str:
    e = html.escape
    head = "".join(f"<div>{e(h)}</div>" for h in header_of(r))
    # `align`, not a style attribute: receipts show in a srcdoc frame under the app's CSP, which
    # refuses inline styles.
    rows = "".join(f"<tr><td>{e(left)}</td><td align='right'>{e(right)}</td></tr>"
                   for left, right in lines_of(r))
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>Receipt {e(r.order['number'])}</title>"
            f"</head><body><header>{head}</header><table>{rows}</table>"
            f"<p><a href='{e(r.url)}'>E-receipt</a></p></body></html>")
