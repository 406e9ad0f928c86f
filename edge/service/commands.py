"""The sales commands, as the use cases read them.

A route decodes its request body into a msgspec Struct (in `edge/api/routes`, where the wire
bounds live) and hands that Struct to the use case unchanged: msgspec has already checked every
field's type, so a use case checks only business rules. The Protocols here say which fields a
use case reads; each route Struct has them (`tests/edge/sales/test_typed_commands.py` holds
them to it), and `Sale` is the one a use case builds itself (an exchange's new sale).

Collections and literals are read-only properties so that a Struct with a narrower field type
(`list[LineIn]`, `Literal["cash", ...]`) still satisfies them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import msgspec


class SaleLine(Protocol):
    """One line as the lane rang it up: a product by id, SKU or barcode."""

    sku: str | None
    barcode: str | None
    product_id: str | None
    quantity: int
    weight_grams: int | None
    discount_cents: int
    unit_price_cents: int | None  # only honoured for an offline replay (the price charged then)


class TenderIn(Protocol):
    @property
    def method(self) -> str: ...

    amount_cents: int


class Cart(Protocol):
    """What is priced: the lines and an order-level discount (a quote reads only this)."""

    @property
    def lines(self) -> Sequence[SaleLine]: ...

    discount_cents: int


class NewSale(Cart, Protocol):
    """Create an order: a cart, its tenders, and where and when it was rung up."""

    lane_id: str | None

    @property
    def tenders(self) -> Sequence[TenderIn]: ...

    offline_created_at: str | None  # set when a lane replays a sale it queued offline


class OfflineSale(NewSale, Protocol):
    idempotency_key: str  # minted by the lane when it rang the sale up


class ReturnedLine(Protocol):
    line_id: str
    quantity: int
    restock: bool  # False for an item that cannot go back on the shelf


class Exchange(Protocol):
    @property
    def lines(self) -> Sequence[SaleLine]: ...

    @property
    def tenders(self) -> Sequence[TenderIn]: ...


class ItemsReturned(Protocol):
    """Return lines of a completed order, optionally exchanged for a new sale."""

    @property
    def lines(self) -> Sequence[ReturnedLine]: ...

    reason: str

    @property
    def exchange(self) -> Exchange | None: ...


class Sale(msgspec.Struct, frozen=True, kw_only=True):
    """A `NewSale` built inside the service (the new sale of an exchange)."""

    lines: Sequence[SaleLine]
    tenders: Sequence[TenderIn] = ()
    lane_id: str | None = None
    discount_cents: int = 0
    offline_created_at: str | None = None
