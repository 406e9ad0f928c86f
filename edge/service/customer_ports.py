"""The port of customers at the store: typed rows and the repository the use cases read and write.

Rows hold only ciphertext, blind-index digests and what is not personal (consents, timestamps,
the cached points balance); see `edge.adapters.tables_customers`.
"""

from __future__ import annotations

from typing import Any, Protocol, TypeVar

import msgspec

from edge.contracts.customers import Consents
from edge.contracts.pii import TenantKeys
from edge.service.repository_ports import ReservationRow

T = TypeVar("T")


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
    earned_in_window: int = 0  # HQ's figure at `balance_as_of` (every store's earnings over the tier window)


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
    def open_holds(self, customer_id: str) -> list[ReservationRow]: ...


class CustomerVault(Protocol):
    """Where the store keeps customers' keys (`edge.adapters.customer_keys`): never the database."""

    def tenant_keys(self, tenant_id: str) -> TenantKeys | None: ...
    def data_key(self, tenant_id: str, customer_id: str) -> bytes | None: ...
    def put_data_key(self, tenant_id: str, customer_id: str, key: bytes) -> None: ...
    def drop_data_keys(self, tenant_id: str, customer_ids: list[str]) -> int: ...


class ConsentAnswers(Protocol):
    marketing: bool
    e_receipts: bool


class NewCustomer(Protocol):
    """A sign-up at the lane or in the admin, as the route decodes it."""

    name: str
    email: str | None
    phone: str | None

    @property
    def consents(self) -> ConsentAnswers | None: ...


class CustomerChanges(Protocol):
    """A PATCH: UNSET leaves a field as it is; None clears email or phone."""

    name: Any
    email: Any
    phone: Any
    consents: Any


class HqUnavailable(Exception):
    """HQ did not answer (no link, no responder, or too slow): serve from the store's cache."""


class HqRefused(Exception):
    """HQ answered with an error code (`contracts.customers.RpcError.error`)."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


class HqLink(Protocol):
    """The store's request/reply channel to HQ (`edge.adapters.hq_channel`)."""

    @property
    def available(self) -> bool: ...

    async def request(self, op: str, body: msgspec.Struct | None, reply_type: type[T]) -> T: ...
