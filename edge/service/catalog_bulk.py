"""Applying many validated CSV rows at once: the set-based twin of `catalog.apply_csv_row`.

Row by row, a product took about ten statements (its checks, version bump, write, barcodes, audit
row and event), a few milliseconds each on the store box, so a 100,000-row import took minutes.
Here the rows of a chunk are checked against state read in a few queries, then written with one
`executemany` per statement: the products, their barcodes, one audit row and one
`product.changed` event per product, exactly what the row-by-row path writes (same versions in
the same order, same audit snapshots, same event payloads).

The checks are the row-by-row path's, against the same state: the catalog as the earlier rows of
this chunk leave it. A row that would read something an earlier row of the chunk changed (the
same SKU twice, a barcode an earlier row took or let go) ends the chunk before it; the next chunk
reads it from the database. Validation makes that rare: a file repeats no SKU or barcode.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import msgspec

from edge.domain.errors import Conflict, ValidationFailed
from edge.domain.ids import uuid7
from edge.service.catalog import CsvProduct, ImportedRow, _event_payload, given, present
from edge.service.ports import UnitOfWork
from edge.service.repository_ports import ProductRow

Outcome = ImportedRow | Conflict | ValidationFailed


# What a chunk will write, gathered in the file's order before anything is written: a product to
# create, or (the product before, the changed columns, its new barcodes or None) for an update.
_Planned = ProductRow | tuple[ProductRow, dict[str, Any], list[str] | None]


def apply_csv_rows(uow: UnitOfWork, rows: list[CsvProduct], *, deadline: float | None = None,
                   stop: Callable[[], bool] | None = None) -> list[tuple[CsvProduct, Outcome]]:
    """Create or update the products of validated rows, in order, with their audit rows and events.

    Returns the outcome of each row it took, a prefix of `rows`: it stops early at a row that
    depends on an earlier row of the same call, once checking has run past `deadline`
    (`time.monotonic()`), or once `stop()` says so (a lane's request arrived: it waits for this
    chunk). A refused row (a conflict that appeared after validation) writes nothing and does
    not stop the others."""
    catalog = uow.catalog
    bulk = uow.catalog_bulk
    taxes = {c.code for c in catalog.tax_categories()}
    existing = bulk.by_skus([str(r.product.sku) for r in rows])
    owners = bulk.barcode_owners([c for r in rows for c in (r.product.barcodes or [])])
    touched_skus: set[str] = set()
    touched_codes: set[str] = set()
    plan: list[_Planned] = []
    outcomes: list[tuple[CsvProduct, Outcome]] = []
    for row in rows:
        if outcomes and ((deadline is not None and time.monotonic() > deadline) or (stop is not None and stop())):
            break
        sku = str(row.product.sku)
        codes = list(row.product.barcodes or [])
        before = existing.get(sku)
        if sku in touched_skus or touched_codes.intersection(codes):
            break  # it would read what an earlier row of this chunk wrote: the next chunk reads it
        try:
            _check(row, before, taxes, owners)
        except (Conflict, ValidationFailed) as err:
            outcomes.append((row, err))
            continue
        touched_skus.add(sku)
        touched_codes.update(codes)
        if before is None:
            product = _new_product(uow, row)
            plan.append(product)
            outcomes.append((row, ImportedRow(row=row.row, sku=sku, status="created")))
        else:
            touched_codes.update(before.barcodes)
            changes = given(row.product)
            barcodes = changes.pop("barcodes", None)
            if "name" in changes:
                changes["name"] = changes["name"].strip()
            plan.append((before, changes, None if barcodes is None else list(barcodes)))
            outcomes.append((row, ImportedRow(row=row.row, sku=sku, status="updated")))
    _write(uow, plan)
    return outcomes


def _check(row: CsvProduct, before: ProductRow | None, taxes: set[str], owners: dict[str, str]) -> None:
    """`create_product`'s and `update_product`'s checks against the catalog, with their messages.
    (Their check of the row's own fields is not repeated: it depends on the row alone, and
    validation ran it on this very row before the job existed.)"""
    errors = []
    tax = row.product.tax_category
    if tax is not msgspec.UNSET and tax not in taxes:
        errors.append({"field": "tax_category", "message": f"unknown tax category {tax!r}"})
    product_id = before.id if before is not None else None
    for code in row.product.barcodes or ():
        owner = owners.get(code)
        if owner is not None and owner != product_id:
            errors.append({"field": "barcodes", "message": f"barcode {code} already belongs to another product"})
    if errors:
        raise ValidationFailed("the product is not valid", errors=errors)


def _new_product(uow: UnitOfWork, row: CsvProduct) -> ProductRow:
    p = row.product
    # As `create_product` builds it from `Product(**given(row.product))`: its defaults for what
    # the file leaves out. The version is stamped when the chunk takes its versions.
    attributes = p.attributes if p.attributes is not msgspec.UNSET else {}
    return ProductRow(id=uuid7(), sku=str(p.sku), name=str(p.name).strip(), price_cents=int(p.price_cents),
                      tax_category=str(p.tax_category), active=p.active if p.active is not msgspec.UNSET else True,
                      attributes=dict(attributes),
                      sold_by_weight=p.sold_by_weight if p.sold_by_weight is not msgspec.UNSET else False,
                      low_stock_threshold=(p.low_stock_threshold if p.low_stock_threshold is not msgspec.UNSET
                                           else 0),
                      version=0, created_at=uow.now, updated_at=uow.now, barcodes=sorted(p.barcodes or []))


def _write(uow: UnitOfWork, plan: list[_Planned]) -> None:
    if not plan:
        return
    bulk = uow.catalog_bulk
    version = bulk.take_versions(len(plan))
    now = uow.now
    created: list[ProductRow] = []
    updates: list[tuple[str, dict[str, Any]]] = []
    barcodes: list[tuple[str, list[str]]] = []
    audits: list[tuple[str, str, str | None, Any, Any]] = []
    events: list[dict[str, Any]] = []
    # Versions, audit rows and events in the file's order, as row-by-row calls would number them.
    for item in plan:
        if isinstance(item, ProductRow):
            product = msgspec.structs.replace(item, version=version)
            created.append(product)
            audits.append(("product.created", "product", product.id, None, present(product)))
        else:
            before, changes, codes = item
            values = changes | {"version": version, "updated_at": now}
            updates.append((before.id, values))
            if codes is not None:
                barcodes.append((before.id, codes))
            product = msgspec.structs.replace(before, **values,
                                              barcodes=sorted(codes) if codes is not None else before.barcodes)
            audits.append(("product.updated", "product", product.id, present(before), present(product)))
        events.append(_event_payload(product))
        version += 1
    bulk.insert_many(created)
    bulk.update_many(updates)
    bulk.replace_barcodes(barcodes)
    uow.audit_many(audits)
    uow.emit_many("product.changed", events)
