"""Products, barcodes, tax categories, store price overrides and the catalog version."""

from __future__ import annotations

from typing import Any

import msgspec
from sqlalchemy import Connection, Select, and_, bindparam, delete, func, insert, or_, select, update

from edge.adapters import tables as t
from edge.adapters.uow import repository
from edge.service.ports import Actor

P = t.products
B = t.product_barcodes
PO = t.price_overrides

# The lane's hot path (a scan at the till) as one pre-built statement: building a Core
# construct per request cost more CPU than SQLite's whole lookup (measured in bench_catalog).
_B2 = B.alias("all_codes")
_BARCODES_OF = (
    select(func.group_concat(_B2.c.barcode, " "))
    .where(_B2.c.tenant_id == P.c.tenant_id, _B2.c.product_id == P.c.id)
    .correlate(P)
    .scalar_subquery()
)
_OVERRIDE_AT = (
    select(PO.c.price_cents)
    .where(PO.c.tenant_id == P.c.tenant_id, PO.c.store_id == bindparam("store_id"), PO.c.product_id == P.c.id,
           PO.c.valid_from <= bindparam("at"), or_(PO.c.valid_to.is_(None), PO.c.valid_to > bindparam("at")))
    .order_by(PO.c.valid_from.desc())
    .limit(1)
    .correlate(P)
    .scalar_subquery()
)
LOOKUP_BY_BARCODE = (
    select(P, _BARCODES_OF.label("barcode_list"), _OVERRIDE_AT.label("override_cents"))
    .select_from(B.join(P, and_(B.c.product_id == P.c.id, B.c.tenant_id == P.c.tenant_id)))
    .where(B.c.tenant_id == bindparam("tenant_id"), B.c.barcode == bindparam("code"))
)
LOOKUP_BY_SKU = (
    select(P, _BARCODES_OF.label("barcode_list"), _OVERRIDE_AT.label("override_cents"))
    .where(P.c.tenant_id == bindparam("tenant_id"), P.c.sku == bindparam("code"))
)


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

    def first(self, conn: Connection, params: dict[str, Any]) -> dict[str, Any] | None:
        compiled = self._compiled
        if compiled is None or compiled[0] is not conn.dialect:
            done = self.statement.compile(dialect=conn.dialect)
            literals = {name: bind.value for name, bind in done.binds.items()}  # LIMIT 1, the separator
            compiled = self._compiled = (conn.dialect, str(done), tuple(done.positiontup or ()), literals)
        _, sql, names, defaults = compiled
        values = defaults | params
        # pysqlite: the pool's dbapi_connection is the sqlite3 connection itself (a plain attribute,
        # unlike driver_connection, which walks the pool record on every call).
        row = conn.connection.dbapi_connection.execute(sql, [values[n] for n in names]).fetchone()
        return dict(zip(self.columns, row, strict=True)) if row is not None else None


_LOOKUP_BY_BARCODE = _PreparedLookup(LOOKUP_BY_BARCODE)
_LOOKUP_BY_SKU = _PreparedLookup(LOOKUP_BY_SKU)
_decode_json = msgspec.json.Decoder().decode


@repository("catalog")
class CatalogRepository:
    def __init__(self, conn: Connection, actor: Actor):
        self.conn = conn
        self.tenant_id = actor.tenant_id
        self.store_id = actor.store_id

    # -- versions ------------------------------------------------------------------------
    def next_version(self) -> int:
        """Bump the tenant's catalog version; every changed product takes the new value."""
        cv = t.catalog_versions
        updated = self.conn.execute(
            update(cv).where(cv.c.tenant_id == self.tenant_id).values(version=cv.c.version + 1).returning(cv.c.version)
        ).scalar()
        if updated is None:
            self.conn.execute(insert(cv).values(tenant_id=self.tenant_id, version=1))
            return 1
        return int(updated)

    def current_version(self) -> int:
        v = self.conn.execute(
            select(t.catalog_versions.c.version).where(t.catalog_versions.c.tenant_id == self.tenant_id)
        ).scalar()
        return int(v or 0)

    # -- products ------------------------------------------------------------------------
    def get(self, product_id: str) -> dict[str, Any] | None:
        row = self.conn.execute(select(P).where(P.c.tenant_id == self.tenant_id, P.c.id == product_id)).mappings().first()
        return self._with_barcodes([dict(row)])[0] if row else None

    def by_sku(self, sku: str) -> dict[str, Any] | None:
        row = self.conn.execute(select(P).where(P.c.tenant_id == self.tenant_id, P.c.sku == sku)).mappings().first()
        return self._with_barcodes([dict(row)])[0] if row else None

    def by_barcode(self, barcode: str) -> dict[str, Any] | None:
        b = t.product_barcodes
        row = self.conn.execute(
            select(P).join(b, and_(b.c.product_id == P.c.id, b.c.tenant_id == P.c.tenant_id))
            .where(b.c.tenant_id == self.tenant_id, b.c.barcode == barcode)
        ).mappings().first()
        return self._with_barcodes([dict(row)])[0] if row else None

    def lookup(self, *, barcode: str | None = None, sku: str | None = None, at: str) -> dict[str, Any] | None:
        """One round trip: the product, its barcodes and the store price in force at `at`."""
        statement = _LOOKUP_BY_BARCODE if barcode else _LOOKUP_BY_SKU
        product = statement.first(self.conn, {"tenant_id": self.tenant_id, "code": barcode or sku,
                                              "store_id": self.store_id, "at": at})
        if product is None:
            return None
        # The column types' work, done by hand: JSON text and SQLite's 0/1 booleans.
        product["attributes"] = _decode_json(product["attributes"])
        product["active"] = bool(product["active"])
        product["sold_by_weight"] = bool(product["sold_by_weight"])
        codes = product.pop("barcode_list")
        product["barcodes"] = sorted(codes.split(" ")) if codes else []
        return product

    def barcode_owner(self, barcode: str) -> str | None:
        b = t.product_barcodes
        return self.conn.execute(
            select(b.c.product_id).where(b.c.tenant_id == self.tenant_id, b.c.barcode == barcode)
        ).scalar()

    def search(self, *, q: str | None, sku: str | None, barcode: str | None, since: int | None,
               after: tuple[Any, str] | None, limit: int, active_only: bool) -> list[dict[str, Any]]:
        stmt = select(P).where(P.c.tenant_id == self.tenant_id)
        if since is not None:
            # Delta sync: inactive products are included, so lanes can drop them from their cache.
            stmt = stmt.where(P.c.version > since)
            order = (P.c.version, P.c.id)
        else:
            order = (P.c.sku, P.c.id)
            if active_only:
                stmt = stmt.where(P.c.active.is_(True))
        if sku:
            stmt = stmt.where(P.c.sku == sku)
        if barcode:
            b = t.product_barcodes
            stmt = stmt.where(P.c.id.in_(select(b.c.product_id).where(b.c.tenant_id == self.tenant_id,
                                                                       b.c.barcode == barcode)))
        if q:
            escaped = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            like = f"%{escaped}%"
            stmt = stmt.where(or_(P.c.name.ilike(like, escape="\\"), P.c.sku.ilike(like, escape="\\")))
        if after is not None:
            stmt = stmt.where((order[0] > after[0]) | ((order[0] == after[0]) & (order[1] > after[1])))
        rows = self.conn.execute(stmt.order_by(*order).limit(limit)).mappings()
        return self._with_barcodes([dict(r) for r in rows])

    def _with_barcodes(self, products: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if not products:
            return products
        b = t.product_barcodes
        ids = [p["id"] for p in products]
        codes: dict[str, list[str]] = {i: [] for i in ids}
        for pid, code in self.conn.execute(
            select(b.c.product_id, b.c.barcode).where(b.c.tenant_id == self.tenant_id, b.c.product_id.in_(ids))
            .order_by(b.c.barcode)
        ):
            codes[pid].append(code)
        for p in products:
            p["barcodes"] = codes[p["id"]]
        return products

    def insert(self, values: dict[str, Any], barcodes: list[str]) -> None:
        self.conn.execute(insert(P).values(tenant_id=self.tenant_id, **values))
        self.set_barcodes(values["id"], barcodes)

    def update(self, product_id: str, values: dict[str, Any]) -> None:
        self.conn.execute(update(P).where(P.c.tenant_id == self.tenant_id, P.c.id == product_id).values(**values))

    def set_barcodes(self, product_id: str, barcodes: list[str]) -> None:
        b = t.product_barcodes
        self.conn.execute(delete(b).where(b.c.tenant_id == self.tenant_id, b.c.product_id == product_id))
        if barcodes:
            self.conn.execute(insert(b), [{"tenant_id": self.tenant_id, "barcode": c, "product_id": product_id}
                                          for c in barcodes])

    def count(self) -> int:
        return int(self.conn.execute(select(func.count()).select_from(P).where(P.c.tenant_id == self.tenant_id))
                   .scalar() or 0)

    # -- tax categories --------------------------------------------------------------------
    def tax_categories(self) -> list[dict[str, Any]]:
        tc = t.tax_categories
        return [dict(r) for r in self.conn.execute(
            select(tc).where(tc.c.tenant_id == self.tenant_id).order_by(tc.c.code)).mappings()]

    def tax_category(self, code: str) -> dict[str, Any] | None:
        tc = t.tax_categories
        row = self.conn.execute(select(tc).where(tc.c.tenant_id == self.tenant_id, tc.c.code == code)).mappings().first()
        return dict(row) if row else None

    def upsert_tax_category(self, values: dict[str, Any]) -> None:
        tc = t.tax_categories
        if self.tax_category(values["code"]) is None:
            self.conn.execute(insert(tc).values(tenant_id=self.tenant_id, **values))
        else:
            self.conn.execute(update(tc).where(tc.c.tenant_id == self.tenant_id, tc.c.code == values["code"])
                              .values(**values))

    # -- store price overrides -------------------------------------------------------------
    def overrides(self, product_id: str) -> list[dict[str, Any]]:
        po = t.price_overrides
        return [dict(r) for r in self.conn.execute(
            select(po).where(po.c.tenant_id == self.tenant_id, po.c.store_id == self.store_id,
                             po.c.product_id == product_id).order_by(po.c.valid_from)).mappings()]

    def active_overrides(self, product_ids: list[str], at: str) -> dict[str, int]:
        """The override in force at `at` per product; the latest-starting one wins."""
        if not product_ids or self.store_id is None:
            return {}
        po = t.price_overrides
        rows = self.conn.execute(
            select(po.c.product_id, po.c.price_cents).where(
                po.c.tenant_id == self.tenant_id, po.c.store_id == self.store_id, po.c.product_id.in_(product_ids),
                po.c.valid_from <= at, or_(po.c.valid_to.is_(None), po.c.valid_to > at),
            ).order_by(po.c.valid_from)
        )
        return {pid: price for pid, price in rows}

    def add_override(self, values: dict[str, Any]) -> None:
        self.conn.execute(insert(t.price_overrides).values(tenant_id=self.tenant_id, store_id=self.store_id, **values))

    def end_override(self, override_id: str, at: str) -> dict[str, Any] | None:
        po = t.price_overrides
        row = self.conn.execute(select(po).where(po.c.tenant_id == self.tenant_id, po.c.store_id == self.store_id,
                                                 po.c.id == override_id)).mappings().first()
        if row is None:
            return None
        self.conn.execute(update(po).where(po.c.id == override_id).values(valid_to=at))
        return dict(row)
