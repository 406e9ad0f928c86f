"""Catalog use cases: products, tax categories, store price overrides, CSV import, HQ commands.

Every change bumps the tenant's catalog version and stamps it on the product, which is what
lanes' `since=` delta sync reads. Each change writes its audit row and a `product.changed`
outbox event in the same transaction.
"""

from __future__ import annotations

import json
from typing import Any, TypeVar

import msgspec

from edge.contracts.bounds import json_depth_exceeds
from edge.contracts.spreadsheet import formula_cells
from edge.domain.catalog import MAX_ATTRIBUTES_DEPTH, override_problems, product_problems, require_valid_product
from edge.domain.errors import Conflict, NotFound, ValidationFailed
from edge.domain.ids import uuid7
from edge.service.commands import Changes, NewProduct, Product, ProductChange, TaxCategoryFields, TaxCategoryIn
from edge.service.csv_import import BoundedCsv
from edge.service.ports import UnitOfWork
from edge.service.repository_ports import PriceOverrideRow, ProductRow, TaxCategoryRow

PRODUCT_FIELDS = ("sku", "name", "price_cents", "tax_category", "barcodes", "active", "attributes", "sold_by_weight",
                  "low_stock_threshold")
UNSET = msgspec.UNSET


def given(cmd: NewProduct | ProductChange) -> dict[str, Any]:
    """The fields a command sets, by name: what the domain's product rules check."""
    return {f: v for f in PRODUCT_FIELDS if (v := getattr(cmd, f)) is not UNSET}


class ProductView(msgspec.Struct, frozen=True, kw_only=True):
    """A product as answers and audit rows show it. `price_cents` is the price in force at this
    store (`list_price_cents` unless a store override is in force)."""

    id: str
    sku: str
    name: str
    barcodes: list[str]
    price_cents: int
    list_price_cents: int
    price_overridden: bool
    tax_category: str
    active: bool
    attributes: dict[str, Any]  # JSON
    sold_by_weight: bool
    low_stock_threshold: int
    version: int


def present(product: ProductRow, override_cents: int | None = None) -> ProductView:
    return ProductView(id=product.id, sku=product.sku, name=product.name, barcodes=product.barcodes,
                       price_cents=override_cents if override_cents is not None else product.price_cents,
                       list_price_cents=product.price_cents, price_overridden=override_cents is not None,
                       tax_category=product.tax_category, active=product.active, attributes=product.attributes,
                       sold_by_weight=product.sold_by_weight, low_stock_threshold=product.low_stock_threshold,
                       version=product.version)


def _event_payload(p: ProductRow) -> dict[str, Any]:
    return {"sku": p.sku, "name": p.name, "barcodes": p.barcodes, "price_cents": p.price_cents,
            "tax_category": p.tax_category, "active": p.active, "version": p.version, "attributes": p.attributes,
            "product_id": p.id}


def _check_references(uow: UnitOfWork, cmd: NewProduct | ProductChange, product_id: str | None) -> None:
    """What the catalog must agree to: a known tax category, barcodes and a SKU no other product has."""
    catalog = uow.catalog
    errors = []
    tax, barcodes, sku = cmd.tax_category, cmd.barcodes, cmd.sku
    if tax is not UNSET and catalog.tax_category(tax) is None:
        errors.append({"field": "tax_category", "message": f"unknown tax category {tax!r}"})
    for code in barcodes if barcodes is not UNSET else ():
        owner = catalog.barcode_owner(code)
        if owner is not None and owner != product_id:
            errors.append({"field": "barcodes", "message": f"barcode {code} already belongs to another product"})
    if errors:
        raise ValidationFailed("the product is not valid", errors=errors)
    if sku is not UNSET:
        same = catalog.by_sku(sku)
        if same is not None and same.id != product_id:
            raise Conflict(f"SKU {sku} already exists", code="duplicate-sku")


def _stored(uow: UnitOfWork, product_id: str) -> ProductRow:
    product = uow.catalog.get(product_id)
    if product is None:
        raise NotFound("no such product", code="product-not-found")
    return product


def create_product(uow: UnitOfWork, cmd: NewProduct) -> ProductView:
    fields = given(cmd)
    require_valid_product(fields)
    _check_references(uow, cmd, None)
    catalog = uow.catalog
    product = ProductRow(id=uuid7(), sku=cmd.sku, name=cmd.name.strip(), price_cents=cmd.price_cents,
                         tax_category=cmd.tax_category, active=cmd.active, attributes=dict(cmd.attributes),
                         sold_by_weight=cmd.sold_by_weight, low_stock_threshold=cmd.low_stock_threshold,
                         version=catalog.next_version(), created_at=uow.now, updated_at=uow.now,
                         barcodes=sorted(cmd.barcodes))
    catalog.insert(product)
    view = present(product)
    uow.audit("product.created", "product", product.id, None, view)
    uow.emit("product.changed", _event_payload(product))
    return view


def update_product(uow: UnitOfWork, product_id: str, cmd: ProductChange, *, expected_version: int | None = None
                   ) -> ProductView:
    changes = given(cmd)
    require_valid_product(changes, partial=True)
    catalog = uow.catalog
    before = _stored(uow, product_id)
    if expected_version is not None and before.version != expected_version:
        raise Conflict(f"the product changed (version {before.version}); reload and try again",
                       code="version-mismatch")
    _check_references(uow, cmd, product_id)
    barcodes = changes.pop("barcodes", None)
    if "name" in changes:
        changes["name"] = changes["name"].strip()
    catalog.update(product_id, changes | {"version": catalog.next_version(), "updated_at": uow.now})
    if barcodes is not None:
        catalog.set_barcodes(product_id, list(barcodes))
    after = _stored(uow, product_id)
    view = present(after)
    uow.audit("product.updated", "product", product_id, present(before), view)
    uow.emit("product.changed", _event_payload(after))
    return view


# -- queries ------------------------------------------------------------------------------------
def get_product(uow: UnitOfWork, product_id: str) -> ProductView:
    product = _stored(uow, product_id)
    return present(product, uow.catalog.active_overrides([product_id], uow.now).get(product_id))


def search_products(uow: UnitOfWork, *, q: str | None, sku: str | None, barcode: str | None, since: int | None,
                    after: tuple[Any, str] | None, limit: int, include_inactive: bool = False
                    ) -> tuple[list[ProductView], tuple[Any, str] | None]:
    catalog = uow.catalog
    if (barcode or sku) and not q and since is None:
        # The lane's hot path: an exact code is one index probe, never a filtered scan.
        found = catalog.lookup(barcode=barcode, sku=None if barcode else sku, at=uow.now)
        if found is None or (sku and found[0].sku != sku) or (not include_inactive and not found[0].active) \
                or after is not None:
            return [], None
        return [present(*found)], None
    rows = catalog.search(q=q, sku=sku, barcode=barcode, since=since, after=after, limit=limit + 1,
                          active_only=not include_inactive)
    more = len(rows) > limit
    rows = rows[:limit]
    overrides = catalog.active_overrides([r.id for r in rows], uow.now)
    items = [present(r, overrides.get(r.id)) for r in rows]
    next_after = None
    if more and rows:
        last = rows[-1]
        next_after = ((last.version if since is not None else last.sku), last.id)
    return items, next_after


# -- tax categories -----------------------------------------------------------------------------
def upsert_tax_category(uow: UnitOfWork, cmd: TaxCategoryIn) -> TaxCategoryView:
    errors = []
    if not cmd.code or len(cmd.code) > 32:
        errors.append({"field": "code", "message": "1-32 characters"})
    if not 0 <= cmd.rate_bp <= 10_000:
        errors.append({"field": "rate_bp", "message": "basis points from 0 to 10000 (825 = 8.25 %)"})
    if errors:
        raise ValidationFailed("the tax category is not valid", errors=errors)
    catalog = uow.catalog
    before = catalog.tax_category(cmd.code)
    after = TaxCategoryRow(code=cmd.code, name=cmd.name or cmd.code, rate_bp=cmd.rate_bp, inclusive=cmd.inclusive,
                           version=(before.version + 1) if before else 1, updated_at=uow.now)
    catalog.upsert_tax_category(after)
    uow.audit("tax_category.saved", "tax_category", cmd.code, _tax(before) if before else None, _tax(after))
    view = _tax(after)
    uow.emit("tax_category.changed", msgspec.structs.asdict(view))
    return view


class TaxCategoryView(msgspec.Struct, frozen=True, kw_only=True):
    code: str
    name: str
    rate_bp: int
    inclusive: bool
    version: int


def _tax(row: TaxCategoryRow) -> TaxCategoryView:
    return TaxCategoryView(code=row.code, name=row.name, rate_bp=row.rate_bp, inclusive=row.inclusive,
                           version=row.version)


def list_tax_categories(uow: UnitOfWork) -> list[TaxCategoryView]:
    return [_tax(r) for r in uow.catalog.tax_categories()]


# -- store price overrides ----------------------------------------------------------------------
class OverrideView(msgspec.Struct, frozen=True, kw_only=True):
    """A store price override as answers show it."""

    id: str
    product_id: str
    price_cents: int
    valid_from: str
    valid_to: str | None
    created_at: str


class StoreOverrideView(msgspec.Struct, frozen=True, kw_only=True):
    """An override in a product's list, with the tenant and store it belongs to."""

    id: str
    tenant_id: str
    store_id: str
    product_id: str
    price_cents: int
    valid_from: str
    valid_to: str | None
    created_at: str


def _override(row: PriceOverrideRow) -> OverrideView:
    return OverrideView(id=row.id, product_id=row.product_id, price_cents=row.price_cents, valid_from=row.valid_from,
                        valid_to=row.valid_to, created_at=row.created_at)


def add_price_override(uow: UnitOfWork, product_id: str, price_cents: int, valid_from: str | None,
                       valid_to: str | None) -> OverrideView:
    catalog = uow.catalog
    _stored(uow, product_id)
    store_id = uow.actor.store_id
    if not store_id:
        raise ValidationFailed("this account is not bound to a store", code="store-required")
    start = valid_from or uow.now
    errors = override_problems(price_cents, start, valid_to)
    if errors:
        raise ValidationFailed("the price override is not valid", errors=errors)
    override = PriceOverrideRow(id=uuid7(), store_id=store_id, product_id=product_id, price_cents=price_cents,
                                valid_from=start, valid_to=valid_to, created_at=uow.now)
    catalog.add_override(override)
    # Bump the product's version so lanes' delta sync picks the new store price up.
    catalog.update(product_id, {"version": catalog.next_version(), "updated_at": uow.now})
    view = _override(override)
    uow.audit("price_override.created", "product", product_id, None, view)
    uow.emit("price_override.created", msgspec.structs.asdict(view) | {"store_id": store_id})
    return view


def list_price_overrides(uow: UnitOfWork, product_id: str) -> list[StoreOverrideView]:
    _stored(uow, product_id)
    return [StoreOverrideView(tenant_id=uow.actor.tenant_id, **msgspec.structs.asdict(o))
            for o in uow.catalog.overrides(product_id)]


# -- CSV import ---------------------------------------------------------------------------------
CSV_COLUMNS = ("sku", "name", "price_cents", "tax_category")


class CsvProduct(msgspec.Struct, frozen=True, kw_only=True):
    """A row of a catalog CSV file (`row` counts the header as 1), with the columns a
    spreadsheet would run as a formula."""

    row: int
    product: Changes  # every column the file has; `attributes` only when given
    formula_columns: list[str]


def parse_catalog_csv(text: str) -> tuple[list[CsvProduct], list[dict[str, Any]]]:
    """Parse rows into products; returns (rows, problems). Row numbers count the header as 1."""
    reader = BoundedCsv(text)
    missing = [c for c in CSV_COLUMNS if c not in reader.fieldnames]
    if missing:
        return [], [{"row": 1, "errors": [{"field": c, "message": "missing column"} for c in missing]}]
    rows, problems = [], []
    for index, raw in reader:
        errors: list[dict[str, str]] = []
        sku = (raw.get("sku") or "").strip()
        price_text = (raw.get("price_cents") or "").strip()
        if not price_text.isdigit():
            errors.append({"field": "price_cents", "message": f"{price_text!r} is not a whole number of cents"})
        active = (raw.get("active") or "true").strip().lower()
        if active not in ("true", "false", "1", "0", "yes", "no"):
            errors.append({"field": "active", "message": "true or false"})
        attributes: dict[str, Any] | msgspec.UnsetType = UNSET
        if raw.get("attributes"):
            # Depth first: json.loads recurses, and 5,000 brackets end in a RecursionError.
            if json_depth_exceeds(raw["attributes"], MAX_ATTRIBUTES_DEPTH):
                errors.append({"field": "attributes", "message": f"at most {MAX_ATTRIBUTES_DEPTH} levels of nesting"})
            else:
                try:
                    attributes = json.loads(raw["attributes"])
                except ValueError:
                    errors.append({"field": "attributes", "message": "a JSON object"})
        product = Changes(sku=sku, name=(raw.get("name") or "").strip(),
                          price_cents=int(price_text) if price_text.isdigit() else 0,
                          tax_category=(raw.get("tax_category") or "").strip(),
                          barcodes=[c.strip() for c in (raw.get("barcodes") or "").replace(";", "|").split("|")
                                    if c.strip()],
                          active=active in ("true", "1", "yes"), attributes=attributes)
        errors += product_problems(given(product))
        if errors:
            problems.append({"row": index, "sku": sku, "errors": errors})
        rows.append(CsvProduct(row=index, product=product, formula_columns=formula_cells(raw)))
    return rows, problems


class ImportedRow(msgspec.Struct, frozen=True, kw_only=True):
    row: int
    sku: str
    status: str  # created | updated


class CsvWarning(msgspec.Struct, frozen=True, kw_only=True):
    """Imported, but someone should look (`code` names why)."""

    row: int
    sku: str
    field: str
    code: str
    message: str


class ImportReport(msgspec.Struct, frozen=True, kw_only=True):
    created: int
    updated: int
    rows: list[ImportedRow]
    warnings: list[CsvWarning]


def validate_catalog_csv(uow: UnitOfWork, text: str) -> list[CsvProduct]:
    """Every row of the file, or ValidationFailed (`csv-invalid`) listing every bad row. Reads only,
    so a large file is checked on a reader connection, off the writer."""
    rows, problems = parse_catalog_csv(text)
    catalog = uow.catalog
    # The catalog's side read in a few statements for the whole file, not three per row.
    taxes = {t.code for t in catalog.tax_categories()}
    ids = catalog.ids_by_sku(sorted({str(r.product.sku) for r in rows if r.product.sku}))
    owners = catalog.barcode_owners(sorted({c for r in rows for c in (r.product.barcodes or [])}))
    seen_skus: dict[str, int] = {}
    seen_codes: dict[str, int] = {}
    for row in rows:
        errors = []
        sku, tax, codes = str(row.product.sku), str(row.product.tax_category), list(row.product.barcodes or [])
        if sku in seen_skus:
            errors.append({"field": "sku", "message": f"also on row {seen_skus[sku]}"})
        seen_skus.setdefault(sku, row.row)
        existing_id = ids.get(sku) if sku else None
        if tax and tax not in taxes:
            errors.append({"field": "tax_category", "message": f"unknown tax category {tax!r}"})
        for code in codes:
            if code in seen_codes:
                errors.append({"field": "barcodes", "message": f"{code} also on row {seen_codes[code]}"})
            seen_codes.setdefault(code, row.row)
            owner = owners.get(code)
            if owner is not None and owner != existing_id:
                errors.append({"field": "barcodes", "message": f"{code} belongs to another product"})
        if errors:
            problems.append({"row": row.row, "sku": sku, "errors": errors})
    if problems:
        problems.sort(key=lambda p: p["row"])
        raise ValidationFailed(f"{len(problems)} row(s) are not valid; nothing was imported",
                               code="csv-invalid", errors=problems)
    return rows


def apply_csv_row(uow: UnitOfWork, row: CsvProduct) -> ImportedRow:
    """Create or update the product of one validated row (its audit row and event included)."""
    sku = str(row.product.sku)
    existing = uow.catalog.by_sku(sku)
    if existing is None:
        create_product(uow, Product(**given(row.product)))
        return ImportedRow(row=row.row, sku=sku, status="created")
    update_product(uow, existing.id, row.product)
    return ImportedRow(row=row.row, sku=sku, status="updated")


def formula_warnings(row: CsvProduct) -> list[CsvWarning]:
    # Imported as typed (it may be a real name), but someone should look: the same text
    # pasted into a spreadsheet by hand would run. Exports escape it.
    return [CsvWarning(row=row.row, sku=str(row.product.sku), field=column, code="csv-formula",
                       message="starts with = + - @ or a tab, which a spreadsheet runs as a formula; "
                               "CSV exports escape it") for column in row.formula_columns]


def import_catalog_csv(uow: UnitOfWork, text: str) -> ImportReport:
    """All or nothing: a file with any bad row changes nothing and reports every bad row."""
    rows = validate_catalog_csv(uow, text)
    report = [apply_csv_row(uow, row) for row in rows]
    warnings = [w for row in rows for w in formula_warnings(row)]
    created = sum(1 for r in report if r.status == "created")
    return ImportReport(created=created, updated=len(report) - created, rows=report, warnings=warnings)


# -- HQ commands (down replication) -------------------------------------------------------------
def apply_hq_catalog(uow: UnitOfWork, command_type: str, version: int, payload: dict[str, Any]) -> str:
    """Apply an HQ catalog/price/tax command. HQ is the single writer of the catalog and list
    prices; store price overrides are separate rows and are never touched here."""
    catalog = uow.catalog
    if command_type == "tax.set":
        upsert_tax_category(uow, _decoded(payload, TaxCategoryFields, "tax category"))
        return "applied"
    if command_type not in ("catalog.upsert", "price.set"):
        return "ignored"
    existing = catalog.by_sku(payload["sku"])
    if existing is not None and existing.attributes.get("hq_version", 0) >= version:
        return "stale"
    if command_type == "price.set":
        if existing is None:
            return "unknown-sku"
        update_product(uow, existing.id, Changes(price_cents=_decoded(payload, _Price, "price").price_cents,
                                                 attributes=existing.attributes | {"hq_version": version}))
        return "applied"
    fields = {k: payload[k] for k in ("sku", "name", "price_cents", "tax_category", "barcodes", "active")
              if k in payload}
    fields["attributes"] = dict(payload.get("attributes") or {}) | {"hq_version": version}
    if existing is None:
        create_product(uow, _decoded(fields, Product, "product"))
    else:
        update_product(uow, existing.id, _decoded(fields, Changes, "product"))
    return "applied"


_T = TypeVar("_T")


class _Price(msgspec.Struct):
    price_cents: int


def _decoded(payload: dict[str, Any], into: type[_T], what: str) -> _T:
    try:
        return msgspec.convert(payload, into)
    except msgspec.ValidationError as err:
        raise ValidationFailed(f"HQ {what} refused: {err}", code=f"invalid-{what.replace(' ', '-')}") from None
