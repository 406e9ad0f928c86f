"""`doctor` checks a field technician runs on a store box. Each check is small and independent,
returns a verdict with a sentence saying what to do, and never raises."""

from __future__ import annotations

import os
import shutil
import socket
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

MIN_FREE_BYTES = 1 << 30  # 1 GiB: a day of sales and a migration backup with room to spare
EARLIEST_SANE_CLOCK = 1767225600  # 2026-01-01: a box without an RTC boots in 1970


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    warning: bool = False  # not fatal: the box works, but someone should look

    @property
    def verdict(self) -> str:
        return "ok" if self.ok else ("warn" if self.warning else "FAIL")


def configuration(config_path: Path | None, store_configured: bool) -> Check:
    """A box is provisioned once `novapos-provision init` wrote its store's configuration."""
    if config_path is None or not config_path.is_file():
        where = config_path or "/etc/novapos/novapos.toml"
        return Check("configuration", False, f"{where} not found: this box is not provisioned; run "
                     "sudo novapos-provision init --tenant T --store S (or pass --config)")
    if not store_configured:
        return Check("configuration", False, f"{config_path} names no store ([store] tenant_id and store_id); "
                     "run sudo novapos-provision init --force --tenant T --store S")
    return Check("configuration", True, str(config_path))


def data_dir_writable(data_dir: Path) -> Check:
    # Only looks: a check that created the directory would make an unprovisioned box pass.
    if not data_dir.is_dir():
        return Check("data directory", False, f"{data_dir} does not exist; start novapos-edge once (systemd "
                     "creates it) or fix storage.data_dir")
    if not os.access(data_dir, os.W_OK | os.X_OK):
        return Check("data directory", False, f"{data_dir} is not writable; fix ownership (novapos user) or path")
    return Check("data directory", True, f"{data_dir} is writable")


def disk_space(data_dir: Path) -> Check:
    target = data_dir
    while not target.exists():  # the nearest existing parent: the file system the data will go to
        target = target.parent
    free = shutil.disk_usage(target).free
    if free < MIN_FREE_BYTES:
        return Check("disk space", False, f"only {free // (1 << 20)} MiB free; free space or move the data directory")
    return Check("disk space", True, f"{free // (1 << 30)} GiB free")


def clock(now: float | None = None) -> Check:
    current = time.time() if now is None else now
    if current < EARLIEST_SANE_CLOCK:
        return Check("clock", False, "the clock is before 2026: enable NTP (timedatectl set-ntp true) before selling")
    return Check("clock", True, time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(current)))


def database(db_path: Path, head_revision: str) -> Check:
    if not db_path.exists():
        return Check("database", True, "not created yet: the server creates it on first start", warning=True)
    try:
        conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=5)
        try:
            result = conn.execute("PRAGMA quick_check").fetchone()[0]
            mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
            revision = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        finally:
            conn.close()
    except sqlite3.Error as err:
        return Check("database", False, f"cannot read {db_path}: {err}; restore the latest backup")
    if result != "ok":
        return Check("database", False, f"integrity check failed ({result}); restore the latest backup")
    current = revision[0] if revision else None
    if current != head_revision:
        return Check("database", True, f"at revision {current}; the server will migrate to {head_revision} on start",
                     warning=True)
    return Check("database", True, f"integrity ok, journal {mode}, revision {current}")


def nats_link(url: str, timeout_s: float = 2.0) -> Check:
    if not url:
        return Check("replication link", True, "replication is off (no sync.nats_url)", warning=True)
    parsed = urlparse(url)
    host, port = parsed.hostname or "127.0.0.1", parsed.port or 4222
    try:
        with socket.create_connection((host, port), timeout=timeout_s) as sock:
            sock.settimeout(timeout_s)
            greeting = sock.recv(4096)
    except OSError as err:
        return Check("replication link", False, f"{host}:{port} unreachable ({err.strerror or err}); "
                     "check the leaf node service and the WAN")
    if not greeting.startswith(b"INFO "):
        return Check("replication link", False, f"{host}:{port} answered but is not a NATS server")
    return Check("replication link", True, f"NATS at {host}:{port} answers")


def mdns() -> Check:
    try:
        import zeroconf  # noqa: F401
    except ImportError:
        return Check("mDNS", False, "python zeroconf is missing; reinstall NovaPOS")
    return Check("mDNS", True, "zeroconf available; lanes can also use the configured fallback URL",
                 warning=os.environ.get("NOVAPOS_HARDWARE_MDNS", "true").lower() in ("false", "0"))
