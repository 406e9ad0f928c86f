"""What the loyalty use cases need from storage: the points ledger."""

from __future__ import annotations

from typing import Protocol

import msgspec


class LedgerRow(msgspec.Struct, frozen=True, kw_only=True):
    entry_id: str
    customer_id: str
    store_id: str
    order_id: str | None
    kind: str
    points: int
    reason: str = ""
    offline: bool = False
    actor: str | None = None
    at: str


class LoyaltyRepository(Protocol):
    def add(self, rows: list[LedgerRow]) -> list[LedgerRow]:
        """Insert entries whose id is new; returns those (a replay inserts nothing)."""
        ...

    def of_order(self, order_id: str) -> list[LedgerRow]: ...

    def entries(self, customer_id: str, *, since: str | None = None, or_unsent: bool = False,
                limit: int = 1_000) -> list[LedgerRow]:
        """Oldest first; `since`: only entries made after that time (`or_unsent`: and those whose
        event has not left the outbox yet, whenever they were made)."""
        ...

    def set_event(self, entry_id: str, event_id: str) -> None: ...

    def customers_with_credits_before(self, cutoff: str, limit: int) -> list[str]:
        """Customers holding a credit entry (earn, restore, adjust) made before `cutoff`."""
        ...

    def erase(self, customer_id: str, pseudonym: str) -> int: ...
