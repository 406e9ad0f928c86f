"""The port of customers at the store: typed rows and the repository the use cases read and write.

Rows hold only ciphertext, blind-index digests and what is not personal (consents, timestamps,
the cached points balance); see `edge.adapters.tables_customers`.
"""

from __future__ import annotations

from typing import Any, Protocol

import msgspec

from edge.contracts.customers import Consents


class CustomerRow(msgspec.Struct, kw_only=True):
    """A customer as cached at the store (its tenant is the repository's)."""

    customer_id: str
    profile: str  # pii.seal_profile under the customer's data key
    consents: Consents
    home_store_id: str
    created_at: str
    updated_at: str
    version: int
    last_seen_at: str
    escrowed: bool  # HQ holds this version's data key and blind indexes
    source: str  # "store" | "hq"
    balance_points: int = 0
    balance_as_of: str | None = None


class IndexEntry(msgspec.Struct, frozen=True):
    kind: str  # email | phone | card
    digest: str


class CustomerOrder(msgspec.Struct, frozen=True, kw_only=True):
    """One of the customer's orders at this store, for the 360 view."""

    order_id: str
    number: str
    status: str
    at: str
    total_cents: int
    refunded_cents: int
    currency: str


class CustomersRepository(Protocol):
    def get(self, customer_id: str) -> CustomerRow | None: ...
    def exists(self, customer_id: str) -> bool: ...
    def insert(self, row: CustomerRow, index: list[IndexEntry]) -> None: ...
    def update(self, customer_id: str, values: dict[str, Any]) -> None: ...
    def replace_index(self, customer_id: str, index: list[IndexEntry]) -> None: ...
    def find(self, entry: IndexEntry) -> str | None: ...
    def index_of(self, customer_id: str) -> list[IndexEntry]: ...
    def delete(self, customer_id: str) -> bool: ...
    def unescrowed(self, limit: int) -> list[CustomerRow]: ...
    def count(self) -> int: ...
    def eviction_candidates(self, *, keep: int, seen_before: str, limit: int) -> list[str]: ...
    def unlink_orders(self, customer_ids: list[str]) -> int: ...
    def orders_of(self, customer_id: str, limit: int) -> list[CustomerOrder]: ...
