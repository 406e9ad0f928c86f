"""Versioned payload Structs for the events the edge emits, and the commands HQ sends down.

Each Struct is tagged by its event type. Fields are only ever appended, with defaults.
"""

from __future__ import annotations

from typing import Any

import msgspec


class ProductChanged(msgspec.Struct, frozen=True, kw_only=True, tag="product.changed"):
    product_id: str
    sku: str
    name: str
    barcodes: list[str]
    price_cents: int
    tax_category: str
    active: bool
    version: int
    attributes: dict[str, Any] = {}


class StockMovement(msgspec.Struct, frozen=True, kw_only=True):
    """One stock fact. Its id makes replay idempotent: the cloud never applies an id twice."""

    id: str
    location_id: str
    product_id: str
    sku: str
    kind: str  # sale, return, adjustment, count, receive, transfer_out, transfer_in, ...
    delta: int
    ref: str | None = None
    at: str = ""


class StockMoved(msgspec.Struct, frozen=True, kw_only=True, tag="stock.moved"):
    movement: StockMovement
    on_hand_after: int | None = None


class Command(msgspec.Struct, frozen=True, kw_only=True):
    """A down command (HQ → store). `command_id` makes its application idempotent at the store."""

    command_id: str
    tenant_id: str
    store_id: str | None  # None: every store of the tenant
    type: str  # catalog.upsert, price.set, tax.set, policy.set, user.upsert, bopis.reserve, ...
    version: int
    issued_at: str
    payload: dict[str, Any]


_command_encoder = msgspec.json.Encoder()
_command_decoder = msgspec.json.Decoder(Command)


def encode_command(command: Command) -> bytes:
    return _command_encoder.encode(command)


def decode_command(data: bytes) -> Command:
    return _command_decoder.decode(data)
