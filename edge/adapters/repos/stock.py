"""The stock ledger, its per-(location, product) level cache, and reservations."""

from __future__ import annotations

from typing import Any

import msgspec
from sqlalchemy import Connection, and_, bindparam, func, insert, or_, select, update
from sqlalchemy.dialects.sqlite import insert as upsert
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import ColumnElement, UnaryExpression

from edge.adapters import tables as t
from edge.adapters import tables_sales as s
from edge.adapters.repos.prepared import Prepared
from edge.service.ports import Actor
from edge.service.repository_ports import (
    CheckoutContext,
    InventoryLine,
    ReservationItem,
    ReservationRow,
    SaleProduct,
    StockLevel,
    StockMovementRow,
)

stock_levels = s.stock_levels
stock_movements = s.stock_movements
reservations = s.reservations
reservation_items = s.reservation_items
products = t.products
tax_categories = t.tax_categories


def not_for_lookup(column: ColumnElement[Any]) -> ColumnElement[Any]:
    """`+column`: SQLite's documented way to keep a term from choosing the index.

    Without statistics (no ANALYZE) SQLite takes `tenant_id = ?` for a selective term and, given
    `tenant_id = ? AND id IN (...)`, walks every product of the tenant through a (tenant_id, …)
    index instead of probing the primary key once per id: 20 ms per checkout at 100,000
    products, on the single writer. The tenant is still checked on every row found by id.
    """
    return UnaryExpression(column, operator=operators.custom_op("+"))


# Hot-path statements are built once, with bind parameters (prefixed b_, since UPDATE reserves
# column names for its SET clause): SQLAlchemy memoises a construct's cache key, so running the
# same object again skips building it and keying the compiled-SQL cache. The checkout's own
# statements also run prepared on the driver connection (see `prepared`).
_LEVELS = Prepared(
    select(products.c.id, products.c.low_stock_threshold, stock_levels.c.on_hand, stock_levels.c.reserved,
           stock_levels.c.low)
    .select_from(products.outerjoin(stock_levels, and_(stock_levels.c.tenant_id == products.c.tenant_id,
                                                       stock_levels.c.product_id == products.c.id,
                                                       stock_levels.c.location_id == bindparam("b_location"))))
    .where(not_for_lookup(products.c.tenant_id) == bindparam("b_tenant"),
           products.c.id.in_(bindparam("b_ids", expanding=True))),
    expanding=["b_ids"])
_INSERT_MOVEMENTS = Prepared(insert(stock_movements))
_MOVEMENT_COLUMNS = [stock_movements.c[name] for name in StockMovementRow.__struct_fields__]


def _bump_statement(column: str) -> Any:
    stmt = upsert(stock_levels)
    return stmt.on_conflict_do_update(
        index_elements=[stock_levels.c.tenant_id, stock_levels.c.location_id, stock_levels.c.product_id],
        set_={column: stock_levels.c[column] + stmt.excluded[column], "updated_at": stmt.excluded.updated_at},
    )


_BUMP = {"on_hand": Prepared(_bump_statement("on_hand")), "reserved": Prepared(_bump_statement("reserved"))}
_SET_LOW = update(stock_levels).where(stock_levels.c.tenant_id == bindparam("b_tenant"),
                                      stock_levels.c.location_id == bindparam("b_location"),
                                      stock_levels.c.product_id == bindparam("b_product"))
_INSERT_RESERVATION = insert(reservations)
_INSERT_RESERVATION_ITEMS = insert(reservation_items)
_CLOSE_RESERVATION = update(reservations).where(reservations.c.id == bindparam("b_id"),
                                                reservations.c.status == "active")
_RESERVATION_COLUMNS = [reservations.c[name] for name in ReservationRow.__struct_fields__]
_ACTIVE_RESERVATIONS = select(*_RESERVATION_COLUMNS).where(reservations.c.tenant_id == bindparam("b_tenant"),
                                                  reservations.c.ref == bindparam("b_ref"),
                                                  reservations.c.status == "active")
_RESERVATION_ITEMS = (select(reservation_items.c.product_id, reservation_items.c.sku, reservation_items.c.quantity)
                      .where(reservation_items.c.reservation_id == bindparam("b_id")))


class SqlStockRepository:
    def __init__(self, conn: Connection, actor: Actor):
        self.conn = conn
        self.tenant_id = actor.tenant_id

    def levels(self, location_id: str, product_ids: list[str]) -> dict[str, StockLevel]:
        """Per product id; products without a row are at 0."""
        if not product_ids:
            return {}
        rows = _LEVELS.execute(self.conn, {"b_location": location_id, "b_tenant": self.tenant_id,
                                           "b_ids": product_ids}).fetchall()
        return {pid: StockLevel(on_hand=on_hand or 0, reserved=reserved or 0, low=bool(low), threshold=threshold or 0)
                for pid, threshold, on_hand, reserved, low in rows}

    def append(self, movements: list[StockMovementRow], now: str) -> None:
        """Append movements and move the level cache by the same deltas, in this transaction."""
        if not movements:
            return
        _INSERT_MOVEMENTS.execute_many(self.conn, [{"tenant_id": self.tenant_id, **msgspec.structs.asdict(m)}
                                                   for m in movements])
        self._bump("on_hand", [(m.location_id, m.product_id, m.delta) for m in movements], now)

    def bump_reserved(self, location_id: str, deltas: list[tuple[str, int]], now: str) -> None:
        self._bump("reserved", [(location_id, pid, d) for pid, d in deltas], now)

    def _bump(self, column: str, deltas: list[tuple[str, str, int]], now: str) -> None:
        merged: dict[tuple[str, str], int] = {}
        for location, pid, delta in deltas:
            merged[(location, pid)] = merged.get((location, pid), 0) + delta
        other = "reserved" if column == "on_hand" else "on_hand"
        _BUMP[column].execute_many(self.conn, [{"tenant_id": self.tenant_id, "location_id": loc, "product_id": pid, column: d,
                                  other: 0, "low": False, "updated_at": now}
                                 for (loc, pid), d in merged.items()])

    def set_low(self, location_id: str, product_id: str, low: bool) -> None:
        self.conn.execute(_SET_LOW, {"b_tenant": self.tenant_id, "b_location": location_id, "b_product": product_id,
                                     "low": low})

    def inventory(self, location_id: str, *, product_id: str | None = None, sku: str | None = None,
                  low_only: bool = False, after: str | None = None, limit: int = 500,
                  q: str | None = None) -> list[InventoryLine]:
        """`sku` matches part of a SKU, `q` part of a SKU or a name; both ignore case."""
        available = func.coalesce(stock_levels.c.on_hand, 0) - func.coalesce(stock_levels.c.reserved, 0)
        stmt = (select(products.c.id.label("product_id"), products.c.sku, products.c.name,
                       products.c.low_stock_threshold.label("threshold"),
                       func.coalesce(stock_levels.c.on_hand, 0).label("on_hand"),
                       func.coalesce(stock_levels.c.reserved, 0).label("reserved"),
                       available.label("available"))
                .select_from(products.outerjoin(stock_levels, and_(stock_levels.c.tenant_id == products.c.tenant_id,
                                                                   stock_levels.c.product_id == products.c.id,
                                                                   stock_levels.c.location_id == location_id)))
                .where(products.c.tenant_id == self.tenant_id))
        if product_id:
            stmt = stmt.where(products.c.id == product_id)
        if sku:
            stmt = stmt.where(products.c.sku.icontains(sku, autoescape=True))
        if q:
            stmt = stmt.where(products.c.sku.icontains(q, autoescape=True)
                              | products.c.name.icontains(q, autoescape=True))
        if low_only:
            # edge.domain.inventory.is_low_stock, as SQL so the listing can page: a threshold
            # of 0 (or none) watches nothing. A unit test holds the two to the same answers.
            threshold = products.c.low_stock_threshold
            stmt = stmt.where(threshold > 0, available <= threshold)
        if after:
            stmt = stmt.where(products.c.sku > after)
        return [InventoryLine(**r) for r in self.conn.execute(stmt.order_by(products.c.sku).limit(limit)).mappings()]

    def movements(self, *, location_id: str | None, product_id: str | None, kind: str | None, ref: str | None,
                  start: str | None, end: str | None, after: str | None, limit: int,
                  newest_first: bool = False) -> list[StockMovementRow]:
        stmt = select(*_MOVEMENT_COLUMNS).where(stock_movements.c.tenant_id == self.tenant_id)
        for column, value in ((stock_movements.c.location_id, location_id), (stock_movements.c.product_id, product_id),
                              (stock_movements.c.kind, kind),
                              (stock_movements.c.ref, ref)):
            if value:
                stmt = stmt.where(column == value)
        if start:
            stmt = stmt.where(stock_movements.c.at >= start)
        if end:
            stmt = stmt.where(stock_movements.c.at < end)
        if after:  # ids are UUIDv7: their order is the ledger's
            stmt = stmt.where(stock_movements.c.id < after if newest_first else stock_movements.c.id > after)
        order = stock_movements.c.id.desc() if newest_first else stock_movements.c.id
        return [StockMovementRow(**r) for r in self.conn.execute(stmt.order_by(order).limit(limit)).mappings()]

    def ledger_sums(self, location_id: str) -> dict[str, int]:
        rows = self.conn.execute(select(stock_movements.c.product_id, func.sum(stock_movements.c.delta)).where(
            stock_movements.c.tenant_id == self.tenant_id,
            stock_movements.c.location_id == location_id).group_by(stock_movements.c.product_id))
        return {pid: int(total) for pid, total in rows}


class SqlReservationsRepository:
    def __init__(self, conn: Connection, actor: Actor):
        self.conn = conn
        self.tenant_id = actor.tenant_id

    def create(self, reservation: ReservationRow, items: list[ReservationItem]) -> None:
        self.conn.execute(_INSERT_RESERVATION, {"tenant_id": self.tenant_id, **msgspec.structs.asdict(reservation)})
        self.conn.execute(_INSERT_RESERVATION_ITEMS, [{"reservation_id": reservation.id, **msgspec.structs.asdict(i)}
                                                      for i in items])

    def get(self, reservation_id: str) -> ReservationRow | None:
        row = self.conn.execute(select(*_RESERVATION_COLUMNS).where(reservations.c.tenant_id == self.tenant_id,
                                                                    reservations.c.id == reservation_id)
                                ).mappings().first()
        return ReservationRow(**row) if row else None

    def active_for(self, ref: str) -> list[ReservationRow]:
        rows = self.conn.execute(_ACTIVE_RESERVATIONS, {"b_tenant": self.tenant_id, "b_ref": ref}).mappings()
        return [ReservationRow(**r) for r in rows]

    def items(self, reservation_id: str) -> list[ReservationItem]:
        rows = self.conn.execute(_RESERVATION_ITEMS, {"b_id": reservation_id}).mappings()
        return [ReservationItem(**r) for r in rows]

    def close(self, reservation_id: str, status: str, now: str) -> bool:
        """Active -> committed/released/expired exactly once; False if it was already closed."""
        result = self.conn.execute(_CLOSE_RESERVATION, {"b_id": reservation_id, "status": status, "closed_at": now})
        return result.rowcount == 1

    def expired(self, now: str, limit: int = 200) -> list[ReservationRow]:
        rows = self.conn.execute(select(*_RESERVATION_COLUMNS).where(reservations.c.status == "active",
                                                            reservations.c.expires_at <= now)
                                 .order_by(reservations.c.expires_at).limit(limit)).mappings()
        return [ReservationRow(**r) for r in rows]

    def search(self, *, status: str | None, kind: str | None, after: str | None,
               limit: int) -> list[ReservationRow]:
        stmt = select(*_RESERVATION_COLUMNS).where(reservations.c.tenant_id == self.tenant_id)
        if status:
            stmt = stmt.where(reservations.c.status == status)
        if kind:
            stmt = stmt.where(reservations.c.kind == kind)
        if after:
            stmt = stmt.where(reservations.c.id > after)
        return [ReservationRow(**r) for r in self.conn.execute(stmt.order_by(reservations.c.id).limit(limit))
                .mappings()]

    def active_count_past(self, now: str) -> int:
        return int(self.conn.execute(select(func.count()).select_from(reservations).where(
            reservations.c.status == "active", or_(reservations.c.expires_at <= now))).scalar() or 0)


price_overrides = t.price_overrides
# The store's price override in force at b_at (the latest-starting one wins), or NULL: with
# b_store or b_at NULL nothing matches.
_OVERRIDE = (select(price_overrides.c.price_cents)
             .where(price_overrides.c.tenant_id == products.c.tenant_id,
                    price_overrides.c.store_id == bindparam("b_store"),
                    price_overrides.c.product_id == products.c.id, price_overrides.c.valid_from <= bindparam("b_at"),
                    or_(price_overrides.c.valid_to.is_(None), price_overrides.c.valid_to > bindparam("b_at")))
             .order_by(price_overrides.c.valid_from.desc(), price_overrides.c.id.desc()).limit(1).scalar_subquery())
_SALE_COLUMNS = (products.c.id, products.c.sku, products.c.name, products.c.price_cents, products.c.tax_category,
                 products.c.active, products.c.sold_by_weight,
                 products.c.low_stock_threshold, tax_categories.c.rate_bp.label("tax_rate_bp"),
                 tax_categories.c.inclusive.label("tax_inclusive"),
                 _OVERRIDE.label("override_cents"))
# Products with their tax category's rate, so pricing needs no second query.
_SALE_PRODUCTS = products.outerjoin(tax_categories, and_(tax_categories.c.tenant_id == products.c.tenant_id,
                                                         tax_categories.c.code == products.c.tax_category))
_SALE_KEYS = tuple(c.key for c in _SALE_COLUMNS)
_SALE_BOOLEANS = ("active", "sold_by_weight", "tax_inclusive")  # sqlite3 returns 0/1 (or NULL)
_BY_ID = Prepared(select(*_SALE_COLUMNS).select_from(_SALE_PRODUCTS).where(
    not_for_lookup(products.c.tenant_id) == bindparam("b_tenant"),
    products.c.id.in_(bindparam("b_values", expanding=True))),
    expanding=["b_values"])
_BY_SKU = Prepared(select(*_SALE_COLUMNS).select_from(_SALE_PRODUCTS).where(
    products.c.tenant_id == bindparam("b_tenant"), products.c.sku.in_(bindparam("b_values", expanding=True))),
    expanding=["b_values"])
product_barcodes = t.product_barcodes
# One barcode per statement: with `barcode IN (...)` SQLite prefers the covering
# (tenant_id, product_id, barcode) index on tenant_id alone and reads every barcode of the
# tenant (16 ms at 100,000); an equality on both key columns is one primary-key probe.
_BY_BARCODE = Prepared(select(product_barcodes.c.barcode, *_SALE_COLUMNS).select_from(_SALE_PRODUCTS.join(
    product_barcodes, and_(product_barcodes.c.product_id == products.c.id,
                           product_barcodes.c.tenant_id == products.c.tenant_id))).where(
    product_barcodes.c.tenant_id == bindparam("b_tenant"), product_barcodes.c.barcode == bindparam("b_value")))


def _sale_product(values: tuple[Any, ...]) -> SaleProduct:
    product = dict(zip(_SALE_KEYS, values, strict=True))
    for key in _SALE_BOOLEANS:
        if product[key] is not None:
            product[key] = bool(product[key])
    return SaleProduct(**product)


def _checkout_context_statement() -> Any:
    lanes, tenants, till_sessions = t.lanes, t.tenants, s.till_sessions
    tenant, store, lane = bindparam("b_tenant"), bindparam("b_store"), bindparam("b_lane")
    return select(
        select(lanes.c.id).where(lanes.c.tenant_id == tenant, lanes.c.store_id == store, lanes.c.id == lane)
        .scalar_subquery().label("lane"),
        select(tenants.c.currency).where(tenants.c.id == tenant).scalar_subquery().label("currency"),
        select(till_sessions.c.id).where(till_sessions.c.tenant_id == tenant, till_sessions.c.store_id == store,
                                         till_sessions.c.lane_id == lane, till_sessions.c.status == "open")
        .limit(1).scalar_subquery().label("till_session_id"),
    )


_CHECKOUT_CONTEXT = Prepared(_checkout_context_statement())


class SqlSaleProductsRepository:
    """Products looked up the way a lane names them (SKU, barcode or id), in one query each."""

    def __init__(self, conn: Connection, actor: Actor):
        self.conn = conn
        self.tenant_id = actor.tenant_id
        self._currency: str | None = None

    def checkout_context(self, store_id: str, lane_id: str) -> CheckoutContext:
        """What a checkout needs to know about its store in one round trip: whether the lane
        exists, the tenant's currency, and the lane's open drawer session (None if none)."""
        lane, currency, till_session_id = _CHECKOUT_CONTEXT.execute(
            self.conn, {"b_tenant": self.tenant_id, "b_store": store_id, "b_lane": lane_id}).fetchone()
        return CheckoutContext(lane_exists=lane is not None, currency=currency or "USD",
                               till_session_id=till_session_id)

    def resolve(self, *, ids: list[str], skus: list[str], barcodes: list[str], store_id: str | None = None,
                at: str | None = None) -> dict[tuple[str, str], SaleProduct]:
        """{("product_id"|"sku"|"barcode", value): product}; unknown references are absent.

        Each product carries `override_cents`: with `store_id` and `at`, the store's price
        override in force at `at` (the latest-starting one), else None."""
        found: dict[tuple[str, str], SaleProduct] = {}
        params = {"b_tenant": self.tenant_id, "b_store": store_id, "b_at": at}
        if ids:
            for r in _BY_ID.execute(self.conn, params | {"b_values": list(set(ids))}):
                product = _sale_product(r)
                found[("product_id", product.id)] = product
        if skus:
            for r in _BY_SKU.execute(self.conn, params | {"b_values": list(set(skus))}):
                product = _sale_product(r)
                found[("sku", product.sku)] = product
        for barcode in set(barcodes):
            r = _BY_BARCODE.execute(self.conn, params | {"b_value": barcode}).fetchone()
            if r is not None:
                found[("barcode", r[0])] = _sale_product(r[1:])
        return found

    def tax_rates(self) -> dict[str, tuple[int, bool]]:
        return {code: (rate, bool(inclusive)) for code, rate, inclusive in self.conn.execute(
            select(tax_categories.c.code, tax_categories.c.rate_bp, tax_categories.c.inclusive)
            .where(tax_categories.c.tenant_id == self.tenant_id))}

    def currency(self) -> str:
        # Read once per unit of work (this repository lives as long as its transaction): every
        # payment row and outcome a unit writes carries guidance in the store's currency.
        if self._currency is None:
            self._currency = self.conn.execute(
                select(t.tenants.c.currency).where(t.tenants.c.id == self.tenant_id)).scalar() or "USD"
        return self._currency
