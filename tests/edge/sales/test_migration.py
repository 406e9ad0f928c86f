"""The sales migration (0002) goes down and up again on a real file."""

from __future__ import annotations

import sqlite3


def test_sales_migration_downgrades_and_upgrades(tmp_path):
    from edge.adapters.migrations import current_revision, downgrade, head_revision, migrate

    db = tmp_path / "store.db"
    migrate(db)
    assert current_revision(db) == head_revision()
    downgrade(db, "0001")
    tables = {r[0] for r in sqlite3.connect(db).execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert "orders" not in tables and "stock_movements" not in tables and "products" in tables
    migrate(db)
    tables = {r[0] for r in sqlite3.connect(db).execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"orders", "payments", "stock_movements", "reservations", "till_sessions"} <= tables
