"""Types travel: the unit of work's repositories implement the ports the use cases are typed
against, and each route's request Struct is the command its use case reads."""

from __future__ import annotations

import inspect
import typing

import msgspec
import pytest

from edge.adapters.uow import SqlUnitOfWork
from edge.api.routes import orders as order_routes
from edge.api.routes import reservations as reservation_routes
from edge.api.routes import tills as till_routes
from edge.service import commands, repository_ports
from edge.service.ports import UnitOfWork


def _members(protocol: type) -> set[str]:
    """What a Protocol declares: its fields and its methods and properties, own and inherited."""
    names: set[str] = set()
    for cls in protocol.__mro__:
        if cls in (object, typing.Protocol, typing.Generic):
            continue
        names |= set(getattr(cls, "__annotations__", {}))
        names |= {n for n, v in vars(cls).items() if not n.startswith("_") and (callable(v) or isinstance(v, property))}
    return names


REPOSITORIES = {name: hint for name, hint in typing.get_type_hints(UnitOfWork).items()
                if isinstance(hint, type) and hint.__module__ == repository_ports.__name__}


def test_every_repository_port_is_an_attribute_of_the_unit_of_work():
    declared = {cls for _, cls in inspect.getmembers(repository_ports, inspect.isclass)
                if cls.__module__ == repository_ports.__name__ and getattr(cls, "_is_protocol", False)}
    assert set(REPOSITORIES.values()) == declared
    assert not hasattr(SqlUnitOfWork, "repo")  # no lookup by name beside the typed attributes


@pytest.mark.parametrize("name", sorted(REPOSITORIES))
def test_the_sql_repository_has_every_method_of_its_port_with_the_same_parameters(name):
    port = REPOSITORIES[name]
    adapter = vars(SqlUnitOfWork)[name].build
    for method in sorted(_members(port)):
        assert hasattr(adapter, method), f"{adapter.__name__} lacks {method}"
        expected = inspect.signature(getattr(port, method))
        actual = inspect.signature(getattr(adapter, method))
        assert [(p.name, p.kind, p.default) for p in actual.parameters.values()] == \
            [(p.name, p.kind, p.default) for p in expected.parameters.values()], f"{adapter.__name__}.{method}"


def test_a_repository_is_built_once_per_unit_of_work(tmp_path):
    from sqlalchemy import create_engine

    from edge.service.ports import Actor

    engine = create_engine(f"sqlite:///{tmp_path / 'uow.db'}")
    with engine.connect() as conn:
        uow = SqlUnitOfWork(conn, Actor.system("t1", "s1"))
        assert uow.orders is uow.orders and uow.payments is not uow.orders
        other = SqlUnitOfWork(conn, Actor.system("t2", "s1"))
        assert other.orders is not uow.orders and other.orders.tenant_id == "t2"


def test_the_order_rows_hold_every_column_of_their_tables_but_the_tenant():
    from edge.adapters.tables_sales import order_lines, orders
    from edge.service.repository_ports import OrderLineRow, OrderRow

    assert set(OrderRow.__struct_fields__) == {c.key for c in orders.columns} - {"tenant_id"}
    assert set(OrderLineRow.__struct_fields__) == {c.key for c in order_lines.columns}


def test_an_order_and_its_lines_read_back_as_the_typed_rows_they_were_written_as(tmp_path):
    from sqlalchemy import create_engine

    from edge.adapters.tables_sales import order_lines, orders
    from edge.service.ports import Actor
    from edge.service.repository_ports import OrderLineRow, OrderRow

    engine = create_engine(f"sqlite:///{tmp_path / 'orders.db'}")
    orders.metadata.create_all(engine, tables=[orders, order_lines])
    row = OrderRow(id="o1", store_id="s1", lane_id="2", number="2-000001", status="COMPLETED", currency="EUR",
                   cashier_id=None, cashier="ann", subtotal_cents=1000, discount_cents=0, tax_cents=200,
                   total_cents=1200, business_day="2026-11-30", created_at="2026-11-30T10:00:00Z",
                   updated_at="2026-11-30T10:00:00Z", paid_cents=1200, tender_methods="cash", verdict="accepted")
    line = OrderLineRow(id="l1", order_id="o1", line_no=1, product_id="p1", sku="APPLE", name="Apple", quantity=1,
                        weight_grams=1250, unit_price_cents=800, catalog_price_cents=800, discount_cents=0,
                        tax_category="food", tax_rate_bp=2000, tax_inclusive=True, tax_cents=200, total_cents=1000)
    with engine.begin() as conn:
        uow = SqlUnitOfWork(conn, Actor.system("t1", "s1"))
        uow.orders.insert(row, [line])
        assert uow.orders.get("o1") == row
        assert uow.orders.lines("o1") == [line] and uow.orders.lines_of(["o1"]) == {"o1": [line]}
        assert uow.orders.by_number("2-000001") == row
        assert SqlUnitOfWork(conn, Actor.system("t2", "s1")).orders.get("o1") is None  # another tenant's



def test_the_payment_row_holds_every_column_of_its_table_but_the_tenant():
    from edge.adapters.tables_sales import payments
    from edge.service.repository_ports import PaymentRow

    assert set(PaymentRow.__struct_fields__) == {c.key for c in payments.columns} - {"tenant_id"}


def test_payments_read_back_as_the_typed_rows_they_were_written_as_and_only_for_their_tenant(tmp_path):
    import msgspec
    from sqlalchemy import create_engine

    from edge.adapters.tables_sales import payments, provider_events
    from edge.service.ports import Actor
    from edge.service.repository_ports import PaymentRow

    engine = create_engine(f"sqlite:///{tmp_path / 'payments.db'}")
    payments.metadata.create_all(engine, tables=[payments, provider_events])
    cash = PaymentRow(id="p1", order_id="o1", kind="sale", method="cash", status="approved", amount_cents=1200,
                      approved_cents=1200, tendered_cents=2000, change_cents=800, guidance="Give 8.00 change",
                      created_at="2026-11-30T10:00:00Z", updated_at="2026-11-30T10:00:00Z")
    card = PaymentRow(id="p2", order_id="o1", kind="sale", method="card", status="created", amount_cents=500,
                      created_at="2026-11-30T10:00:00Z", updated_at="2026-11-30T10:00:00Z")
    with engine.begin() as conn:
        repo = SqlUnitOfWork(conn, Actor.system("t1", "s1")).payments
        repo.insert_many([cash, card])
        assert repo.get("p1") == cash and repo.of_order("o1") == [cash, card]
        assert repo.of_orders(["o1", "o2"]) == {"o1": [cash, card], "o2": []}
        assert repo.in_flight() == [card]
        assert repo.update("p2", {"status": "approved", "approved_cents": 500, "card_last4": "4242"},
                           expect_status=("created",))
        assert repo.get("p2") == msgspec.structs.replace(card, status="approved", approved_cents=500,
                                                         card_last4="4242")
        with pytest.raises(AttributeError):  # a row read is a snapshot; changes go through `update`
            repo.get("p1").status = "refunded"  # type: ignore[misc]
        other = SqlUnitOfWork(conn, Actor.system("t2", "s1")).payments
        assert other.get("p1") is None and other.of_order("o1") == []  # another tenant's


def test_the_till_rows_hold_every_column_of_their_tables_but_the_tenant():
    from edge.adapters.tables_sales import till_movements, till_sessions
    from edge.service.repository_ports import TillMovementRow, TillSessionRow

    assert set(TillSessionRow.__struct_fields__) == {c.key for c in till_sessions.columns} - {"tenant_id"}
    assert set(TillMovementRow.__struct_fields__) == {c.key for c in till_movements.columns}


def test_a_drawer_session_and_its_cash_read_back_as_typed_rows_and_only_for_their_tenant(tmp_path):
    from sqlalchemy import create_engine

    from edge.adapters.tables_sales import till_movements, till_sessions
    from edge.service.ports import Actor
    from edge.service.repository_ports import TillMovementRow, TillSessionRow

    engine = create_engine(f"sqlite:///{tmp_path / 'tills.db'}")
    till_sessions.metadata.create_all(engine, tables=[till_sessions, till_movements])
    session = TillSessionRow(id="t1", store_id="s1", lane_id="2", status="open", float_cents=10000,
                             opened_by="ann", opened_at="2026-11-30T08:00:00Z", business_day="2026-11-30")
    float_in = TillMovementRow(id="m1", session_id="t1", kind="float", amount_cents=10000, reason="opening float",
                               ref=None, actor="ann", at="2026-11-30T08:00:00Z")
    pay_out = TillMovementRow(id="m2", session_id="t1", kind="pay_out", amount_cents=-1500, reason="window cleaner",
                              ref=None, actor="ann", at="2026-11-30T09:00:00Z")
    with engine.begin() as conn:
        tills = SqlUnitOfWork(conn, Actor.system("t1", "s1")).tills
        tills.insert_session(session)
        tills.add_movement(float_in)
        tills.add_movement(pay_out)
        assert tills.get("t1") == session and tills.open_session("s1", "2") == session
        assert tills.movements("t1") == [float_in, pay_out]
        z = {"kind": "Z", "counted_cents": 8500, "variance_cents": 0}
        assert tills.update_session("t1", {"status": "closed", "closed_by": "bob", "closed_at": "2026-11-30T20:00:00Z",
                                           "counted_cents": 8500, "expected_cents": 8500, "variance_cents": 0,
                                           "z_report": z})
        closed = tills.get("t1")
        assert closed is not None and (closed.status, closed.variance_cents, closed.z_report) == ("closed", 0, z)
        assert tills.open_session("s1", "2") is None
        assert tills.sessions("s1", lane_id="2", status="closed") == [closed]
        other = SqlUnitOfWork(conn, Actor.system("t2", "s1")).tills
        assert other.get("t1") is None and other.sessions("s1", lane_id=None, status=None) == []


def test_the_stock_movement_row_holds_every_column_of_the_ledger_but_the_tenant():
    from edge.adapters.tables_sales import stock_movements
    from edge.service.repository_ports import StockMovementRow

    assert set(StockMovementRow.__struct_fields__) == {c.key for c in stock_movements.columns} - {"tenant_id"}


def test_stock_moves_read_back_as_typed_rows_and_levels_follow_them(tmp_path):
    from sqlalchemy import create_engine

    from edge.adapters import tables, tables_sales
    from edge.service.ports import Actor
    from edge.service.repository_ports import StockLevel, StockMovementRow

    engine = create_engine(f"sqlite:///{tmp_path / 'stock.db'}")
    tables.metadata.create_all(engine)
    tables_sales.metadata.create_all(engine)
    with engine.begin() as conn:
        for pid, sku, threshold in (("p1", "APPLE", 5), ("p2", "PEAR", 0)):
            conn.execute(tables.products.insert().values(
                id=pid, tenant_id="t1", sku=sku, name=sku.title(), price_cents=100, tax_category="food",
                low_stock_threshold=threshold, attributes={}, version=1, created_at="2026-11-30T08:00:00Z",
                updated_at="2026-11-30T08:00:00Z"))
        stock = SqlUnitOfWork(conn, Actor.system("t1", "s1")).stock
        received = StockMovementRow(id="m1", location_id="s1", product_id="p1", sku="APPLE", kind="receive",
                                    delta=12, ref="delivery-7", actor="ann", at="2026-11-30T09:00:00Z")
        counted = StockMovementRow(id="m2", location_id="s1", product_id="p1", sku="APPLE", kind="count", delta=-2,
                                   counted=10, expected_at_count=12, actor="ann", at="2026-11-30T10:00:00Z")
        stock.append([received, counted], "2026-11-30T10:00:00Z")
        stock.bump_reserved("s1", [("p1", 3)], "2026-11-30T10:00:00Z")
        assert stock.levels("s1", ["p1", "p2"]) == {"p1": StockLevel(on_hand=10, reserved=3, threshold=5),
                                                    "p2": StockLevel()}  # never moved here: zeros
        assert stock.movements(location_id="s1", product_id=None, kind=None, ref=None, start=None, end=None,
                               after=None, limit=10) == [received, counted]
        assert stock.movements(location_id="s1", product_id="p1", kind="count", ref=None, start=None, end=None,
                               after=None, limit=10) == [counted]
        assert SqlUnitOfWork(conn, Actor.system("t2", "s1")).stock.movements(
            location_id="s1", product_id=None, kind=None, ref=None, start=None, end=None, after=None,
            limit=10) == []  # another tenant's


def test_the_reservation_rows_hold_every_column_of_their_tables_but_the_keys_the_repository_owns():
    from edge.adapters.tables_sales import reservation_items, reservations
    from edge.service.repository_ports import ReservationItem, ReservationRow

    assert set(ReservationRow.__struct_fields__) == {c.key for c in reservations.columns} - {"tenant_id"}
    assert set(ReservationItem.__struct_fields__) == {c.key for c in reservation_items.columns} - {"reservation_id"}


def test_a_hold_reads_back_as_typed_rows_closes_once_and_only_for_its_tenant(tmp_path):
    from sqlalchemy import create_engine

    from edge.adapters.tables_sales import reservation_items, reservations
    from edge.service.ports import Actor
    from edge.service.repository_ports import ReservationItem, ReservationRow

    engine = create_engine(f"sqlite:///{tmp_path / 'holds.db'}")
    reservations.metadata.create_all(engine, tables=[reservations, reservation_items])
    hold = ReservationRow(id="r1", location_id="s1", kind="bopis", ref="web-42", customer="Ann", status="active",
                          expires_at="2026-11-30T12:00:00Z", created_at="2026-11-30T10:00:00Z")
    items = [ReservationItem(product_id="p1", sku="APPLE", quantity=3)]
    with engine.begin() as conn:
        repo = SqlUnitOfWork(conn, Actor.system("t1", "s1")).reservations
        repo.create(hold, items)
        assert repo.get("r1") == hold and repo.active_for("web-42") == [hold] and repo.items("r1") == items
        assert repo.expired("2026-11-30T12:00:00Z") == [hold] and repo.expired("2026-11-30T11:59:59Z") == []
        assert repo.close("r1", "committed", "2026-11-30T11:00:00Z")
        assert not repo.close("r1", "released", "2026-11-30T11:00:01Z")  # exactly once
        assert repo.search(status="committed", kind=None, after=None, limit=10) == [
            ReservationRow(**{**msgspec.structs.asdict(hold), "status": "committed",
                              "closed_at": "2026-11-30T11:00:00Z"})]
        assert SqlUnitOfWork(conn, Actor.system("t2", "s1")).reservations.get("r1") is None  # another tenant's

COMMANDS = [
    (order_routes.OrderIn, commands.NewSale),
    (order_routes.QuoteIn, commands.Cart),
    (order_routes.LineIn, commands.SaleLine),
    (order_routes.TenderIn, commands.TenderIn),
    (order_routes.ReturnIn, commands.ItemsReturned),
    (order_routes.ReturnLineIn, commands.ReturnedLine),
    (order_routes.ExchangeIn, commands.Exchange),
    (till_routes.OfflineSaleIn, commands.OfflineSale),
    (commands.Sale, commands.NewSale),
    (reservation_routes.HoldIn, commands.NewHold),
    (reservation_routes.HoldItem, commands.HeldItem),
    (commands.Hold, commands.NewHold),
    (commands.Held, commands.HeldItem),
]


@pytest.mark.parametrize(("struct", "command"), COMMANDS,
                         ids=lambda c: getattr(c, "__name__", ""))
def test_the_request_struct_carries_every_field_its_use_case_reads(struct, command):
    assert _members(command) <= set(struct.__struct_fields__)


# -- the catalog, accounts, reviews, audit, policy, stores, idempotency and returns ------------------

def _row_tables():
    from edge.adapters import tables as t
    from edge.adapters import tables_bopis as tbopis
    from edge.adapters import tables_pairing as tpair
    from edge.adapters import tables_policy as tp
    from edge.adapters import tables_sales as ts
    from edge.adapters import tables_settlement as tset
    from edge.service import repository_ports as rp
    from edge.service.pickup_ports import PickupRow

    # (row, table, columns the repository owns rather than the row)
    return [
        (rp.ProductRow, t.products, {"tenant_id"}),
        (rp.TaxCategoryRow, t.tax_categories, {"tenant_id"}),
        (rp.PriceOverrideRow, t.price_overrides, {"tenant_id"}),
        (rp.UserRow, t.users, {"tenant_id"}),
        (rp.RefreshTokenRow, t.refresh_tokens, {"tenant_id"}),
        (rp.LoginAttempts, t.login_attempts, {"tenant_id"}),
        (rp.TenantRow, t.tenants, set()),
        (rp.StoreRow, t.stores, {"tenant_id"}),
        (rp.LaneRow, t.lanes, {"tenant_id"}),
        (rp.LaneQueueRow, ts.lane_queue_status, {"tenant_id"}),
        (rp.ReviewCaseRow, ts.review_cases, {"tenant_id"}),
        (rp.AuditEntry, t.audit_log, {"tenant_id"}),
        (rp.PolicyRow, tp.policy_in_force, {"tenant_id"}),
        (rp.ReturnRow, ts.returns, {"tenant_id"}),
        (rp.ReturnLineRow, ts.return_lines, set()),
        (rp.SettlementReportRow, tset.settlement_reports, {"tenant_id"}),
        (PickupRow, tbopis.pickups, {"tenant_id"}),
        (rp.PairingCodeRow, tpair.lane_pairing_codes, {"tenant_id"}),
        (rp.LaneDeviceRow, tpair.lane_devices, {"tenant_id"}),
        (rp.LaneSessionRow, tpair.lane_sessions, {"tenant_id"}),
    ]


@pytest.mark.parametrize(("row", "table", "owned"), _row_tables(), ids=lambda x: getattr(x, "__name__", ""))
def test_each_row_holds_every_column_of_its_table_but_what_the_repository_owns(row, table, owned):
    fields = set(row.__struct_fields__) - ({"barcodes"} if row.__name__ == "ProductRow" else set())
    assert fields == {c.key for c in table.columns} - owned


@pytest.fixture
def store_db(tmp_path):
    from sqlalchemy import create_engine

    from edge.adapters import (  # noqa: F401 - every table on the metadata
        tables,
        tables_bopis,
        tables_pairing,
        tables_policy,
        tables_sales,
        tables_settlement,
    )

    engine = create_engine(f"sqlite:///{tmp_path / 'store.db'}")
    tables.metadata.create_all(engine)
    return engine


def _uow(conn, tenant="t1", store="s1"):
    from edge.service.ports import Actor

    return SqlUnitOfWork(conn, Actor.system(tenant, store))


def test_products_tax_categories_and_overrides_read_back_as_typed_rows_and_only_for_their_tenant(store_db):
    from edge.service.repository_ports import PriceOverrideRow, ProductRow, SaleProduct, TaxCategoryRow

    food = TaxCategoryRow(code="food", name="Groceries", rate_bp=200, updated_at="2026-11-30T08:00:00Z")
    apple = ProductRow(id="p1", sku="APPLE", name="Apple", price_cents=120, tax_category="food",
                       attributes={"origin": {"country": "NZ"}}, sold_by_weight=True, low_stock_threshold=5,
                       version=1, created_at="2026-11-30T08:00:00Z", updated_at="2026-11-30T08:00:00Z",
                       barcodes=["2000000000015", "4006381333931"])
    sale = PriceOverrideRow(id="o1", store_id="s1", product_id="p1", price_cents=99,
                            valid_from="2026-11-30T09:00:00Z", created_at="2026-11-30T08:30:00Z")
    with store_db.begin() as conn:
        catalog = _uow(conn).catalog
        catalog.upsert_tax_category(food)
        catalog.insert(apple)
        catalog.add_override(sale)
        assert catalog.tax_category("food") == food and catalog.tax_categories() == [food]
        assert catalog.get("p1") == apple and catalog.by_sku("APPLE") == apple
        assert catalog.by_barcode("4006381333931") == apple
        assert catalog.search(q="app", sku=None, barcode=None, since=None, after=None, limit=10,
                              active_only=True) == [apple]
        assert catalog.lookup(sku="APPLE", at="2026-11-30T08:59:59Z") == (apple, None)
        assert catalog.lookup(barcode="2000000000015", at="2026-11-30T10:00:00Z") == (apple, 99)  # the hot path
        assert catalog.overrides("p1") == [sale]
        assert catalog.end_override("o1", "2026-11-30T12:00:00Z") == sale
        assert catalog.overrides("p1") == [msgspec.structs.replace(sale, valid_to="2026-11-30T12:00:00Z")]
        assert _uow(conn).sale_products.resolve(ids=["p1"], skus=[], barcodes=["4006381333931"], store_id="s1",
                                                at="2026-11-30T10:00:00Z") == {
            ("product_id", "p1"): SaleProduct(id="p1", sku="APPLE", name="Apple", price_cents=120,
                                              tax_category="food", active=True, sold_by_weight=True,
                                              low_stock_threshold=5, tax_rate_bp=200, tax_inclusive=False,
                                              override_cents=99),
            ("barcode", "4006381333931"): SaleProduct(id="p1", sku="APPLE", name="Apple", price_cents=120,
                                                      tax_category="food", active=True, sold_by_weight=True,
                                                      low_stock_threshold=5, tax_rate_bp=200, tax_inclusive=False,
                                                      override_cents=99)}
        other = _uow(conn, tenant="t2").catalog
        assert other.get("p1") is None and other.by_barcode("4006381333931") is None
        assert other.tax_categories() == [] and other.lookup(sku="APPLE", at="2026-11-30T10:00:00Z") is None


def test_accounts_sessions_and_lockouts_read_back_as_typed_rows_and_only_for_their_tenant(store_db):
    from edge.service.repository_ports import LaneRow, LoginAttempts, RefreshTokenRow, StoreRow, TenantRow, UserRow

    with store_db.begin() as conn:
        uow = _uow(conn)
        assert uow.stores.ensure(tenant_name="Acme", store_id="s1", store_name="Main St", timezone="Europe/Berlin",
                                 day_start_hour=4, currency="EUR", lanes=2, require_mfa=True,
                                 now="2026-11-30T08:00:00Z")
        assert uow.users.tenant() == TenantRow(id="t1", name="Acme", require_mfa=True, currency="EUR",
                                               created_at="2026-11-30T08:00:00Z")
        assert uow.stores.store("s1") == StoreRow(id="s1", name="Main St", timezone="Europe/Berlin",
                                                  day_start_hour=4, created_at="2026-11-30T08:00:00Z")
        assert uow.stores.lanes("s1") == [LaneRow(store_id="s1", id="1", name="Lane 1"),
                                          LaneRow(store_id="s1", id="2", name="Lane 2")]
        ann = UserRow(id="u1", store_id="s1", username="ann", password_hash="$argon2id$v=19$x", pin_hash="$argon2id$y",
                      pin_lookup="abc", roles=["cashier", "supervisor"], created_at="2026-11-30T08:00:00Z",
                      updated_at="2026-11-30T08:00:00Z")
        uow.users.add(ann)
        assert uow.users.by_id("u1") == ann and uow.users.by_username("ann") == ann
        assert uow.users.by_pin_lookup("s1", "abc") == ann and uow.users.list() == [ann]
        uow.users.update("u1", disabled=True, updated_at="2026-11-30T09:00:00Z")
        assert uow.users.by_id("u1") == msgspec.structs.replace(ann, disabled=True, updated_at="2026-11-30T09:00:00Z")
        token = RefreshTokenRow(token_hash="h1", family_id="f1", user_id="u1", lane_id="2",
                                issued_at="2026-11-30T08:00:00Z", expires_at="2026-12-01T08:00:00Z")
        uow.users.add_refresh(token)
        assert uow.users.refresh_by_hash("h1") == token
        assert uow.users.mark_rotated("h1", "2026-11-30T08:05:00Z")
        assert uow.users.refresh_by_hash("h1").rotated_at == "2026-11-30T08:05:00Z"
        uow.users.save_attempts("ann", 3, "2026-11-30T08:10:00Z", "2026-11-30T08:09:00Z")
        assert uow.users.attempts("ann") == LoginAttempts(subject="ann", failures=3, locked_until="2026-11-30T08:10:00Z",
                                                          updated_at="2026-11-30T08:09:00Z")
        other = _uow(conn, tenant="t2")
        assert other.users.by_id("u1") is None and other.users.list() == [] and other.users.tenant() is None
        assert other.users.refresh_by_hash("h1") is None and other.users.attempts("ann") is None
        assert other.stores.store("s1") is None and other.stores.lanes("s1") == []


def test_review_cases_audit_entries_policies_and_stored_answers_read_back_as_typed_rows(store_db):
    from edge.service.repository_ports import AuditEntry, PolicyRow, ReviewCaseRow, StoredResponse

    with store_db.begin() as conn:
        uow = _uow(conn)
        case = uow.reviews.open_case(uow, "price_variance", "o1", "p1", "APPLE sold offline at 1.00",
                                     {"charged_cents": 100, "catalog_cents": 120})
        assert uow.reviews.get(case.id) == case == ReviewCaseRow(
            id=case.id, kind="price_variance", status="open", order_id="o1", product_id="p1",
            summary="APPLE sold offline at 1.00", detail={"charged_cents": 100, "catalog_cents": 120},
            created_at=uow.now)
        assert uow.reviews.resolve(case.id, resolution="accepted", note="ok", resolved_by="bob", at=uow.now)
        assert not uow.reviews.resolve(case.id, resolution="dismissed", note=None, resolved_by="bob", at=uow.now)
        assert uow.reviews.search(status="resolved", kind=None, after=None, limit=10) == [msgspec.structs.replace(
            case, status="resolved", resolution="accepted", note="ok", resolved_by="bob", resolved_at=uow.now)]

        uow.audit("product.updated", "product", "p1", {"price_cents": 120}, {"price_cents": 99})
        [entry] = uow.audit_log.query(entity="product", entity_id="p1")
        assert entry == AuditEntry(id=entry.id, store_id="s1", at=uow.now, actor="system", actor_id=None,
                                   action="product.updated", entity="product", entity_id="p1",
                                   before={"price_cents": 120}, after={"price_cents": 99}, lane_id=None,
                                   device_id=None, request_id=None)

        policy = PolicyRow(name="sales", document={"return_window_days": 14}, version=3, source="hq",
                           command_id="c1", issued_at="2026-11-30T07:00:00Z", applied_at=uow.now)
        uow.policy.put(policy)
        uow.policy.put(msgspec.structs.replace(policy, version=4))
        assert uow.policy.get("sales") == msgspec.structs.replace(policy, version=4)

        scope = ("t1", "u1", "POST /api/v1/orders", "key-1")
        uow.idempotency.save(scope, "abc", 201, '{"id":"o1"}', uow.now)
        assert uow.idempotency.find(scope) == StoredResponse(body_sha256="abc", status_code=201,
                                                            response_body='{"id":"o1"}')
        other = _uow(conn, tenant="t2")
        assert other.reviews.get(case.id) is None and other.audit_log.query(entity="product") == []
        assert other.policy.get("sales") is None and other.idempotency.find(("t2", *scope[1:])) is None


def test_a_return_and_its_lines_read_back_as_typed_rows_and_only_for_their_tenant(store_db):
    from edge.service.repository_ports import ReturnLineRow, ReturnRow

    ret = ReturnRow(id="r1", order_id="o1", reason="damaged", refund_cents=1000, fee_cents=0, exchange_order_id=None,
                    override_by="bob", actor="ann", created_at="2026-11-30T10:00:00Z")
    lines = [ReturnLineRow(id="rl1", return_id="r1", order_line_id="l1", quantity=1, restock=False, refund_cents=600),
             ReturnLineRow(id="rl2", return_id="r1", order_line_id="l2", quantity=2, restock=True, refund_cents=400)]
    with store_db.begin() as conn:
        _uow(conn).orders.insert_return(ret, lines)
        assert _uow(conn).orders.returns_of("o1") == [(ret, lines)]
        assert _uow(conn, tenant="t2").orders.returns_of("o1") == []


def test_an_access_token_carries_typed_claims_and_a_token_with_claims_of_the_wrong_type_is_refused(tmp_path):
    import time

    import jwt

    from edge.adapters.security.keys import KeyStore
    from edge.adapters.security.tokens import InvalidToken, TokenService
    from edge.service.ports import AccessClaims, Actor

    keys = KeyStore(tmp_path / "keys", keep_retired_s=60).load()
    tokens = TokenService(keys, issuer="novapos-edge", audience="novapos", access_ttl_s=300)
    claims = AccessClaims(sub="u1", sid="f1", username="ann", tenant_id="t1", store_id="s1",
                          roles=("cashier",), lane_id="2")
    verified = tokens.verify_access(tokens.issue_access(claims))
    assert verified == claims and tokens.verify_access(tokens.issue_access(claims)) == claims
    assert verified.actor("req-1") == Actor(tenant_id="t1", store_id="s1", user_id="u1", username="ann",
                                            roles=("cashier",), lane_id="2", request_id="req-1")
    key, now = keys.active(), int(time.time())
    forged_shape = jwt.encode({"sub": "u1", "tenant_id": "t1", "roles": "tenant_admin", "iss": "novapos-edge",
                               "aud": "novapos", "iat": now, "nbf": now, "exp": now + 300, "typ": "access"},
                              key.private_key, algorithm="RS256", headers={"kid": key.kid})
    with pytest.raises(InvalidToken):  # signed, but roles is not a list: never an Actor
        tokens.verify_access(forged_shape)


def test_the_catalog_and_stock_commands_are_what_their_routes_decode():
    from edge.api.routes import catalog as catalog_routes
    from edge.api.routes import inventory as inventory_routes
    from edge.service import commands as c

    for struct, command in [(catalog_routes.ProductBody, c.NewProduct), (c.Product, c.NewProduct),
                            (catalog_routes.ProductPatch, c.ProductChange), (c.Changes, c.ProductChange),
                            (c.TaxCategoryFields, c.TaxCategoryIn), (inventory_routes.CountItem, c.CountedItem),
                            (c.Counted, c.CountedItem), (inventory_routes.QtyItem, c.MovedItem),
                            (c.Moved, c.MovedItem)]:
        assert _members(command) <= set(struct.__struct_fields__), struct.__name__


def test_pairing_codes_devices_and_lane_sessions_read_back_as_typed_rows_and_only_for_their_tenant(store_db):
    from edge.service.repository_ports import LaneDeviceRow, LaneSessionRow, PairingCodeRow

    code = PairingCodeRow(code_hash="c" * 64, store_id="s1", lane_id="2", created_by="manager",
                          created_at="2026-11-30T08:00:00Z", expires_at="2026-11-30T08:10:00Z")
    tablet = LaneDeviceRow(id="d1", store_id="s1", lane_id="2", token_hash="d" * 64, label="Tablet 2",
                           paired_at="2026-11-30T08:01:00Z", paired_by="manager")
    ann = LaneSessionRow(family_id="f1", store_id="s1", lane_id="2", user_id="u1", username="ann", device_id="d1",
                         started_at="2026-11-30T08:02:00Z", ends_at="2026-11-30T16:02:00Z")
    bob = LaneSessionRow(family_id="f2", store_id="s1", lane_id="2", user_id="u2", username="bob", device_id=None,
                         started_at="2026-11-30T09:00:00Z", ends_at="2026-11-30T17:00:00Z")
    with store_db.begin() as conn:
        lanes = _uow(conn).lanes
        lanes.add_pairing_code(code)
        assert lanes.pairing_code("c" * 64) == code
        assert lanes.spend_pairing_code("c" * 64, "d1", "2026-11-30T08:01:00Z")
        assert not lanes.spend_pairing_code("c" * 64, "d9", "2026-11-30T08:01:30Z")  # spent once
        assert lanes.pairing_code("c" * 64) == msgspec.structs.replace(code, used_at="2026-11-30T08:01:00Z",
                                                                        device_id="d1")
        lanes.add_device(tablet)
        assert lanes.device("d1") == tablet and lanes.device_by_token_hash("d" * 64) == tablet
        assert lanes.devices("s1") == [tablet]
        lanes.update_device("d1", {"revoked_at": "2026-11-30T12:00:00Z", "revoked_by": "manager"})
        revoked = msgspec.structs.replace(tablet, revoked_at="2026-11-30T12:00:00Z", revoked_by="manager")
        assert lanes.device("d1") == revoked and lanes.devices("s1") == []  # unpaired devices are not listed
        lanes.add_session(ann)
        lanes.add_session(bob)
        assert lanes.session("f1") == ann and lanes.open_sessions("s1", "2") == [ann, bob]
        assert lanes.end_session("f1", "taken_over", "2026-11-30T09:00:00Z")
        assert not lanes.end_session("f1", "signed_out", "2026-11-30T09:01:00Z")  # ends once
        assert lanes.session("f1") == msgspec.structs.replace(ann, ended_at="2026-11-30T09:00:00Z",
                                                              ended_reason="taken_over")
        assert lanes.open_sessions("s1", "2") == [bob]
        other = _uow(conn, tenant="t2").lanes
        assert other.pairing_code("c" * 64) is None and other.device("d1") is None
        assert other.device_by_token_hash("d" * 64) is None and other.session("f2") is None
        assert other.open_sessions("s1", "2") == [] and not other.end_session("f2", "signed_out", "2026-11-30T10:00Z")


def test_settlement_reports_read_back_as_typed_rows_replace_their_day_and_only_for_their_tenant(store_db):
    from edge.service.repository_ports import SettlementReportRow

    first = SettlementReportRow(id="r1", provider="btcpay", method="crypto", business_day="2026-11-29", currency="EUR",
                                status="differences", captured_cents=5000, refunded_cents=0,
                                provider_captured_cents=4000, provider_refunded_cents=0,
                                differences=[{"kind": "amount_differs", "item": "capture", "ref": "p1",
                                              "ours_cents": 5000, "provider_cents": 4000, "case_id": "c1"}],
                                created_at="2026-11-30T04:00:00Z")
    again = msgspec.structs.replace(first, id="r2", status="matched", provider_captured_cents=5000, differences=[],
                                    created_at="2026-11-30T10:00:00Z")
    earlier = msgspec.structs.replace(first, id="r0", business_day="2026-11-28")
    with store_db.begin() as conn:
        settlement = _uow(conn).settlement
        settlement.save_report(first)
        settlement.save_report(earlier)
        assert settlement.reports(business_day="2026-11-29", provider="btcpay", limit=5) == [first]
        settlement.save_report(again)  # the day reconciled again replaces its report
        assert settlement.reports(business_day=None, provider=None, limit=5) == [again, earlier]
        assert settlement.reports(business_day=None, provider="simulated-terminal", limit=5) == []
        assert _uow(conn, tenant="t2").settlement.reports(business_day=None, provider=None, limit=5) == []


def test_pickups_read_back_as_typed_rows_with_typed_lines_and_only_for_their_tenant(store_db):
    from edge.contracts.bopis import PickupLine
    from edge.service.pickup_ports import PickupRow

    web = PickupRow(order_id="WEB-1", status="received", lines=[PickupLine(sku="APPLE", quantity=2),
                                                                PickupLine(sku="PEAR", quantity=1)],
                    prepaid=True, hold_hours=48, reservation_id=None, sale_order_id=None, reason=None,
                    command_id="c1", received_at="2026-11-30T08:00:00Z", updated_at="2026-11-30T08:00:00Z")
    with store_db.begin() as conn:
        pickups = _uow(conn).pickups
        pickups.insert(web)
        assert pickups.get("WEB-1") == web and pickups.get("WEB-1").lines[0].sku == "APPLE"
        pickups.update("WEB-1", {"status": "accepted", "reservation_id": "r1", "updated_at": "2026-11-30T08:05:00Z"})
        accepted = msgspec.structs.replace(web, status="accepted", reservation_id="r1",
                                           updated_at="2026-11-30T08:05:00Z")
        assert pickups.by_reservation("r1") == accepted
        assert pickups.search(statuses=["accepted"], limit=5) == [accepted]
        assert pickups.search(statuses=["ready"], limit=5) == []
        other = _uow(conn, tenant="t2").pickups
        assert other.get("WEB-1") is None and other.by_reservation("r1") is None
        assert other.search(statuses=None, limit=5) == []
