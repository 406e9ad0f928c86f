"""Stock per location: the movement ledger and the operations that append to it.

Every operation appends movements (each with its own id), moves the level cache in the same
transaction, audits, and emits an event that *carries* its movements, so nothing downstream
ever infers stock from another fact. On hand is the ledger's sum; available = on hand -
active reservations. Crossing into low stock emits `stock.low` once (the level latches until
it recovers above the threshold).
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from typing import Any, TypeVar

import msgspec

from edge.contracts.spreadsheet import csv_writer
from edge.domain.errors import NotFound, ValidationFailed
from edge.domain.ids import uuid7
from edge.domain.inventory import LowStockChange, low_stock_change
from edge.domain.inventory import available as stock_available
from edge.service.commands import Counted, CountedItem, ItemRef, MovedItem
from edge.service.csv_import import BoundedCsv
from edge.service.ports import UnitOfWork
from edge.service.repository_ports import InventoryLine, SaleProduct, StockLevel, StockMovementRow

ADJUSTMENT_REASONS = ("damaged", "theft", "found", "correction", "expired", "sample", "internal_use", "write_off",
                      "supplier_return")
MOVEMENT_KINDS = ("sale", "return", "adjustment", "count", "receive", "transfer_out", "transfer_in", "write_off",
                  "void")


class StockMove(msgspec.Struct, frozen=True, kw_only=True):
    """A movement to append: what `append_movements` turns into a `StockMovementRow` at the
    location, stamped with its id, the actor and the transaction's time."""

    product_id: str
    sku: str
    kind: str  # one of MOVEMENT_KINDS
    delta: int  # signed: into stock is positive
    reason: str | None = None
    ref: str | None = None
    counted: int | None = None  # a count: what was counted, and what the lane expected then
    expected_at_count: int | None = None


class Recorded(msgspec.Struct, frozen=True, kw_only=True):
    """A count or a delivery received, under its reference, with the movements it appended."""

    ref: str | None
    movements: list[Movement]


class TransferredOut(msgspec.Struct, frozen=True, kw_only=True):
    transfer_id: str
    to_location: str
    movements: list[Movement]


class TransferredIn(msgspec.Struct, frozen=True, kw_only=True):
    transfer_id: str
    from_location: str
    movements: list[Movement]


class Imported(msgspec.Struct, frozen=True, kw_only=True):
    """A stock CSV import: its rows, and the corrections they made (unchanged levels move nothing)."""

    rows: int
    movements: list[Movement]


def location(uow: UnitOfWork) -> str:
    store = uow.actor.store_id
    if not store:
        raise ValidationFailed("this account is not bound to a store", code="store-required")
    return store


class Movement(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A ledger entry as events and answers carry it: the StockMovement contract
    (edge.contracts.events.StockMovement), plus its reason, a count's figures and, in the
    ledger listing, who moved it."""

    id: str
    location_id: str
    product_id: str
    sku: str
    kind: str
    delta: int
    ref: str | None
    at: str
    reason: str | None = None
    counted: int | None = None
    expected_at_count: int | None = None
    actor: str | None = None


def wire_movement(m: StockMovementRow, *, with_actor: bool = False) -> Movement:
    return Movement(id=m.id, location_id=m.location_id, product_id=m.product_id, sku=m.sku, kind=m.kind,
                    delta=m.delta, ref=m.ref, at=m.at, reason=m.reason or None, counted=m.counted,
                    expected_at_count=m.expected_at_count if m.counted is not None else None,
                    actor=m.actor if with_actor else None)


def append_movements(uow: UnitOfWork, loc: str, moves: list[StockMove],
                     levels: dict[str, StockLevel] | None = None,
                     products: dict[str, SaleProduct] | None = None) -> list[Movement]:
    """Append `moves` and raise `stock.low` where a product crosses its threshold; returns the
    movements as events carry them (`wire_movement`). `levels` (before the change) saves a read
    when the caller has them."""
    stock = uow.stock
    pids = list({m.product_id for m in moves})
    if levels is None:
        levels = stock.levels(loc, pids)
    movements = [StockMovementRow(id=uuid7(), location_id=loc, product_id=m.product_id, sku=m.sku, kind=m.kind,
                                  delta=m.delta, reason=m.reason, ref=m.ref, counted=m.counted,
                                  expected_at_count=m.expected_at_count, actor=uow.actor.username, at=uow.now)
                 for m in moves]
    stock.append(movements, uow.now)
    deltas: dict[str, int] = {}
    for m in movements:
        deltas[m.product_id] = deltas.get(m.product_id, 0) + m.delta
    check_low_stock(uow, loc, {pid: (levels[pid], deltas.get(pid, 0), 0) for pid in pids if pid in levels},
                    products)
    return [wire_movement(m) for m in movements]


def check_low_stock(uow: UnitOfWork, loc: str, changes: dict[str, tuple[StockLevel, int, int]],
                    products: dict[str, SaleProduct] | None = None) -> None:
    """changes: {product_id: (level before, on-hand delta, reserved delta)}."""
    stock = uow.stock
    for pid, (before, on_hand_delta, reserved_delta) in changes.items():
        threshold = before.threshold
        on_hand = before.on_hand + on_hand_delta
        available = stock_available(on_hand, before.reserved + reserved_delta)
        change = low_stock_change(available, threshold, flagged=before.low)
        if change is LowStockChange.RAISED:
            stock.set_low(loc, pid, True)
            product = (products or {}).get(pid)
            sku = product.sku if product is not None else None
            uow.emit("stock.low", {"location_id": loc, "product_id": pid, "sku": sku, "on_hand": on_hand,
                                   "available": available, "threshold": threshold})
        elif change is LowStockChange.CLEARED:
            stock.set_low(loc, pid, False)


def _product(uow: UnitOfWork, product_id: str | None, sku: str | None) -> SaleProduct:
    refs = uow.sale_products.resolve(ids=[product_id] if product_id else [], skus=[sku] if sku else [],
                                             barcodes=[])
    found = refs.get(("product_id", product_id)) if product_id else refs.get(("sku", sku or ""))
    if found is None:
        raise NotFound(f"no product {product_id or sku}", code="product-not-found")
    return found


_Item = TypeVar("_Item", bound=ItemRef)


def _resolved(uow: UnitOfWork, items: Sequence[_Item]) -> list[tuple[SaleProduct, _Item]]:
    if not items:
        raise ValidationFailed("at least one item is needed", errors=[{"field": "items", "message": "empty"}])
    return [(_product(uow, i.product_id, i.sku), i) for i in items]


def _emit_and_audit(uow: UnitOfWork, event: str, movements: list[Movement], extra: dict[str, str | None]) -> None:
    for m in movements:
        uow.audit(event, "stock", m.product_id, None, m)
    uow.emit(event, {"movements": movements, **extra})


# -- operations ---------------------------------------------------------------------------------
def adjust(uow: UnitOfWork, *, product_id: str | None, sku: str | None, delta: int, reason: str,
           note: str | None = None) -> Movement:
    if reason not in ADJUSTMENT_REASONS:
        raise ValidationFailed("unknown reason code", code="reason-invalid",
                               errors=[{"field": "reason", "message": "one of " + ", ".join(ADJUSTMENT_REASONS)}])
    if delta == 0:
        raise ValidationFailed("an adjustment of 0 changes nothing", errors=[{"field": "delta", "message": "not 0"}])
    loc = location(uow)
    product = _product(uow, product_id, sku)
    [movement] = append_movements(uow, loc, [StockMove(product_id=product.id, sku=product.sku, kind="adjustment",
                                                       delta=delta, reason=reason, ref=note)],
                                  products={product.id: product})
    uow.audit("stock.adjusted", "stock", product.id, None, movement)
    uow.emit("stock.moved", {"movement": movement})
    return movement


def count(uow: UnitOfWork, items: Sequence[CountedItem], ref: str | None) -> Recorded:
    """A physical count. Each item carries `counted` and, ideally, `expected_at_count` (what the
    system said when the shelf was counted): the correction is counted - expected, so sales
    rung up while the count was running still apply."""
    loc = location(uow)
    resolved = _resolved(uow, items)
    levels = uow.stock.levels(loc, [p.id for p, _ in resolved])
    moves = []
    for product, item in resolved:
        if item.counted < 0:
            raise ValidationFailed("counted must be a whole number >= 0", errors=[{"field": "counted",
                                                                                  "message": product.sku}])
        expected = item.expected_at_count
        if expected is None:
            expected = levels[product.id].on_hand
        moves.append(StockMove(product_id=product.id, sku=product.sku, kind="count", delta=item.counted - expected,
                               counted=item.counted, expected_at_count=expected, ref=ref, reason="count"))
    movements = append_movements(uow, loc, moves, levels, {p.id: p for p, _ in resolved})
    _emit_and_audit(uow, "stock.counted", movements, {"ref": ref})
    return Recorded(ref=ref, movements=movements)


def receive(uow: UnitOfWork, ref: str, items: Sequence[MovedItem]) -> Recorded:
    if not ref:
        raise ValidationFailed("receiving needs a reference (PO or delivery note)", errors=[{"field": "ref",
                                                                                            "message": "required"}])
    return Recorded(ref=ref, movements=_inbound_or_outbound(uow, "receive", ref, items, +1, "stock.received",
                                                             {"ref": ref}))


def transfer_out(uow: UnitOfWork, to_location: str, items: Sequence[MovedItem],
                 transfer_id: str | None = None) -> TransferredOut:
    transfer_id = transfer_id or uuid7()
    moved = _inbound_or_outbound(uow, "transfer_out", transfer_id, items, -1, "stock.transferred_out",
                                 {"transfer_id": transfer_id, "to_location": to_location})
    return TransferredOut(transfer_id=transfer_id, to_location=to_location, movements=moved)


def transfer_in(uow: UnitOfWork, transfer_id: str, from_location: str, items: Sequence[MovedItem]) -> TransferredIn:
    if not transfer_id:
        raise ValidationFailed("a transfer in names its transfer id", errors=[{"field": "transfer_id",
                                                                               "message": "required"}])
    moved = _inbound_or_outbound(uow, "transfer_in", transfer_id, items, +1, "stock.transferred_in",
                                 {"transfer_id": transfer_id, "from_location": from_location})
    return TransferredIn(transfer_id=transfer_id, from_location=from_location, movements=moved)


def _inbound_or_outbound(uow: UnitOfWork, kind: str, ref: str, items: Sequence[MovedItem], sign: int,
                         event: str, extra: dict[str, str | None]) -> list[Movement]:
    loc = location(uow)
    resolved = _resolved(uow, items)
    moves = []
    for product, item in resolved:
        if item.quantity <= 0:
            raise ValidationFailed("quantity must be a positive whole number",
                                   errors=[{"field": "quantity", "message": product.sku}])
        moves.append(StockMove(product_id=product.id, sku=product.sku, kind=kind, delta=sign * item.quantity,
                               ref=ref))
    movements = append_movements(uow, loc, moves, products={p.id: p for p, _ in resolved})
    _emit_and_audit(uow, event, movements, extra)
    return movements


# -- CSV import / export ------------------------------------------------------------------------
def import_levels_csv(uow: UnitOfWork, text: str) -> Imported:
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
    items = [Counted(sku=sku, counted=qty) for _, sku, qty in wanted]
    if not items:
        return Imported(rows=0, movements=[])
    result = count(uow, items, ref="csv-import")
    return Imported(rows=len(items), movements=[m for m in result.movements if m.delta != 0])


CSV_HEADER = ("sku", "name", "on_hand", "reserved", "available", "threshold")


def export_levels_csv(rows: list[InventoryLine], header: bool) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv_writer(buffer)  # product names are user text: never a live formula
    if header:
        writer.writerow(CSV_HEADER)
    for r in rows:
        writer.writerow([getattr(r, c) for c in CSV_HEADER])
    yield buffer.getvalue()


# -- queries ------------------------------------------------------------------------------------
def inventory(uow: UnitOfWork, *, product_id: str | None, sku: str | None, low_only: bool, after: str | None,
              limit: int, q: str | None = None) -> list[InventoryLine]:
    """Stock rows by SKU; `sku` finds part of a SKU, `q` part of a SKU or a product name."""
    return uow.stock.inventory(location(uow), product_id=product_id, sku=sku, low_only=low_only,
                                       after=after, limit=limit, q=q)


def movements(uow: UnitOfWork, **filters: Any) -> list[Movement]:
    product_id = filters.pop("product_id", None)
    sku = filters.pop("sku", None)
    if sku and not product_id:
        product_id = _product(uow, None, sku).id
    rows = uow.stock.movements(location_id=location(uow), product_id=product_id, **filters)
    return [wire_movement(r, with_actor=True) for r in rows]
