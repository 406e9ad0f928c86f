"""The store's customer key cache: `<data_dir>/keys.sqlite`, a file of its own.

It holds the tenant key (wrapped under the store's KEK) and customers' data keys (wrapped under
the tenant's wrap key), and nothing else. Keeping it out of `store.db` is the point: the main
database and its backups (`migrations.backup` copies `store.db` only) hold ciphertext that opens
only with a key from here, so deleting a customer's key here is what makes every copy of their
profile at this store unreadable, old backups included.

- `secure_delete` overwrites a deleted key's bytes in the file instead of leaving them on a free
  page; the rollback journal (not WAL, whose frames would keep old pages until a checkpoint) is
  deleted after each commit.
- `synchronous=FULL`: a key the store minted for a customer created offline is the only copy
  until HQ has it in escrow, so it must be on disk before the customer's row is.
- The file is created owner-only (0600), like the database.

The KEK comes from `[customers] kek_file` (default `<data_dir>/customer.kek`, created 0600 on
first start) or from the environment (`NOVAPOS_EDGE_KEK`), never from a database.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path

from edge.adapters.db import make_private
from edge.contracts import pii
from edge.domain.ids import now_iso

KEK_ENV = "NOVAPOS_EDGE_KEK"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tenant_keys (
    tenant_id TEXT PRIMARY KEY,
    wrapped TEXT NOT NULL,          -- the tenant key, wrapped under the store's KEK
    source TEXT NOT NULL,           -- "hq" (handed over on the store's link) or "local" (no HQ configured)
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS data_keys (
    tenant_id TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    wrapped TEXT NOT NULL,          -- the customer's data key, wrapped under the tenant's wrap key
    created_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, customer_id)
);
"""


def load_store_kek(kek_file: str, data_dir: Path) -> bytes:
    """The store's KEK: the configured file; else the environment; else `<data_dir>/customer.kek`,
    created on first start (a store that has never had one has nothing sealed under it yet)."""
    if kek_file:
        return pii.load_kek(file=kek_file)
    if os.environ.get(KEK_ENV):
        return pii.load_kek(env_var=KEK_ENV)
    path = data_dir / "customer.kek"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        try:
            return pii.write_new_kek(path)
        except FileExistsError:
            pass  # another process of this store created it first
    return pii.load_kek(file=path)


class CustomerKeyCache:
    """Tenant and data keys, wrapped, in their own SQLite file. Thread-safe (one lock): the
    writer thread and the event loop both read it, each call is a few microseconds of SQLite."""

    def __init__(self, path: Path, kek: bytes):
        self.path = path
        self._kek = kek
        self._lock = threading.Lock()
        self._tenants: dict[str, pii.TenantKeys] = {}
        path.parent.mkdir(parents=True, exist_ok=True)
        make_private(path)
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        with self._lock:
            self._conn.execute("PRAGMA journal_mode=DELETE")
            self._conn.execute("PRAGMA synchronous=FULL")
            self._conn.execute("PRAGMA secure_delete=ON")
            self._conn.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    # -- the tenant key ---------------------------------------------------------------------------
    def tenant_keys(self, tenant_id: str) -> pii.TenantKeys | None:
        """The tenant's working keys, or None while the store has no tenant key yet."""
        found = self._tenants.get(tenant_id)
        if found is not None:
            return found
        with self._lock:
            row = self._conn.execute("SELECT wrapped FROM tenant_keys WHERE tenant_id = ?", (tenant_id,)).fetchone()
        if row is None:
            return None
        keys = pii.TenantKeys(pii.unwrap_key(self._kek, row[0], f"tenant|{tenant_id}"))
        self._tenants[tenant_id] = keys
        return keys

    def tenant_key_source(self, tenant_id: str) -> str | None:
        with self._lock:
            row = self._conn.execute("SELECT source FROM tenant_keys WHERE tenant_id = ?", (tenant_id,)).fetchone()
        return row[0] if row else None

    def put_tenant_key(self, tenant_id: str, key: bytes, source: str) -> pii.TenantKeys:
        wrapped = pii.wrap_key(self._kek, key, f"tenant|{tenant_id}")
        with self._lock:
            self._conn.execute("INSERT OR REPLACE INTO tenant_keys (tenant_id, wrapped, source, created_at) "
                               "VALUES (?, ?, ?, ?)", (tenant_id, wrapped, source, now_iso()))
        self._tenants[tenant_id] = keys = pii.TenantKeys(key)
        return keys

    # -- data keys --------------------------------------------------------------------------------
    def data_key(self, tenant_id: str, customer_id: str) -> bytes | None:
        keys = self.tenant_keys(tenant_id)
        if keys is None:
            return None
        with self._lock:
            row = self._conn.execute("SELECT wrapped FROM data_keys WHERE tenant_id = ? AND customer_id = ?",
                                     (tenant_id, customer_id)).fetchone()
        return pii.unwrap_data_key(keys, tenant_id, customer_id, row[0]) if row else None

    def put_data_key(self, tenant_id: str, customer_id: str, key: bytes) -> None:
        keys = self.tenant_keys(tenant_id)
        if keys is None:
            raise pii.PiiError("no tenant key at this store yet")
        wrapped = pii.wrap_data_key(keys, tenant_id, customer_id, key)
        with self._lock:
            self._conn.execute("INSERT OR REPLACE INTO data_keys (tenant_id, customer_id, wrapped, created_at) "
                               "VALUES (?, ?, ?, ?)", (tenant_id, customer_id, wrapped, now_iso()))

    def drop_data_keys(self, tenant_id: str, customer_ids: list[str]) -> int:
        if not customer_ids:
            return 0
        with self._lock:
            gone = self._conn.executemany("DELETE FROM data_keys WHERE tenant_id = ? AND customer_id = ?",
                                          [(tenant_id, cid) for cid in customer_ids]).rowcount
        return int(gone or 0)

    def has_data_key(self, tenant_id: str, customer_id: str) -> bool:
        with self._lock:
            return self._conn.execute("SELECT 1 FROM data_keys WHERE tenant_id = ? AND customer_id = ?",
                                      (tenant_id, customer_id)).fetchone() is not None


# One cache per keys file in this process: the API, the inbox's command handlers and receipts
# of the same store share it (and its in-memory tenant keys).
_OPEN: dict[Path, CustomerKeyCache] = {}
_OPEN_LOCK = threading.Lock()


def keys_path(data_dir: Path) -> Path:
    return Path(data_dir) / "keys.sqlite"


def key_cache_for(data_dir: Path, kek_file: str = "") -> CustomerKeyCache:
    path = keys_path(data_dir).resolve()
    with _OPEN_LOCK:
        cache = _OPEN.get(path)
        if cache is None:
            cache = _OPEN[path] = CustomerKeyCache(path, load_store_kek(kek_file, Path(data_dir)))
        return cache


def key_cache_of_database(db_path: str | None) -> CustomerKeyCache | None:
    """The open key cache next to a store database, if this process opened one."""
    if not db_path:
        return None
    return _OPEN.get(keys_path(Path(db_path).parent).resolve())


def forget(data_dir: Path) -> None:
    """Close a store's key cache (a stopping server; tests that start several)."""
    with _OPEN_LOCK:
        cache = _OPEN.pop(keys_path(data_dir).resolve(), None)
    if cache is not None:
        cache.close()
