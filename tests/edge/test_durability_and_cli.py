"""A 2xx survives kill -9; migrations go both ways with a backup; the CLI fails cleanly."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.support import login

EXE = Path(sys.executable).parent / "novapos-edge"


@pytest.mark.slow
def test_changes_answered_2xx_survive_kill_9(edge_server):
    with httpx.Client(base_url=edge_server.url, timeout=10) as http:
        headers = login(http, "manager")
        created = []
        for n in range(20):
            response = http.post("/api/v1/products", headers=headers | {"Idempotency-Key": f"durable-{n:04d}"},
                                 json={"sku": f"DUR-{n}", "name": f"Durable {n}", "price_cents": 100 + n,
                                       "tax_category": "standard"})
            assert response.status_code == 201
            created.append(response.json()["id"])
    edge_server.kill9()  # no shutdown hook, no checkpoint: only what fsync'd survives
    edge_server.start()
    with httpx.Client(base_url=edge_server.url, timeout=10) as http:
        headers = login(http, "manager")
        for n, product_id in enumerate(created):
            product = http.get(f"/api/v1/products/{product_id}", headers=headers)
            assert product.status_code == 200 and product.json()["price_cents"] == 100 + n
        # The idempotency records survived with them: a retry after the crash replays.
        retry = http.post("/api/v1/products", headers=headers | {"Idempotency-Key": "durable-0000"},
                          json={"sku": "DUR-0", "name": "Durable 0", "price_cents": 100, "tax_category": "standard"})
        assert retry.status_code == 201 and retry.headers["idempotent-replayed"] == "true"


def test_wal_and_full_sync_are_in_force(client):
    db = client.app.state.services.db
    assert db.read_sync(lambda c: c.exec_driver_sql("PRAGMA journal_mode").scalar()) == "wal"
    assert db.read_sync(lambda c: c.exec_driver_sql("PRAGMA synchronous").scalar()) == 2  # FULL
    assert db.read_sync(lambda c: c.exec_driver_sql("PRAGMA foreign_keys").scalar()) == 1


def test_last_migration_goes_down_and_up_again_with_a_backup(demo_dir):
    from alembic.script import ScriptDirectory

    from edge.adapters.migrations import alembic_config, current_revision, downgrade, head_revision, migrate

    db = demo_dir / "store.db"
    head = head_revision()
    assert current_revision(db) == head
    previous = ScriptDirectory.from_config(alembic_config(db)).get_revision(head).down_revision
    downgrade(db, previous or "base")
    assert current_revision(db) == previous
    backup = migrate(db)
    assert current_revision(db) == head
    assert backup is not None and Path(backup).exists()
    # The backup is a usable SQLite database holding the data from before the upgrade.
    with sqlite3.connect(backup) as conn:
        assert conn.execute("SELECT count(*) FROM products").fetchone()[0] == 200


def _run(*args: str, env: dict[str, str] | None = None, stdin: str | None = None) -> subprocess.CompletedProcess:
    import os

    return subprocess.run([str(EXE), *args], capture_output=True, text=True, timeout=60, input=stdin,
                          env={**os.environ, **(env or {})})


@pytest.mark.parametrize("env,key", [
    ({"NOVAPOS_PORT": "eighty"}, "server.port"),
    ({"NOVAPOS_STORE_TIMEZONE": "Mars/Olympus"}, "store.timezone"),
    ({"NOVAPOS_NATS_URL": "http://example"}, "sync.nats_url"),
    ({"NOVAPOS_STORE_DAY_START_HOUR": "25"}, "store.day_start_hour"),
])
def test_a_bad_setting_stops_start_up_with_one_line_naming_the_key(tmp_path, env, key):
    result = _run("serve", "--data-dir", str(tmp_path), env=env)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and key in lines[0] and "example" in lines[0]
    assert "Traceback" not in result.stderr


def test_a_bad_toml_file_is_reported_cleanly(tmp_path):
    config = tmp_path / "novapos.toml"
    config.write_text("[server]\nport = 'x'\n")
    result = _run("check-config", "--config", str(config))
    assert result.returncode == 2 and "server.port" in result.stderr and "Traceback" not in result.stderr


def test_user_admin_commands(tmp_path):
    data = ["--data-dir", str(tmp_path)]
    store = {"NOVAPOS_STORE_TENANT_ID": "acme", "NOVAPOS_STORE_STORE_ID": "store-017"}
    added = _run("user", "add", "erin", "--role", "cashier", "--password-stdin", *data, stdin="long-enough-pw\n",
                 env=store)
    assert added.returncode == 0, added.stderr
    assert "created user erin" in added.stdout
    dup = _run("user", "add", "erin", "--role", "cashier", "--password-stdin", *data, stdin="long-enough-pw\n",
               env=store)
    assert dup.returncode == 2 and "already exists" in dup.stderr
    weak = _run("user", "passwd", "erin", "--password-stdin", *data, stdin="short\n", env=store)
    assert weak.returncode == 2 and "at least" in weak.stderr
    assert _run("user", "passwd", "erin", "--password-stdin", *data, stdin="another-long-pw\n",
                env=store).returncode == 0
    assert _run("user", "disable", "erin", *data, env=store).returncode == 0
    missing = _run("user", "disable", "nobody", *data, env=store)
    assert missing.returncode == 2 and "no such user" in missing.stderr
    with sqlite3.connect(tmp_path / "store.db") as conn:
        assert conn.execute("SELECT disabled FROM users WHERE username='erin'").fetchone()[0] == 1
