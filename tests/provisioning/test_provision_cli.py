"""A field technician commissions a box, checks it, backs it up and restores it."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

from tests.support import free_port

EXE = Path(sys.executable).parent / "novapos-provision"


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(EXE), *args], capture_output=True, text=True, timeout=120)


def test_init_writes_a_config_the_server_accepts(tmp_path):
    config = tmp_path / "novapos.toml"
    result = run("init", "--tenant", "acme", "--store", "store-017", "--timezone", "Europe/Berlin",
                 "--day-start-hour", "4", "--data-dir", str(tmp_path / "data"), "--out", str(config))
    assert result.returncode == 0, result.stderr
    check = subprocess.run([str(EXE.parent / "novapos-edge"), "check-config", "--config", str(config)],
                           capture_output=True, text=True, timeout=60)
    assert check.returncode == 0, check.stderr
    assert '"store_id": "store-017"' in check.stdout and '"day_start_hour": 4' in check.stdout
    again = run("init", "--tenant", "acme", "--store", "store-017", "--out", str(config))
    assert again.returncode == 2 and "--force" in again.stderr


def test_init_refuses_a_bad_value_and_writes_nothing(tmp_path):
    config = tmp_path / "novapos.toml"
    result = run("init", "--tenant", "acme", "--store", "bad store id!", "--out", str(config))
    assert result.returncode == 2 and "store.store_id" in result.stderr and "Traceback" not in result.stderr
    assert not config.exists()


def test_doctor_passes_on_a_healthy_box_and_flags_an_unreachable_nats(demo_dir):
    provisioned = demo_dir.parent / "box.toml"
    provisioned.write_text('[store]\ntenant_id = "demo"\nstore_id = "demo-001"\n')
    ok = run("doctor", "--config", str(provisioned), "--data-dir", str(demo_dir))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "integrity ok" in ok.stdout
    config = demo_dir.parent / "sync.toml"
    config.write_text(f'[store]\ntenant_id = "demo"\nstore_id = "demo-001"\n'
                      f'[sync]\nnats_url = "nats://127.0.0.1:{free_port()}"\n')
    bad = run("doctor", "--config", str(config), "--data-dir", str(demo_dir))
    assert bad.returncode == 1 and "FAIL  replication link" in bad.stdout


def test_doctor_finds_a_corrupt_database(tmp_path):
    (tmp_path / "store.db").write_bytes(b"this is not sqlite" * 100)
    result = run("doctor", "--data-dir", str(tmp_path))
    assert result.returncode == 1 and "FAIL  database" in result.stdout


def test_backup_and_restore_round_trip(demo_dir, tmp_path):
    archive = tmp_path / "box.tar.gz"
    assert run("backup", "--out", str(archive), "--data-dir", str(demo_dir)).returncode == 0
    with sqlite3.connect(demo_dir / "store.db") as conn:
        conn.execute("DELETE FROM product_barcodes")
        conn.execute("DELETE FROM products")
    restored = run("restore", str(archive), "--data-dir", str(demo_dir))
    assert restored.returncode == 0, restored.stderr
    with sqlite3.connect(demo_dir / "store.db") as conn:
        assert conn.execute("SELECT count(*) FROM products").fetchone()[0] == 200
    assert (demo_dir / "keys" / "keys.json").exists()
    assert (demo_dir / "store.db.before-restore").exists()


def test_restore_refuses_garbage_and_changes_nothing(demo_dir, tmp_path):
    junk = tmp_path / "junk.tar.gz"
    junk.write_bytes(b"nope")
    before = (demo_dir / "store.db").read_bytes()
    result = run("restore", str(junk), "--data-dir", str(demo_dir))
    assert result.returncode == 2 and "not a NovaPOS backup" in result.stderr
    assert (demo_dir / "store.db").read_bytes() == before


def test_install_units_into_a_root(tmp_path):
    result = run("install-units", "--root", str(tmp_path))
    assert result.returncode == 0, result.stderr
    unit = tmp_path / "etc/systemd/system/novapos-edge.service"
    assert "ProtectSystem=strict" in unit.read_text() and "WatchdogSec=" in unit.read_text()


def test_devices_lists_by_id_entries_including_unsupported(tmp_path):
    serial = tmp_path / "serial"
    serial.mkdir()
    (serial / "usb-METTLER_TOLEDO_Scale_123-if00-port0").touch()
    (serial / "usb-Mystery_Gadget_9-if00").touch()
    inputs = tmp_path / "input"
    inputs.mkdir()
    result = run("devices", "--serial-dir", str(serial), "--input-dir", str(inputs))
    assert result.returncode == 0
    assert "scale" in result.stdout and "unsupported" in result.stdout


def test_commissioning_ticket(demo_dir):
    result = run("ticket", "--data-dir", str(demo_dir))
    assert result.returncode == 0 and "NOVAPOS COMMISSIONING" in result.stdout and "signature" in result.stdout
