"""Stock per location: the movement ledger and the operations that append to it.

Every operation appends movements (each with its own id), moves the level cache in the same
transaction, audits, and emits an event that *carries* its movements, so nothing downstream
ever infers stock from another fact. On hand is the ledger's sum; available = on hand -
active reservations. Crossing into low stock emits `stock.low` once (the level latches until
it recovers above the threshold).
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

from edge.contracts.spreadsheet import csv_writer
from edge.domain.errors import NotFound, ValidationFailed
from edge.domain.ids import uuid7
from edge.domain.inventory import LowStockChange, low_stock_change
from edge.domain.inventory import available as stock_available
from edge.service.csv_import import BoundedCsv
from edge.service.ports import UnitOfWork
from edge.service.repository_ports import StockLevel, StockMovementRow

ADJUSTMENT_REASONS = ("damaged", "theft", "found", "correction", "expired", "sample", "internal_use", "write_off",
                      "supplier_return")
MOVEMENT_KINDS = ("sale", "return", "adjustment", "count", "receive", "transfer_out", "transfer_in", "write_off",
                  "void")


def location(uow: UnitOfWork) -> str:
    store = uow.actor.store_id
    if not store:
        raise ValidationFailed("this account is not bound to a store", code="store-required")
    return store


def wire_movement(m: StockMovementRow) -> dict[str, Any]:
    """The StockMovement contract shape (edge.contracts.events.StockMovement), plus extras."""
    out = {"id": m.id, "location_id": m.location_id, "product_id": m.product_id, "sku": m.sku,
           "kind": m.kind, "delta": m.delta, "ref": m.ref, "at": m.at}
    if m.reason:
        out["reason"] = m.reason
    if m.counted is not None:
        out["counted"] = m.counted
        out["expected_at_count"] = m.expected_at_count
    return out


def append_movements(uow: UnitOfWork, loc: str, rows: list[dict[str, Any]],
                     levels: dict[str, StockLevel] | None = None,
                     products: dict[str, dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """Append `rows` ({product_id, sku, kind, delta, ...}) and raise `stock.low` where a product
    crosses its threshold. `levels` (before the change) saves a read when the caller has them."""
    stock = uow.stock
    pids = list({r["product_id"] for r in rows})
    if levels is None:
        levels = stock.levels(loc, pids)
    movements = [StockMovementRow(id=uuid7(), location_id=loc, actor=uow.actor.username, at=uow.now, **r)
                 for r in rows]
    stock.append(movements, uow.now)
    deltas: dict[str, int] = {}
    for m in movements:
        deltas[m.product_id] = deltas.get(m.product_id, 0) + m.delta
    check_low_stock(uow, loc, {pid: (levels[pid], deltas.get(pid, 0), 0) for pid in pids if pid in levels},
                    products)
    return [wire_movement(m) for m in movements]


def check_low_stock(uow: UnitOfWork, loc: str, changes: dict[str, tuple[StockLevel, int, int]],
                    products: dict[str, dict[str, Any]] | None = None) -> None:
    """changes: {product_id: (level before, on-hand delta, reserved delta)}."""
    stock = uow.stock
    for pid, (before, on_hand_delta, reserved_delta) in changes.items():
        threshold = before.threshold
        on_hand = before.on_hand + on_hand_delta
        available = stock_available(on_hand, before.reserved + reserved_delta)
        change = low_stock_change(available, threshold, flagged=before.low)
        if change is LowStockChange.RAISED:
            stock.set_low(loc, pid, True)
            sku = (products or {}).get(pid, {}).get("sku")
            uow.emit("stock.low", {"location_id": loc, "product_id": pid, "sku": sku, "on_hand": on_hand,
                                   "available": available, "threshold": threshold})
        elif change is LowStockChange.CLEARED:
            stock.set_low(loc, pid, False)


def _product(uow: UnitOfWork, product_id: str | None, sku: str | None) -> dict[str, Any]:
    refs = uow.sale_products.resolve(ids=[product_id] if product_id else [], skus=[sku] if sku else [],
                                             barcodes=[])
    found = refs.get(("product_id", product_id)) if product_id else refs.get(("sku", sku or ""))
    if found is None:
        raise NotFound(f"no product {product_id or sku}", code="product-not-found")
    return found


def _items(uow: UnitOfWork, items: list[dict[str, Any]]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    if not items:
        raise ValidationFailed("at least one item is needed", errors=[{"field": "items", "message": "empty"}])
    return [(_product(uow, i.get("product_id"), i.get("sku")), i) for i in items]


def _emit_and_audit(uow: UnitOfWork, event: str, movements: list[dict[str, Any]], extra: dict[str, Any]) -> None:
    for m in movements:
        uow.audit(event, "stock", m["product_id"], None, m)
    uow.emit(event, {"movements": movements, **extra})


# -- operations ---------------------------------------------------------------------------------
def adjust(uow: UnitOfWork, *, product_id: str | None, sku: str | None, delta: int, reason: str,
           note: str | None = None) -> dict[str, Any]:
    if reason not in ADJUSTMENT_REASONS:
        raise ValidationFailed("unknown reason code", code="reason-invalid",
                               errors=[{"field": "reason", "message": "one of " + ", ".join(ADJUSTMENT_REASONS)}])
    if delta == 0:
        raise ValidationFailed("an adjustment of 0 changes nothing", errors=[{"field": "delta", "message": "not 0"}])
    loc = location(uow)
    product = _product(uow, product_id, sku)
    [movement] = append_movements(uow, loc, [{"product_id": product["id"], "sku": product["sku"],
                                              "kind": "adjustment", "delta": delta, "reason": reason,
                                              "ref": note}], products={product["id"]: product})
    uow.audit("stock.adjusted", "stock", product["id"], None, movement)
    uow.emit("stock.moved", {"movement": movement})
    return movement


def count(uow: UnitOfWork, items: list[dict[str, Any]], ref: str | None) -> dict[str, Any]:
    """A physical count. Each item carries `counted` and, ideally, `expected_at_count` (what the
    system said when the shelf was counted): the correction is counted - expected, so sales
    rung up while the count was running still apply."""
    loc = location(uow)
    resolved = _items(uow, items)
    levels = uow.stock.levels(loc, [p["id"] for p, _ in resolved])
    rows = []
    for product, item in resolved:
        counted = item.get("counted")
        if not isinstance(counted, int) or counted < 0:
            raise ValidationFailed("counted must be a whole number >= 0", errors=[{"field": "counted",
                                                                                  "message": product["sku"]}])
        expected = item.get("expected_at_count")
        if expected is None:
            expected = levels[product["id"]].on_hand
        rows.append({"product_id": product["id"], "sku": product["sku"], "kind": "count",
                     "delta": counted - expected, "counted": counted, "expected_at_count": expected,
                     "ref": ref, "reason": "count"})
    movements = append_movements(uow, loc, rows, levels, {p["id"]: p for p, _ in resolved})
    _emit_and_audit(uow, "stock.counted", movements, {"ref": ref})
    return {"ref": ref, "movements": movements}


def receive(uow: UnitOfWork, ref: str, items: list[dict[str, Any]]) -> dict[str, Any]:
    if not ref:
        raise ValidationFailed("receiving needs a reference (PO or delivery note)", errors=[{"field": "ref",
                                                                                            "message": "required"}])
    return _inbound_or_outbound(uow, "receive", ref, items, +1, "stock.received", {"ref": ref})


def transfer_out(uow: UnitOfWork, to_location: str, items: list[dict[str, Any]],
                 transfer_id: str | None = None) -> dict[str, Any]:
    transfer_id = transfer_id or uuid7()
    return _inbound_or_outbound(uow, "transfer_out", transfer_id, items, -1, "stock.transferred_out",
                                {"transfer_id": transfer_id, "to_location": to_location})


def transfer_in(uow: UnitOfWork, transfer_id: str, from_location: str, items: list[dict[str, Any]]) -> dict[str, Any]:
    if not transfer_id:
        raise ValidationFailed("a transfer in names its transfer id", errors=[{"field": "transfer_id",
                                                                               "message": "required"}])
    return _inbound_or_outbound(uow, "transfer_in", transfer_id, items, +1, "stock.transferred_in",
                                {"transfer_id": transfer_id, "from_location": from_location})


def _inbound_or_outbound(uow: UnitOfWork, kind: str, ref: str, items: list[dict[str, Any]], sign: int,
                         event: str, extra: dict[str, Any]) -> dict[str, Any]:
    loc = location(uow)
    resolved = _items(uow, items)
    rows = []
    for product, item in resolved:
        qty = item.get("quantity")
        if not isinstance(qty, int) or qty <= 0:
            raise ValidationFailed("quantity must be a positive whole number",
                                   errors=[{"field": "quantity", "message": product["sku"]}])
        rows.append({"product_id": product["id"], "sku": product["sku"], "kind": kind, "delta": sign * qty,
                     "ref": ref})
    movements = append_movements(uow, loc, rows, products={p["id"]: p for p, _ in resolved})
    _emit_and_audit(uow, event, movements, extra)
    return {**extra, "movements": movements}


# -- CSV import / export ------------------------------------------------------------------------
def import_levels_csv(uow: UnitOfWork, text: str) -> dict[str, Any]:
    """`sku,on_hand` rows set stock by count movements (reason "import"). All or nothing."""
    reader = BoundedCsv(text)
    if "sku" not in reader.fieldnames or "on_hand" not in reader.fieldnames:
        raise ValidationFailed("the CSV needs the columns sku and on_hand", code="csv-invalid")
    wanted, problems = [], []
    for n, row in reader:
        sku, raw = (row.get("sku") or "").strip(), (row.get("on_hand") or "").strip()
        if not raw.lstrip("-").isdigit():
            problems.append({"row": n, "sku": sku, "errors": [{"field": "on_hand", "message": "a whole number"}]})
            continue
        wanted.append((n, sku, int(raw)))
    found = uow.sale_products.resolve(ids=[], skus=[s for _, s, _ in wanted], barcodes=[])
    for n, sku, _ in wanted:
        if ("sku", sku) not in found:
            problems.append({"row": n, "sku": sku, "errors": [{"field": "sku", "message": "unknown SKU"}]})
    if problems:
        raise ValidationFailed(f"{len(problems)} row(s) are not valid; nothing was imported", code="csv-invalid",
                               errors=sorted(problems, key=lambda p: p["row"]))
    items = [{"sku": sku, "counted": qty} for _, sku, qty in wanted]
    if not items:
        return {"rows": 0, "movements": []}
    result = count(uow, items, ref="csv-import")
    return {"rows": len(items), "movements": [m for m in result["movements"] if m["delta"] != 0]}


CSV_HEADER = ("sku", "name", "on_hand", "reserved", "available", "threshold")


def export_levels_csv(rows: list[dict[str, Any]], header: bool) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv_writer(buffer)  # product names are user text: never a live formula
    if header:
        writer.writerow(CSV_HEADER)
    for r in rows:
        writer.writerow([r[c] for c in CSV_HEADER])
    yield buffer.getvalue()


# -- queries ------------------------------------------------------------------------------------
def inventory(uow: UnitOfWork, *, product_id: str | None, sku: str | None, low_only: bool, after: str | None,
              limit: int, q: str | None = None) -> list[dict[str, Any]]:
    """Stock rows by SKU; `sku` finds part of a SKU, `q` part of a SKU or a product name."""
    return uow.stock.inventory(location(uow), product_id=product_id, sku=sku, low_only=low_only,
                                       after=after, limit=limit, q=q)


def movements(uow: UnitOfWork, **filters: Any) -> list[dict[str, Any]]:
    product_id = filters.pop("product_id", None)
    sku = filters.pop("sku", None)
    if sku and not product_id:
        product_id = _product(uow, None, sku)["id"]
    rows = uow.stock.movements(location_id=location(uow), product_id=product_id, **filters)
    return [wire_movement(r) | {"actor": r.actor} for r in rows]
