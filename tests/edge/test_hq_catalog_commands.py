"""HQ's catalog commands become typed product and tax commands at the store: a good one lands
as a product a lane can sell, an older or repeated one changes nothing, and one whose fields have
the wrong shape is refused with a clear reason and changes nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine

from edge.adapters import tables, tables_policy, tables_sales  # noqa: F401 - every table on the metadata
from edge.adapters.uow import SqlUnitOfWork
from edge.domain.errors import ValidationFailed
from edge.service import catalog
from edge.service.ports import Actor


@pytest.fixture
def engine(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'store.db'}")
    tables.metadata.create_all(engine)
    with engine.begin() as conn:
        hq = SqlUnitOfWork(conn, Actor.system("t1", "s1", "hq:c0"))
        assert catalog.apply_hq_catalog(hq, "tax.set", 1, {"code": "standard", "name": "Standard", "rate_bp": 825}) \
            == "applied"
    return engine


def _apply(engine, command_type, version, payload):
    with engine.begin() as conn:
        return catalog.apply_hq_catalog(SqlUnitOfWork(conn, Actor.system("t1", "s1", "hq:c1")), command_type,
                                        version, payload)


def _product(engine, sku):
    with engine.begin() as conn:
        return SqlUnitOfWork(conn, Actor.system("t1", "s1")).catalog.by_sku(sku)


def test_an_hq_upsert_then_a_newer_price_land_and_an_older_price_changes_nothing(engine):
    assert _apply(engine, "catalog.upsert", 3, {"sku": "TEA-1", "name": " Green tea ", "price_cents": 450,
                                                "tax_category": "standard", "barcodes": ["4006381333931"],
                                                "attributes": {"brand": "Leaf"}}) == "applied"
    tea = _product(engine, "TEA-1")
    assert (tea.name, tea.price_cents, tea.barcodes, tea.attributes) == (
        "Green tea", 450, ["4006381333931"], {"brand": "Leaf", "hq_version": 3})
    assert _apply(engine, "price.set", 4, {"sku": "TEA-1", "price_cents": 499}) == "applied"
    assert _apply(engine, "price.set", 2, {"sku": "TEA-1", "price_cents": 1}) == "stale"
    after = _product(engine, "TEA-1")
    assert (after.price_cents, after.attributes["hq_version"]) == (499, 4)
    assert _apply(engine, "price.set", 5, {"sku": "NOPE", "price_cents": 1}) == "unknown-sku"


@pytest.mark.parametrize(("command_type", "payload", "code"), [
    ("catalog.upsert", {"sku": "TEA-2", "name": "Tea", "price_cents": "4.50", "tax_category": "standard"},
     "invalid-product"),
    ("catalog.upsert", {"sku": "TEA-2", "price_cents": 450, "tax_category": "standard"}, "invalid-product"),
    ("catalog.upsert", {"sku": "TEA-2", "name": "Tea", "price_cents": -1, "tax_category": "standard"}, None),
    ("tax.set", {"code": "reduced", "rate_bp": "7%"}, "invalid-tax-category"),
])
def test_an_hq_command_with_fields_of_the_wrong_shape_is_refused_and_changes_nothing(engine, command_type, payload,
                                                                                     code):
    with pytest.raises(ValidationFailed) as refused:
        _apply(engine, command_type, 7, payload)
    if code:
        assert refused.value.code == code
    assert _product(engine, "TEA-2") is None
    with engine.begin() as conn:
        assert SqlUnitOfWork(conn, Actor.system("t1", "s1")).catalog.tax_category("reduced") is None
