"""Set-based catalog writes for an import chunk: a few statements for hundreds of products.

Written one by one, a product cost about ten statements through SQLAlchemy's execution path
(reads of its SKU, barcodes and tax category, the version bump, the insert or update, the
barcodes), and building the Core constructs cost more than SQLite's work. Here a chunk reads
what it needs with a few `IN (...)` queries and writes with one `executemany` per statement,
each a `Prepared` statement compiled once (see prepared.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import msgspec
from sqlalchemy import Connection, bindparam, delete, insert, select, update

from edge.adapters import tables as t
from edge.adapters.repos.prepared import Prepared
from edge.service.ports import Actor
from edge.service.repository_ports import ProductRow

products = t.products
product_barcodes = t.product_barcodes
catalog_versions = t.catalog_versions

_IN_BATCH = 500  # values per IN (...): well under SQLite's limit on bound parameters
_FIELDS = tuple(name for name in ProductRow.__struct_fields__ if name != "barcodes")

_BY_SKUS = Prepared(select(*(products.c[name] for name in _FIELDS)).where(
    products.c.tenant_id == bindparam("tenant_id"), products.c.sku.in_(bindparam("skus", expanding=True))),
    expanding=("skus",))
_BARCODES_OF = Prepared(select(product_barcodes.c.product_id, product_barcodes.c.barcode).where(
    product_barcodes.c.tenant_id == bindparam("tenant_id"),
    product_barcodes.c.product_id.in_(bindparam("ids", expanding=True))), expanding=("ids",))
# One statement for all of a chunk's barcodes, each a probe of the (tenant, barcode) key: the list
# goes in as one JSON array and `json_each` drives the loop (CROSS JOIN fixes SQLite's join order;
# left to the planner, or written `barcode IN (...)`, without ANALYZE statistics it scans the
# tenant's whole barcode index instead). One probe per statement cost a chunk hundreds of sqlite3
# calls, each releasing the GIL and, on the writer thread, waiting for the event loop to hand it
# back.
_OWNERS_SQL = ("SELECT j.value, b.product_id FROM json_each(?) AS j CROSS JOIN product_barcodes AS b "
               "WHERE b.tenant_id = ? AND b.barcode = j.value")
# (The WHERE of an UPDATE or DELETE names its parameters apart from the columns it sets.)
_TAKE_VERSIONS = Prepared(update(catalog_versions).where(catalog_versions.c.tenant_id == bindparam("_tenant"))
                          .values(version=catalog_versions.c.version + bindparam("n"))
                          .returning(catalog_versions.c.version))
_FIRST_VERSIONS = Prepared(insert(catalog_versions))
_INSERT_PRODUCT = Prepared(insert(products), json=("attributes",))
_DELETE_BARCODES = Prepared(delete(product_barcodes).where(product_barcodes.c.tenant_id == bindparam("_tenant"),
                                                          product_barcodes.c.product_id == bindparam("_id")))
_INSERT_BARCODE = Prepared(insert(product_barcodes))
_decode_json = msgspec.json.Decoder().decode
_encode_json = msgspec.json.Encoder().encode


def _update_product(keys: tuple[str, ...]) -> Prepared:
    statement = update(products).where(products.c.tenant_id == bindparam("_tenant"),
                                       products.c.id == bindparam("_id")).values(
        **{k: bindparam(k) for k in keys})
    return Prepared(statement, json=("attributes",))


_UPDATES: dict[tuple[str, ...], Prepared] = {}  # one statement per set of changed columns


def _batches(values: list[str]) -> Iterable[list[str]]:
    for start in range(0, len(values), _IN_BATCH):
        yield values[start:start + _IN_BATCH]


def barcode_owners(conn: Connection, tenant_id: str, barcodes: list[str]) -> dict[str, str]:
    """{barcode: product id} of those barcodes some product of the tenant has."""
    codes = sorted(set(barcodes))
    if not codes:
        return {}
    driver = conn.connection.driver_connection
    return dict(driver.execute(_OWNERS_SQL, (_encode_json(codes).decode(), tenant_id)).fetchall())


class SqlCatalogBulkRepository:
    def __init__(self, conn: Connection, actor: Actor):
        self.conn = conn
        self.tenant_id = actor.tenant_id

    def by_skus(self, skus: list[str]) -> dict[str, ProductRow]:
        """{sku: product, with its barcodes sorted} of those SKUs that exist."""
        rows: list[dict[str, Any]] = []
        for batch in _batches(sorted(set(skus))):
            cursor = _BY_SKUS.execute(self.conn, {"tenant_id": self.tenant_id, "skus": batch})
            rows += (dict(zip(_FIELDS, r, strict=True)) for r in cursor.fetchall())
        codes: dict[str, list[str]] = {r["id"]: [] for r in rows}
        for batch in _batches(list(codes)):
            for product_id, code in _BARCODES_OF.execute(self.conn, {"tenant_id": self.tenant_id,
                                                                     "ids": batch}).fetchall():
                codes[product_id].append(code)
        found = {}
        for r in rows:
            # The column types' work, done by hand: JSON text and SQLite's 0/1 booleans.
            r["attributes"] = _decode_json(r["attributes"])
            r["active"], r["sold_by_weight"] = bool(r["active"]), bool(r["sold_by_weight"])
            found[r["sku"]] = ProductRow(**r, barcodes=sorted(codes[r["id"]]))
        return found

    def barcode_owners(self, barcodes: list[str]) -> dict[str, str]:
        """{barcode: product id} of those barcodes some product has."""
        return barcode_owners(self.conn, self.tenant_id, barcodes)

    def take_versions(self, n: int) -> int:
        """Bump the tenant's catalog version by `n`; returns the first of the `n` versions taken,
        as `n` calls of `next_version` would have handed them out."""
        row = _TAKE_VERSIONS.execute(self.conn, {"_tenant": self.tenant_id, "n": n}).fetchone()
        if row is None:
            _FIRST_VERSIONS.execute(self.conn, {"tenant_id": self.tenant_id, "version": n})
            return 1
        return int(row[0]) - n + 1

    def insert_many(self, rows: list[ProductRow]) -> None:
        values = []
        for product in rows:
            row = msgspec.structs.asdict(product)
            del row["barcodes"]
            row["tenant_id"] = self.tenant_id
            values.append(row)
        _INSERT_PRODUCT.execute_many(self.conn, values)
        self._insert_barcodes((p.id, p.barcodes) for p in rows)

    def update_many(self, changes: list[tuple[str, dict[str, Any]]]) -> None:
        """(product id, {column: value}) pairs; rows changing the same columns share one executemany."""
        groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for product_id, values in changes:
            groups.setdefault(tuple(values), []).append(values | {"_tenant": self.tenant_id, "_id": product_id})
        for keys, rows in groups.items():
            statement = _UPDATES.get(keys)
            if statement is None:
                statement = _UPDATES[keys] = _update_product(keys)
            statement.execute_many(self.conn, rows)

    def replace_barcodes(self, barcodes: list[tuple[str, list[str]]]) -> None:
        """Give each product exactly the barcodes listed with it."""
        _DELETE_BARCODES.execute_many(self.conn, [{"_tenant": self.tenant_id, "_id": product_id}
                                                  for product_id, _ in barcodes])
        self._insert_barcodes(barcodes)

    def _insert_barcodes(self, barcodes: Iterable[tuple[str, list[str]]]) -> None:
        _INSERT_BARCODE.execute_many(self.conn, [{"tenant_id": self.tenant_id, "barcode": code,
                                                  "product_id": product_id}
                                                 for product_id, codes in barcodes for code in codes])
