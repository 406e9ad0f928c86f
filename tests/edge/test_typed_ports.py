"""Types travel: the unit of work's repositories implement the ports the use cases are typed
against, and each route's request Struct is the command its use case reads."""

from __future__ import annotations

import inspect
import typing

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
                if cls.__module__ == repository_ports.__name__}
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
