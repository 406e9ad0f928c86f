"""Catalog use cases: products, tax categories, store price overrides, CSV import, HQ commands.

Every change bumps the tenant's catalog version and stamps it on the product, which is what
lanes' `since=` delta sync reads. Each change writes its audit row and a `product.changed`
outbox event in the same transaction.
"""

from __future__ import annotations

import json
from typing import Any

from edge.contracts.bounds import json_depth_exceeds
from edge.contracts.spreadsheet import formula_cells
from edge.domain.catalog import MAX_ATTRIBUTES_DEPTH, override_problems, product_problems, require_valid_product
from edge.domain.errors import Conflict, NotFound, ValidationFailed
from edge.domain.ids import uuid7
from edge.service.csv_import import BoundedCsv
from edge.service.ports import UnitOfWork

PRODUCT_FIELDS = ("sku", "name", "price_cents", "tax_category", "active", "attributes", "sold_by_weight",
                  "low_stock_threshold")


def present(product: dict[str, Any], override_cents: int | None = None) -> dict[str, Any]:
    """The wire shape of a product. `price_cents` is the price in force at this store."""
    return {
        "id": product["id"],
        "sku": product["sku"],
        "name": product["name"],
        "barcodes": product["barcodes"],
        "price_cents": override_cents if override_cents is not None else product["price_cents"],
        "list_price_cents": product["price_cents"],
        "price_overridden": override_cents is not None,
        "tax_category": product["tax_category"],
        "active": bool(product["active"]),
        "attributes": product["attributes"],
        "sold_by_weight": bool(product["sold_by_weight"]),
        "low_stock_threshold": product["low_stock_threshold"],
        "version": product["version"],
    }


def _event_payload(p: dict[str, Any]) -> dict[str, Any]:
    return {k: p[k] for k in ("sku", "name", "barcodes", "price_cents", "tax_category", "active", "version",
                              "attributes")} | {"product_id": p["id"]}


def _check_references(uow: UnitOfWork, fields: dict[str, Any], product_id: str | None) -> None:
    catalog = uow.catalog
    errors = []
    if "tax_category" in fields and catalog.tax_category(fields["tax_category"]) is None:
        errors.append({"field": "tax_category", "message": f"unknown tax category {fields['tax_category']!r}"})
    for code in fields.get("barcodes") or []:
        owner = catalog.barcode_owner(code)
        if owner is not None and owner != product_id:
            errors.append({"field": "barcodes", "message": f"barcode {code} already belongs to another product"})
    if errors:
        raise ValidationFailed("the product is not valid", errors=errors)
    if "sku" in fields:
        same = catalog.by_sku(fields["sku"])
        if same is not None and same["id"] != product_id:
            raise Conflict(f"SKU {fields['sku']} already exists", code="duplicate-sku")


def create_product(uow: UnitOfWork, fields: dict[str, Any]) -> dict[str, Any]:
    require_valid_product(fields)
    _check_references(uow, fields, None)
    catalog = uow.catalog
    version = catalog.next_version()
    values = {
        "id": uuid7(),
        "sku": fields["sku"],
        "name": fields["name"].strip(),
        "price_cents": fields["price_cents"],
        "tax_category": fields["tax_category"],
        "active": fields.get("active", True),
        "attributes": fields.get("attributes") or {},
        "sold_by_weight": fields.get("sold_by_weight", False),
        "low_stock_threshold": fields.get("low_stock_threshold", 0),
        "version": version,
        "created_at": uow.now,
        "updated_at": uow.now,
    }
    catalog.insert(values, list(fields.get("barcodes") or []))
    product = catalog.get(values["id"])
    uow.audit("product.created", "product", product["id"], None, present(product))
    uow.emit("product.changed", _event_payload(product))
    return present(product)


def update_product(uow: UnitOfWork, product_id: str, changes: dict[str, Any], *, expected_version: int | None = None
                   ) -> dict[str, Any]:
    require_valid_product(changes, partial=True)
    catalog = uow.catalog
    before = catalog.get(product_id)
    if before is None:
        raise NotFound("no such product", code="product-not-found")
    if expected_version is not None and before["version"] != expected_version:
        raise Conflict(f"the product changed (version {before['version']}); reload and try again",
                       code="version-mismatch")
    _check_references(uow, changes, product_id)
    values = {k: v for k, v in changes.items() if k in PRODUCT_FIELDS}
    if "name" in values:
        values["name"] = values["name"].strip()
    values["version"] = catalog.next_version()
    values["updated_at"] = uow.now
    catalog.update(product_id, values)
    if "barcodes" in changes:
        catalog.set_barcodes(product_id, list(changes["barcodes"]))
    after = catalog.get(product_id)
    uow.audit("product.updated", "product", product_id, present(before), present(after))
    uow.emit("product.changed", _event_payload(after))
    return present(after)


# -- queries ------------------------------------------------------------------------------------
def get_product(uow: UnitOfWork, product_id: str) -> dict[str, Any]:
    catalog = uow.catalog
    product = catalog.get(product_id)
    if product is None:
        raise NotFound("no such product", code="product-not-found")
    return present(product, catalog.active_overrides([product_id], uow.now).get(product_id))


def search_products(uow: UnitOfWork, *, q: str | None, sku: str | None, barcode: str | None, since: int | None,
                    after: tuple[Any, str] | None, limit: int, include_inactive: bool = False
                    ) -> tuple[list[dict[str, Any]], tuple[Any, str] | None]:
    catalog = uow.catalog
    if (barcode or sku) and not q and since is None:
        # The lane's hot path: an exact code is one index probe, never a filtered scan.
        found = catalog.lookup(barcode=barcode, sku=None if barcode else sku, at=uow.now)
        if found is not None and sku and found["sku"] != sku:
            found = None
        if found is not None and not include_inactive and not found["active"]:
            found = None
        if found is None or after is not None:
            return [], None
        return [present(found, found.pop("override_cents"))], None
    rows = catalog.search(q=q, sku=sku, barcode=barcode, since=since, after=after, limit=limit + 1,
                          active_only=not include_inactive)
    more = len(rows) > limit
    rows = rows[:limit]
    overrides = catalog.active_overrides([r["id"] for r in rows], uow.now)
    items = [present(r, overrides.get(r["id"])) for r in rows]
    next_after = None
    if more and rows:
        last = rows[-1]
        next_after = ((last["version"] if since is not None else last["sku"]), last["id"])
    return items, next_after


# -- tax categories -----------------------------------------------------------------------------
def upsert_tax_category(uow: UnitOfWork, fields: dict[str, Any]) -> dict[str, Any]:
    errors = []
    code = fields.get("code")
    if not isinstance(code, str) or not code or len(code) > 32:
        errors.append({"field": "code", "message": "1-32 characters"})
    rate = fields.get("rate_bp")
    if not isinstance(rate, int) or isinstance(rate, bool) or not 0 <= rate <= 10_000:
        errors.append({"field": "rate_bp", "message": "basis points from 0 to 10000 (825 = 8.25 %)"})
    if not isinstance(fields.get("inclusive", False), bool):
        errors.append({"field": "inclusive", "message": "true or false"})
    if errors:
        raise ValidationFailed("the tax category is not valid", errors=errors)
    catalog = uow.catalog
    before = catalog.tax_category(code)
    values = {"code": code, "name": fields.get("name") or code, "rate_bp": rate,
              "inclusive": fields.get("inclusive", False), "version": (before["version"] + 1) if before else 1,
              "updated_at": uow.now}
    catalog.upsert_tax_category(values)
    after = catalog.tax_category(code)
    uow.audit("tax_category.saved", "tax_category", code, _tax(before) if before else None, _tax(after))
    uow.emit("tax_category.changed", _tax(after))
    return _tax(after)


def _tax(row: dict[str, Any]) -> dict[str, Any]:
    return {k: row[k] for k in ("code", "name", "rate_bp", "inclusive", "version")}


def list_tax_categories(uow: UnitOfWork) -> list[dict[str, Any]]:
    return [_tax(r) for r in uow.catalog.tax_categories()]


# -- store price overrides ----------------------------------------------------------------------
def add_price_override(uow: UnitOfWork, product_id: str, price_cents: int, valid_from: str | None,
                       valid_to: str | None) -> dict[str, Any]:
    catalog = uow.catalog
    if catalog.get(product_id) is None:
        raise NotFound("no such product", code="product-not-found")
    start = valid_from or uow.now
    errors = override_problems(price_cents, start, valid_to)
    if errors:
        raise ValidationFailed("the price override is not valid", errors=errors)
    override = {"id": uuid7(), "product_id": product_id, "price_cents": price_cents, "valid_from": start,
                "valid_to": valid_to, "created_at": uow.now}
    catalog.add_override(override)
    # Bump the product's version so lanes' delta sync picks the new store price up.
    catalog.update(product_id, {"version": catalog.next_version(), "updated_at": uow.now})
    uow.audit("price_override.created", "product", product_id, None, override)
    uow.emit("price_override.created", override | {"store_id": uow.actor.store_id})
    return override


def list_price_overrides(uow: UnitOfWork, product_id: str) -> list[dict[str, Any]]:
    if uow.catalog.get(product_id) is None:
        raise NotFound("no such product", code="product-not-found")
    return uow.catalog.overrides(product_id)


# -- CSV import ---------------------------------------------------------------------------------
CSV_COLUMNS = ("sku", "name", "price_cents", "tax_category")


def parse_catalog_csv(text: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Parse rows into product fields; returns (rows, problems). Row numbers count the header as 1."""
    reader = BoundedCsv(text)
    missing = [c for c in CSV_COLUMNS if c not in reader.fieldnames]
    if missing:
        return [], [{"row": 1, "errors": [{"field": c, "message": "missing column"} for c in missing]}]
    rows, problems = [], []
    for index, raw in reader:
        errors: list[dict[str, str]] = []
        fields: dict[str, Any] = {"sku": (raw.get("sku") or "").strip(), "name": (raw.get("name") or "").strip(),
                                  "tax_category": (raw.get("tax_category") or "").strip()}
        price = (raw.get("price_cents") or "").strip()
        if price.isdigit():
            fields["price_cents"] = int(price)
        else:
            errors.append({"field": "price_cents", "message": f"{price!r} is not a whole number of cents"})
            fields["price_cents"] = 0
        codes = [c.strip() for c in (raw.get("barcodes") or "").replace(";", "|").split("|") if c.strip()]
        fields["barcodes"] = codes
        active = (raw.get("active") or "true").strip().lower()
        if active not in ("true", "false", "1", "0", "yes", "no"):
            errors.append({"field": "active", "message": "true or false"})
        fields["active"] = active in ("true", "1", "yes")
        if raw.get("attributes"):
            # Depth first: json.loads recurses, and 5,000 brackets end in a RecursionError.
            if json_depth_exceeds(raw["attributes"], MAX_ATTRIBUTES_DEPTH):
                errors.append({"field": "attributes", "message": f"at most {MAX_ATTRIBUTES_DEPTH} levels of nesting"})
            else:
                try:
                    fields["attributes"] = json.loads(raw["attributes"])
                except ValueError:
                    errors.append({"field": "attributes", "message": "a JSON object"})
        errors += product_problems(fields)
        if errors:
            problems.append({"row": index, "sku": fields["sku"], "errors": errors})
        rows.append({"row": index, **fields, "formula_columns": formula_cells(raw)})
    return rows, problems


def import_catalog_csv(uow: UnitOfWork, text: str) -> dict[str, Any]:
    """All or nothing: a file with any bad row changes nothing and reports every bad row."""
    rows, problems = parse_catalog_csv(text)
    catalog = uow.catalog
    seen_skus: dict[str, int] = {}
    seen_codes: dict[str, int] = {}
    for row in rows:
        errors = []
        if row["sku"] in seen_skus:
            errors.append({"field": "sku", "message": f"also on row {seen_skus[row['sku']]}"})
        seen_skus.setdefault(row["sku"], row["row"])
        existing = catalog.by_sku(row["sku"]) if row["sku"] else None
        if row["tax_category"] and catalog.tax_category(row["tax_category"]) is None:
            errors.append({"field": "tax_category", "message": f"unknown tax category {row['tax_category']!r}"})
        for code in row["barcodes"]:
            if code in seen_codes:
                errors.append({"field": "barcodes", "message": f"{code} also on row {seen_codes[code]}"})
            seen_codes.setdefault(code, row["row"])
            owner = catalog.barcode_owner(code)
            if owner is not None and (existing is None or owner != existing["id"]):
                errors.append({"field": "barcodes", "message": f"{code} belongs to another product"})
        if errors:
            problems.append({"row": row["row"], "sku": row["sku"], "errors": errors})
    if problems:
        problems.sort(key=lambda p: p["row"])
        raise ValidationFailed(f"{len(problems)} row(s) are not valid; nothing was imported",
                               code="csv-invalid", errors=problems)
    report, warnings = [], []
    created = updated = 0
    for row in rows:
        fields = {k: v for k, v in row.items() if k not in ("row", "formula_columns")}
        existing = catalog.by_sku(row["sku"])
        if existing is None:
            create_product(uow, fields)
            created += 1
            report.append({"row": row["row"], "sku": row["sku"], "status": "created"})
        else:
            update_product(uow, existing["id"], fields)
            updated += 1
            report.append({"row": row["row"], "sku": row["sku"], "status": "updated"})
        # Imported as typed (it may be a real name), but someone should look: the same text
        # pasted into a spreadsheet by hand would run. Exports escape it.
        warnings += [{"row": row["row"], "sku": row["sku"], "field": column, "code": "csv-formula",
                      "message": "starts with = + - @ or a tab, which a spreadsheet runs as a formula; "
                                 "CSV exports escape it"} for column in row["formula_columns"]]
    return {"created": created, "updated": updated, "rows": report, "warnings": warnings}


# -- HQ commands (down replication) -------------------------------------------------------------
def apply_hq_catalog(uow: UnitOfWork, command_type: str, version: int, payload: dict[str, Any]) -> str:
    """Apply an HQ catalog/price/tax command. HQ is the single writer of the catalog and list
    prices; store price overrides are separate rows and are never touched here."""
    catalog = uow.catalog
    if command_type == "tax.set":
        upsert_tax_category(uow, payload)
        return "applied"
    if command_type not in ("catalog.upsert", "price.set"):
        return "ignored"
    existing = catalog.by_sku(payload["sku"])
    hq_version = (existing or {}).get("attributes", {}).get("hq_version", 0) if existing else 0
    if existing is not None and hq_version >= version:
        return "stale"
    if command_type == "price.set":
        if existing is None:
            return "unknown-sku"
        attributes = dict(existing["attributes"]) | {"hq_version": version}
        update_product(uow, existing["id"], {"price_cents": payload["price_cents"], "attributes": attributes})
        return "applied"
    fields = {k: payload[k] for k in ("sku", "name", "price_cents", "tax_category", "barcodes", "active")
              if k in payload}
    fields["attributes"] = dict(payload.get("attributes") or {}) | {"hq_version": version}
    if existing is None:
        create_product(uow, fields)
    else:
        update_product(uow, existing["id"], fields)
    return "applied"
