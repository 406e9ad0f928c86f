"""HQ's policy at the store: applied once and in version order, followed by the next sale without a
restart, and shown to the manager with where it came from."""

from __future__ import annotations

import sqlite3
import time

import pytest

from edge.contracts.events import Command
from edge.domain.ids import now_iso, uuid7
from tests.edge.sales.conftest import post

SUPERVISOR_PIN = "2468"


def hq_policy(client, version: int, **fields) -> str:
    """Apply a `policy.set` the way the inbox does (one transaction with its inbox row)."""
    from edge.adapters.inbox import Inbox, InboxConfig
    from edge.adapters.replication import hq_handlers

    services = client.app.state.services
    cfg = services.settings.store
    inbox = Inbox(services.db, InboxConfig(nats_url="nats://unused", tenant_id=cfg.tenant_id, store_id=cfg.store_id),
                  hq_handlers(services.settings))
    command = Command(command_id=uuid7(), tenant_id=cfg.tenant_id, store_id=None, type="policy.set",
                      version=version, issued_at=now_iso(), payload=fields)
    return services.db.write_sync(lambda conn: inbox.apply(conn, command))


def in_force(client, headers, version: int, limit: float = 10.0) -> dict:
    """The store's answer once it follows `version` (the sales loop re-reads the database)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        shown = client.get("/api/v1/policy", headers=headers).json()
        if shown["version"] == version:
            return shown
        time.sleep(0.05)
    raise AssertionError(f"policy version {version} never came into force: {shown}")


def discounted_sale(client, cashier, sku, discount_cents, **override):
    return post(client, "/api/v1/orders", {"lane_id": "1", "lines": [{"sku": sku, "quantity": 1}],
                                           "discount_cents": discount_cents,
                                           "tenders": [{"method": "cash", "amount_cents": 10**7}], **override},
                cashier)


@pytest.fixture
def manager(as_user):
    return as_user("manager")


@pytest.fixture
def cashier(as_user):
    return as_user("cashier")


@pytest.fixture
def product(client, manager):
    items = client.get("/api/v1/products?limit=200", headers=manager).json()["items"]
    return next(p for p in items if not p["sold_by_weight"] and p["price_cents"] >= 1000)


def test_a_new_store_runs_on_the_built_in_defaults_and_says_so(client, manager, cashier):
    shown = client.get("/api/v1/policy", headers=manager).json()
    assert shown["source"] == "default" and shown["version"] == 0 and shown["command_id"] is None
    assert shown["effective"]["discount_supervisor_over_bps"] == 2000
    assert client.get("/api/v1/policy", headers=cashier).status_code == 403
    assert client.get("/api/v1/policy").status_code == 401


def test_hq_lowering_the_discount_threshold_makes_an_allowed_discount_need_a_supervisor(
        client, manager, cashier, product):
    fifteen_percent = product["price_cents"] * 15 // 100
    assert discounted_sale(client, cashier, product["sku"], fifteen_percent).status_code == 201

    assert hq_policy(client, 1, discount_supervisor_over_bps=1000) == "applied"
    shown = in_force(client, manager, 1)
    assert shown["source"] == "hq" and shown["effective"]["discount_supervisor_over_bps"] == 1000

    refused = discounted_sale(client, cashier, product["sku"], fifteen_percent)
    assert refused.status_code == 403 and refused.json()["type"].endswith("discount-override-required")
    approved = discounted_sale(client, cashier, product["sku"], fifteen_percent, override_pin=SUPERVISOR_PIN)
    assert approved.status_code == 201, approved.text


def test_an_older_policy_never_replaces_a_newer_one_and_each_change_is_audited(client, manager):
    assert hq_policy(client, 5, return_window_days=14) == "applied"
    assert hq_policy(client, 3, return_window_days=90) == "stale"
    assert hq_policy(client, 5, return_window_days=90) == "stale"
    shown = in_force(client, manager, 5)
    assert shown["policy"]["return_window_days"] == 14 and shown["effective"]["return_window_days"] == 14

    trail = client.get("/api/v1/audit?action=policy.set", headers=manager).json()["items"]
    assert len(trail) == 1
    assert trail[0]["before"]["source"] == "default" and trail[0]["after"]["version"] == 5
    assert trail[0]["actor"].startswith("hq:")


def test_an_invalid_policy_from_hq_changes_nothing(client, manager):
    from edge.domain.errors import ValidationFailed

    assert hq_policy(client, 2, reservation_ttl_s=600) == "applied"
    with pytest.raises(ValidationFailed):
        hq_policy(client, 3, restocking_fee_bps=500, restocking_fee_cents=100)
    with pytest.raises(ValidationFailed):
        hq_policy(client, 4, discount_supervisor_over_bps=20_000)
    shown = in_force(client, manager, 2)
    assert shown["policy"]["reservation_ttl_s"] == 600


def test_manager_mfa_follows_the_policy(client, manager):
    db = client.app.state.services.db
    hq_policy(client, 1, manager_mfa_required=False)
    assert db.read_sync(lambda c: c.exec_driver_sql("SELECT require_mfa FROM tenants").scalar()) == 0
    hq_policy(client, 2, manager_mfa_required=True)
    assert db.read_sync(lambda c: c.exec_driver_sql("SELECT require_mfa FROM tenants").scalar()) == 1


def test_returns_follow_the_window_and_fee_in_force(client, manager, cashier, product):
    sold = discounted_sale(client, cashier, product["sku"], 0).json()
    line = sold["lines"][0]["id"]
    hq_policy(client, 1, return_window_days=0, restocking_fee_bps=1000)
    in_force(client, manager, 1)
    late = post(client, f"/api/v1/orders/{sold['id']}/returns",
                {"lines": [{"line_id": line, "quantity": 1, "restock": True}], "reason": "changed mind"}, cashier)
    assert late.status_code == 403, late.text  # outside a zero-day window: a manager must approve


def test_the_policy_migration_goes_down_and_up_again(tmp_path):
    from edge.adapters.migrations import current_revision, downgrade, head_revision, migrate

    db = tmp_path / "store.db"
    migrate(db)
    assert current_revision(db) == head_revision()
    downgrade(db, "0002")
    tables = {r[0] for r in sqlite3.connect(db).execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert "policy_in_force" not in tables and "orders" in tables
    migrate(db)
    tables = {r[0] for r in sqlite3.connect(db).execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert "policy_in_force" in tables
