"""HQ's customer keys: the KEK, each tenant's key, and the escrow of customers' data keys.

- The KEK comes from `customers_kek_file`, else `NOVAPOS_HQ_KEK` (base64url, 32 bytes), else, for
  dev, tests and the demo, a key file generated once (0600) in HQ's keys directory. It is held in
  memory only; the database holds nothing it could open on its own.
- A tenant key is minted by HQ the first time it is needed and stored wrapped under the KEK; the
  tenant's stores receive it over the rpc channel (`keys.tenant`), never through an event.
- A customer's data key is minted at the store and escrowed here (`keys.escrow`), wrapped under
  the tenant's wrap key. Erasure deletes that row: with the stores' copies gone too, no copy of
  the customer's profile opens any more.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import structlog
from sqlalchemy import Connection, delete, select

from cloud.projections import dialect_insert
from cloud.schema_customers import hq_customer_keys, hq_tenant_keys
from cloud.settings import CloudSettings
from edge.contracts import pii

log = structlog.get_logger()

KEK_ENV = "NOVAPOS_HQ_KEK"
KEK_FILENAME = "customer.kek"


def load_hq_kek(settings: CloudSettings) -> bytes:
    if settings.customers_kek_file:
        return pii.load_kek(file=settings.customers_kek_file)
    if os.environ.get(KEK_ENV):
        return pii.load_kek(env_var=KEK_ENV)
    path = settings.resolved_keys_dir() / KEK_FILENAME
    if path.exists():
        return pii.load_kek(file=path)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    log.warning("customers.kek_generated", path=str(path),
                detail="a generated key file: set customers_kek_file or NOVAPOS_HQ_KEK in production")
    return pii.write_new_kek(path)


def _tenant_aad(tenant_id: str) -> str:
    return f"tenant|{tenant_id}"


class CustomerKeys:
    """Tenant keys (unwrapped and derived once per process) and data-key escrow. Sync functions
    take the caller's connection, so they join its transaction (ingest, erase, rpc)."""

    def __init__(self, kek: bytes | Callable[[], bytes]):
        self._kek_source = kek
        self._kek_bytes: bytes | None = kek if isinstance(kek, bytes) else None
        self._tenants: dict[str, tuple[bytes, pii.TenantKeys]] = {}

    @classmethod
    def from_settings(cls, settings: CloudSettings) -> CustomerKeys:
        """Loaded on first use: a hub that never sees a customer never needs (or generates) a KEK."""
        return cls(lambda: load_hq_kek(settings))

    @classmethod
    def from_file(cls, path: str | Path) -> CustomerKeys:
        return cls(pii.load_kek(file=path))

    @property
    def _kek(self) -> bytes:
        if self._kek_bytes is None:
            assert callable(self._kek_source)
            self._kek_bytes = self._kek_source()
        return self._kek_bytes

    def tenant_key(self, conn: Connection, tenant_id: str, now: str) -> bytes:
        """The tenant's key, minted and stored (wrapped) the first time."""
        return self._tenant(conn, tenant_id, now)[0]

    def tenant_keys(self, conn: Connection, tenant_id: str, now: str) -> pii.TenantKeys:
        return self._tenant(conn, tenant_id, now)[1]

    def _tenant(self, conn: Connection, tenant_id: str, now: str) -> tuple[bytes, pii.TenantKeys]:
        cached = self._tenants.get(tenant_id)
        if cached is not None:
            return cached
        row = conn.execute(select(hq_tenant_keys.c.wrapped_key).where(hq_tenant_keys.c.tenant_id == tenant_id)).first()
        minted = row is None
        if minted:
            key = pii.new_key()
            stmt = dialect_insert(conn, hq_tenant_keys).on_conflict_do_nothing(index_elements=["tenant_id"])
            conn.execute(stmt.values(tenant_id=tenant_id, created_at=now,
                                     wrapped_key=pii.wrap_key(self._kek, key, _tenant_aad(tenant_id))))
            row = conn.execute(select(hq_tenant_keys.c.wrapped_key)
                               .where(hq_tenant_keys.c.tenant_id == tenant_id)).one()  # a racing minter won
            log.info("customers.tenant_key_minted", tenant_id=tenant_id)
        key = pii.unwrap_key(self._kek, row.wrapped_key, _tenant_aad(tenant_id))
        pair = (key, pii.TenantKeys(key))
        if not minted:  # a key minted in this transaction is cached only once a later one reads it back
            self._tenants[tenant_id] = pair
        return pair

    def escrow(self, conn: Connection, tenant_id: str, customer_id: str, data_key: bytes, *, store_id: str,
               now: str) -> None:
        """Keep a store-minted data key. The first escrow wins: a customer has one data key, and a
        second store offering another for the same id is refused (its ciphertexts would not open)."""
        wrapped = pii.wrap_data_key(self.tenant_keys(conn, tenant_id, now), tenant_id, customer_id, data_key)
        stmt = dialect_insert(conn, hq_customer_keys).on_conflict_do_nothing(index_elements=["tenant_id",
                                                                                           "customer_id"])
        conn.execute(stmt.values(tenant_id=tenant_id, customer_id=customer_id, wrapped_key=wrapped,
                                 escrowed_by=store_id, escrowed_at=now))

    def data_keys(self, conn: Connection, tenant_id: str, customer_ids: list[str], now: str) -> dict[str, bytes]:
        if not customer_ids:
            return {}
        keys = self.tenant_keys(conn, tenant_id, now)
        rows = conn.execute(select(hq_customer_keys.c.customer_id, hq_customer_keys.c.wrapped_key).where(
            hq_customer_keys.c.tenant_id == tenant_id, hq_customer_keys.c.customer_id.in_(customer_ids)))
        return {r.customer_id: pii.unwrap_data_key(keys, tenant_id, r.customer_id, r.wrapped_key) for r in rows}

    def data_key(self, conn: Connection, tenant_id: str, customer_id: str, now: str) -> bytes | None:
        return self.data_keys(conn, tenant_id, [customer_id], now).get(customer_id)

    @staticmethod
    def destroy(conn: Connection, tenant_id: str, customer_id: str) -> bool:
        """Crypto-shred HQ's copy of the customer's data key."""
        return bool(conn.execute(delete(hq_customer_keys).where(hq_customer_keys.c.tenant_id == tenant_id,
                                                                hq_customer_keys.c.customer_id == customer_id))
                    .rowcount)
