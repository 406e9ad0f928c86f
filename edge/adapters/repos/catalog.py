"""Products, barcodes, tax categories, store price overrides and the catalog version."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec
from sqlalchemy import Connection, Row, Select, and_, bindparam, delete, func, insert, or_, select, update

from edge.adapters import tables as t
from edge.adapters.repos.catalog_bulk import barcode_owners
from edge.service.ports import Actor
from edge.service.repository_ports import PriceOverrideRow, ProductRow, TaxCategoryRow

products = t.products
product_barcodes = t.product_barcodes
price_overrides = t.price_overrides
tax_categories = t.tax_categories
catalog_versions = t.catalog_versions

_PRODUCT_COLUMNS = [products.c[name] for name in ProductRow.__struct_fields__ if name != "barcodes"]
_TAX_COLUMNS = [tax_categories.c[name] for name in TaxCategoryRow.__struct_fields__]
_OVERRIDE_COLUMNS = [price_overrides.c[name] for name in PriceOverrideRow.__struct_fields__]

# The lane's hot path (a scan at the till) as one pre-built statement: building a Core
# construct per request cost more CPU than SQLite's whole lookup (measured in bench_catalog).
_B2 = product_barcodes.alias("all_codes")
_BARCODES_OF = (
    select(func.group_concat(_B2.c.barcode, " "))
    .where(_B2.c.tenant_id == products.c.tenant_id, _B2.c.product_id == products.c.id)
    .correlate(products)
    .scalar_subquery()
)
_OVERRIDE_AT = (
    select(price_overrides.c.price_cents)
    .where(price_overrides.c.tenant_id == products.c.tenant_id, price_overrides.c.store_id == bindparam("store_id"),
           price_overrides.c.product_id == products.c.id,
           price_overrides.c.valid_from <= bindparam("at"), or_(price_overrides.c.valid_to.is_(None),
                                                                price_overrides.c.valid_to > bindparam("at")))
    .order_by(price_overrides.c.valid_from.desc())
    .limit(1)
    .correlate(products)
    .scalar_subquery()
)
LOOKUP_BY_BARCODE = (
    select(*_PRODUCT_COLUMNS, _BARCODES_OF.label("barcode_list"), _OVERRIDE_AT.label("override_cents"))
    .select_from(product_barcodes.join(products, and_(product_barcodes.c.product_id == products.c.id,
                                                      product_barcodes.c.tenant_id == products.c.tenant_id)))
    .where(product_barcodes.c.tenant_id == bindparam("tenant_id"), product_barcodes.c.barcode == bindparam("code"))
)
LOOKUP_BY_SKU = (
    select(*_PRODUCT_COLUMNS, _BARCODES_OF.label("barcode_list"), _OVERRIDE_AT.label("override_cents"))
    .where(products.c.tenant_id == bindparam("tenant_id"), products.c.sku == bindparam("code"))
)


_IN_BATCH = 500  # values per IN (...): well under SQLite's limit on bound parameters

class _PreparedLookup:
    """A Core SELECT compiled once, then run straight on the SQLite driver connection.

    SQLAlchemy's execution path (result metadata, type processors, events) cost about four
    times SQLite's own work for this one-row read (bench_catalog), so the hot lookup keeps the
    Core statement as its single definition but skips that machinery at run time.
    """

    def __init__(self, statement: Select[Any]):
        self.statement = statement
        self.columns = tuple(c.key for c in statement.selected_columns)
        self._compiled: tuple[Any, str, tuple[str, ...], dict[str, Any]] | None = None

    def first(self, conn: Connection, params: dict[str, Any]) -> tuple[Any, ...] | None:
        compiled = self._compiled
        if compiled is None or compiled[0] is not conn.dialect:
            done = self.statement.compile(dialect=conn.dialect)
            literals = {name: bind.value for name, bind in done.binds.items()}  # LIMIT 1, the separator
            compiled = self._compiled = (conn.dialect, str(done), tuple(done.positiontup or ()), literals)
        _, sql, names, defaults = compiled
        values = defaults | params
        # pysqlite: the pool's dbapi_connection is the sqlite3 connection itself (a plain attribute,
        # unlike driver_connection, which walks the pool record on every call).
        row: tuple[Any, ...] | None = conn.connection.dbapi_connection.execute(
            sql, [values[n] for n in names]).fetchone()
        return row


_LOOKUP_BY_BARCODE = _PreparedLookup(LOOKUP_BY_BARCODE)
_LOOKUP_BY_SKU = _PreparedLookup(LOOKUP_BY_SKU)
_decode_json = msgspec.json.Decoder().decode


class SqlCatalogRepository:
    def __init__(self, conn: Connection, actor: Actor):
        self.conn = conn
        self.tenant_id = actor.tenant_id
        self.store_id = actor.store_id

    # -- versions ------------------------------------------------------------------------
    def next_version(self) -> int:
        """Bump the tenant's catalog version; every changed product takes the new value."""
        updated = self.conn.execute(
            update(catalog_versions).where(catalog_versions.c.tenant_id == self.tenant_id)
            .values(version=catalog_versions.c.version + 1).returning(catalog_versions.c.version)
        ).scalar()
        if updated is None:
            self.conn.execute(insert(catalog_versions).values(tenant_id=self.tenant_id, version=1))
            return 1
        return int(updated)

    def current_version(self) -> int:
        v = self.conn.execute(
            select(t.catalog_versions.c.version).where(t.catalog_versions.c.tenant_id == self.tenant_id)
        ).scalar()
        return int(v or 0)

    # -- products ------------------------------------------------------------------------
    def get(self, product_id: str) -> ProductRow | None:
        return self._first(select(*_PRODUCT_COLUMNS).where(products.c.tenant_id == self.tenant_id,
                                                           products.c.id == product_id))

    def by_sku(self, sku: str) -> ProductRow | None:
        return self._first(select(*_PRODUCT_COLUMNS).where(products.c.tenant_id == self.tenant_id,
                                                           products.c.sku == sku))

    def by_barcode(self, barcode: str) -> ProductRow | None:
        return self._first(
            select(*_PRODUCT_COLUMNS).join(product_barcodes, and_(product_barcodes.c.product_id == products.c.id,
                                                                  product_barcodes.c.tenant_id == products.c.tenant_id))
            .where(product_barcodes.c.tenant_id == self.tenant_id, product_barcodes.c.barcode == barcode))

    def _first(self, stmt: Select[Any]) -> ProductRow | None:
        found = self._with_barcodes(self.conn.execute(stmt.limit(1)).all())
        return found[0] if found else None

    def lookup(self, *, barcode: str | None = None, sku: str | None = None, at: str
               ) -> tuple[ProductRow, int | None] | None:
        """One round trip: the product with its barcodes, and the store price in force at `at`."""
        statement = _LOOKUP_BY_BARCODE if barcode else _LOOKUP_BY_SKU
        row = statement.first(self.conn, {"tenant_id": self.tenant_id, "code": barcode or sku,
                                          "store_id": self.store_id, "at": at})
        if row is None:
            return None
        fields = dict(zip(statement.columns, row, strict=True))
        codes, override_cents = fields.pop("barcode_list"), fields.pop("override_cents")
        # The column types' work, done by hand: JSON text and SQLite's 0/1 booleans.
        fields["attributes"] = _decode_json(fields["attributes"])
        fields["active"], fields["sold_by_weight"] = bool(fields["active"]), bool(fields["sold_by_weight"])
        product = ProductRow(**fields, barcodes=sorted(codes.split(" ")) if codes else [])
        return product, override_cents

    def barcode_owner(self, barcode: str) -> str | None:
        return self.conn.execute(
            select(product_barcodes.c.product_id).where(product_barcodes.c.tenant_id == self.tenant_id,
                                                        product_barcodes.c.barcode == barcode)
        ).scalar()

    def ids_by_sku(self, skus: list[str]) -> dict[str, str]:
        """{sku: product id} of those SKUs that exist: a whole import file checked in a few statements."""
        found: dict[str, str] = {}
        for start in range(0, len(skus), _IN_BATCH):
            found.update(self.conn.execute(select(products.c.sku, products.c.id).where(
                products.c.tenant_id == self.tenant_id, products.c.sku.in_(skus[start:start + _IN_BATCH]))).all())
        return found

    def barcode_owners(self, barcodes: list[str]) -> dict[str, str]:
        """{barcode: product id} of those barcodes some product has (one probe per barcode: an
        `IN (...)` here scanned the whole barcode index per batch, seconds on a 100k catalog)."""
        return barcode_owners(self.conn, self.tenant_id, barcodes)

    def search(self, *, q: str | None, sku: str | None, barcode: str | None, since: int | None,
               after: tuple[Any, str] | None, limit: int, active_only: bool) -> list[ProductRow]:
        stmt = select(*_PRODUCT_COLUMNS).where(products.c.tenant_id == self.tenant_id)
        if since is not None:
            # Delta sync: inactive products are included, so lanes can drop them from their cache.
            stmt = stmt.where(products.c.version > since)
            order = (products.c.version, products.c.id)
        else:
            order = (products.c.sku, products.c.id)
            if active_only:
                stmt = stmt.where(products.c.active.is_(True))
        if sku:
            stmt = stmt.where(products.c.sku == sku)
        if barcode:
            stmt = stmt.where(products.c.id.in_(
                select(product_barcodes.c.product_id).where(product_barcodes.c.tenant_id == self.tenant_id,
                                                            product_barcodes.c.barcode == barcode)))
        if q:
            escaped = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            like = f"%{escaped}%"
            stmt = stmt.where(or_(products.c.name.ilike(like, escape="\\"), products.c.sku.ilike(like, escape="\\")))
        if after is not None:
            stmt = stmt.where((order[0] > after[0]) | ((order[0] == after[0]) & (order[1] > after[1])))
        return self._with_barcodes(self.conn.execute(stmt.order_by(*order).limit(limit)).all())

    def _with_barcodes(self, rows: Sequence[Row[Any]]) -> list[ProductRow]:
        if not rows:
            return []
        codes: dict[str, list[str]] = {r.id: [] for r in rows}
        for pid, code in self.conn.execute(
            select(product_barcodes.c.product_id, product_barcodes.c.barcode)
            .where(product_barcodes.c.tenant_id == self.tenant_id, product_barcodes.c.product_id.in_(list(codes)))
            .order_by(product_barcodes.c.barcode)
        ):
            codes[pid].append(code)
        return [ProductRow(**r._mapping, barcodes=codes[r.id]) for r in rows]

    def insert(self, product: ProductRow) -> None:
        values = msgspec.structs.asdict(product)
        barcodes = values.pop("barcodes")
        self.conn.execute(insert(products).values(tenant_id=self.tenant_id, **values))
        self.set_barcodes(product.id, barcodes)

    def update(self, product_id: str, values: dict[str, Any]) -> None:
        self.conn.execute(update(products).where(products.c.tenant_id == self.tenant_id,
                                                 products.c.id == product_id).values(**values))

    def set_barcodes(self, product_id: str, barcodes: list[str]) -> None:
        self.conn.execute(delete(product_barcodes).where(product_barcodes.c.tenant_id == self.tenant_id,
                                                         product_barcodes.c.product_id == product_id))
        if barcodes:
            self.conn.execute(insert(product_barcodes), [{"tenant_id": self.tenant_id, "barcode": c,
                                                          "product_id": product_id}
                                                         for c in barcodes])

    def count(self) -> int:
        return int(self.conn.execute(select(func.count()).select_from(products)
                                     .where(products.c.tenant_id == self.tenant_id)).scalar() or 0)

    # -- tax categories --------------------------------------------------------------------
    def tax_categories(self) -> list[TaxCategoryRow]:
        return [TaxCategoryRow(**r) for r in self.conn.execute(
            select(*_TAX_COLUMNS).where(tax_categories.c.tenant_id == self.tenant_id)
            .order_by(tax_categories.c.code)).mappings()]

    def tax_category(self, code: str) -> TaxCategoryRow | None:
        row = self.conn.execute(select(*_TAX_COLUMNS).where(tax_categories.c.tenant_id == self.tenant_id,
                                                            tax_categories.c.code == code)).mappings().first()
        return TaxCategoryRow(**row) if row else None

    def upsert_tax_category(self, category: TaxCategoryRow) -> None:
        values = msgspec.structs.asdict(category)
        if self.tax_category(category.code) is None:
            self.conn.execute(insert(tax_categories).values(tenant_id=self.tenant_id, **values))
        else:
            self.conn.execute(update(tax_categories).where(tax_categories.c.tenant_id == self.tenant_id,
                                                           tax_categories.c.code == category.code)
                              .values(**values))

    # -- store price overrides -------------------------------------------------------------
    def overrides(self, product_id: str) -> list[PriceOverrideRow]:
        return [PriceOverrideRow(**r) for r in self.conn.execute(
            select(*_OVERRIDE_COLUMNS).where(price_overrides.c.tenant_id == self.tenant_id,
                                             price_overrides.c.store_id == self.store_id,
                                             price_overrides.c.product_id == product_id)
            .order_by(price_overrides.c.valid_from)).mappings()]

    def active_overrides(self, product_ids: list[str], at: str) -> dict[str, int]:
        """The override in force at `at` per product; the latest-starting one wins."""
        if not product_ids or self.store_id is None:
            return {}
        rows = self.conn.execute(
            select(price_overrides.c.product_id, price_overrides.c.price_cents).where(
                price_overrides.c.tenant_id == self.tenant_id, price_overrides.c.store_id == self.store_id,
                price_overrides.c.product_id.in_(product_ids),
                price_overrides.c.valid_from <= at, or_(price_overrides.c.valid_to.is_(None),
                                                        price_overrides.c.valid_to > at),
            ).order_by(price_overrides.c.valid_from)
        )
        return {pid: price for pid, price in rows}

    def add_override(self, override: PriceOverrideRow) -> None:
        self.conn.execute(insert(t.price_overrides).values(tenant_id=self.tenant_id,
                                                           **msgspec.structs.asdict(override)))

    def end_override(self, override_id: str, at: str) -> PriceOverrideRow | None:
        row = self.conn.execute(select(*_OVERRIDE_COLUMNS).where(
            price_overrides.c.tenant_id == self.tenant_id, price_overrides.c.store_id == self.store_id,
            price_overrides.c.id == override_id)).mappings().first()
        if row is None:
            return None
        self.conn.execute(update(price_overrides).where(price_overrides.c.tenant_id == self.tenant_id,
                                                        price_overrides.c.id == override_id).values(valid_to=at))
        return PriceOverrideRow(**row)
