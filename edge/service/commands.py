"""The commands, as the use cases read them: sales, products and stock moves.

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
from typing import Any, Protocol

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
    customer_id: str | None  # the customer attached to the sale, if any


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
    customer_id: str | None = None


# -- products ----------------------------------------------------------------------------------
UNSET = msgspec.UNSET


class NewProduct(Protocol):
    """A product to create, as the create route decodes it (or a CSV row, or HQ's command)."""

    sku: str
    name: str
    price_cents: int
    tax_category: str
    active: bool
    sold_by_weight: bool
    low_stock_threshold: int

    @property
    def barcodes(self) -> Sequence[str]: ...

    @property
    def attributes(self) -> dict[str, Any]: ...  # JSON


class ProductChange(Protocol):
    """The fields a product patch sets; the others are `msgspec.UNSET`."""

    sku: str | msgspec.UnsetType
    name: str | msgspec.UnsetType
    price_cents: int | msgspec.UnsetType
    tax_category: str | msgspec.UnsetType
    active: bool | msgspec.UnsetType
    sold_by_weight: bool | msgspec.UnsetType
    low_stock_threshold: int | msgspec.UnsetType

    @property
    def barcodes(self) -> Sequence[str] | msgspec.UnsetType: ...

    @property
    def attributes(self) -> dict[str, Any] | msgspec.UnsetType: ...


class Product(msgspec.Struct, frozen=True, kw_only=True):
    """A `NewProduct` built inside the service (a CSV row, an HQ command, the demo catalog)."""

    sku: str
    name: str
    price_cents: int
    tax_category: str
    barcodes: list[str] = []
    active: bool = True
    attributes: dict[str, Any] = {}
    sold_by_weight: bool = False
    low_stock_threshold: int = 0


class Changes(msgspec.Struct, frozen=True, kw_only=True):
    """A `ProductChange` built inside the service."""

    sku: str | msgspec.UnsetType = UNSET
    name: str | msgspec.UnsetType = UNSET
    price_cents: int | msgspec.UnsetType = UNSET
    tax_category: str | msgspec.UnsetType = UNSET
    barcodes: list[str] | msgspec.UnsetType = UNSET
    active: bool | msgspec.UnsetType = UNSET
    attributes: dict[str, Any] | msgspec.UnsetType = UNSET
    sold_by_weight: bool | msgspec.UnsetType = UNSET
    low_stock_threshold: int | msgspec.UnsetType = UNSET


# -- tax categories ----------------------------------------------------------------------------
class TaxCategoryIn(Protocol):
    code: str
    name: str | None
    rate_bp: int
    inclusive: bool


class TaxCategoryFields(msgspec.Struct, frozen=True, kw_only=True):
    """A `TaxCategoryIn` built inside the service (HQ's `tax.set`, the demo's categories)."""

    code: str
    rate_bp: int
    name: str | None = None
    inclusive: bool = False


# -- stock moves -------------------------------------------------------------------------------
class ItemRef(Protocol):
    """A product named by id or SKU (an inventory route's item)."""

    sku: str | None
    product_id: str | None


class CountedItem(ItemRef, Protocol):
    counted: int
    expected_at_count: int | None  # what the lane showed when the shelf was counted


class MovedItem(ItemRef, Protocol):
    quantity: int


class Counted(msgspec.Struct, frozen=True, kw_only=True):
    """A `CountedItem` built inside the service (a stock CSV import's row)."""

    sku: str | None = None
    product_id: str | None = None
    counted: int
    expected_at_count: int | None = None


class Moved(msgspec.Struct, frozen=True, kw_only=True):
    """A `MovedItem` built inside the service (the demo's stock)."""

    sku: str | None = None
    product_id: str | None = None
    quantity: int


class HeldItem(ItemRef, Protocol):
    quantity: int


class NewHold(Protocol):
    """A BOPIS or manual hold on stock for a customer, for `ttl_s` seconds."""

    items: Sequence[HeldItem]
    kind: str  # bopis | hold
    ref: str | None
    customer: str | None
    ttl_s: int


class Held(msgspec.Struct, frozen=True, kw_only=True):
    """A `HeldItem` built inside the service (a pickup order's line)."""

    sku: str | None = None
    product_id: str | None = None
    quantity: int


class Hold(msgspec.Struct, frozen=True, kw_only=True):
    """A `NewHold` built inside the service (the hold an accepted pickup order takes)."""

    items: list[Held]
    kind: str = "bopis"
    ref: str | None = None
    customer: str | None = None
    ttl_s: int = 3600
