"""Types travel: the unit of work's repositories implement the ports the use cases are typed
against, and each route's request Struct is the command its use case reads."""

from __future__ import annotations

import inspect
import typing

import msgspec
import pytest

from edge.adapters.uow import SqlUnitOfWork
from edge.api.routes import orders as order_routes
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
]


@pytest.mark.parametrize(("struct", "command"), COMMANDS,
                         ids=lambda c: getattr(c, "__name__", ""))
def test_the_request_struct_carries_every_field_its_use_case_reads(struct, command):
    assert _members(command) <= set(struct.__struct_fields__)
