"""Bounds on everything a client sends the store server, declared once and reused.

- Request Structs use the types below, so an out-of-range field is a 400 from the decoder
  naming the field, and the OpenAPI document shows the same bounds.
- `BoundedRequest` refuses JSON bodies nested deeper than `MAX_JSON_DEPTH` before decoding:
  every JSON body of every route passes through `Request.json()`.
- `reject_unsafe_paths` answers a path with a NUL or another control character with a 400
  before routing: static files would otherwise hand it to `os.stat`, which raises.

The caps come from the domain (`edge.domain.money`, `edge.domain.pricing`, `edge.domain.catalog`)
and from the wire bounds the cloud shares (`edge.contracts.bounds`).
"""

from __future__ import annotations

import re
from typing import Annotated, Any

import msgspec
from litestar import Request
from litestar.exceptions import ClientException
from litestar.params import Parameter
from litestar.types import ASGIApp, Receive, Scope, Send

from edge.api.problems import PROBLEM_JSON, problem_document
from edge.contracts.bounds import (
    MAX_ID_LENGTH,
    MAX_JSON_DEPTH,
    MAX_NAME_LENGTH,
    MAX_NOTE_LENGTH,
    Name,
    Note,
    SafeId,
    Sku,
    json_depth_exceeds,
    line,
    text,
)
from edge.domain.catalog import MAX_PRICE_CENTS
from edge.domain.money import MAX_AMOUNT_CENTS
from edge.domain.pricing import MAX_LINE_QUANTITY, MAX_WEIGHT_GRAMS

# Stock figures may exceed what one sale line can hold (a count of screws, a pallet received).
MAX_STOCK_UNITS = 100_000

# 2^63 - 1: SQLite's INTEGER. A query parameter such as a catalog version or a row id above it
# cannot name anything, and binding it raises OverflowError.
MAX_DB_INT = 2**63 - 1

Cents = Annotated[int, msgspec.Meta(ge=0, le=MAX_AMOUNT_CENTS)]
"""An amount in minor units: a float, a count, a discount."""
CentsFilter = Annotated[int | None, Parameter(ge=0, le=MAX_AMOUNT_CENTS)]
"""An optional amount in a query string (Litestar bounds query parameters with `Parameter`)."""
PositiveCents = Annotated[int, msgspec.Meta(ge=1, le=MAX_AMOUNT_CENTS)]
"""A tender, a pay-in or a pay-out: more than zero."""
PriceCents = Annotated[int, msgspec.Meta(ge=0, le=MAX_PRICE_CENTS)]
Quantity = Annotated[int, msgspec.Meta(ge=1, le=MAX_LINE_QUANTITY)]
"""Units on one line: a sale, a return, a hold, a receipt or a transfer."""
StockUnits = Annotated[int, msgspec.Meta(ge=0, le=MAX_STOCK_UNITS)]
"""A counted or expected quantity, or a low-stock threshold."""
StockDelta = Annotated[int, msgspec.Meta(ge=-MAX_STOCK_UNITS, le=MAX_STOCK_UNITS)]
StockMove = Annotated[int, msgspec.Meta(ge=1, le=MAX_STOCK_UNITS)]
"""Units received or transferred in one line: a pallet can hold more than a sale line."""
WeightGrams = Annotated[int, msgspec.Meta(ge=1, le=MAX_WEIGHT_GRAMS)]
Barcode = Annotated[str, msgspec.Meta(min_length=1, max_length=48, pattern=r"^[A-Za-z0-9-]+(?!\n)$")]
Code = line(32)
"""A short code: a tax category, a tender kind, a resolution."""
Timestamp = line(40)
"""An ISO 8601 time; its meaning is checked by the use case."""
Secret = line(4096)
"""A PIN or a token, never stored in clear."""
IdempotencyKey = line(128)
# A CSV upload: about 60,000 catalog rows. A bigger file is split, or comes from HQ.
MAX_CSV_BYTES = 8 * 1024 * 1024
MAX_LINES = 500  # lines, tenders or items in one request: a big basket or a pallet delivery
MAX_BATCH = 500  # offline sales replayed in one request
MAX_QUEUED = 1_000_000  # sales a lane may report as queued offline
MAX_HOLD_S = 14 * 24 * 3600  # a hold or BOPIS reservation: two weeks at most

__all__ = [
    "MAX_BATCH",
    "MAX_CSV_BYTES",
    "MAX_DB_INT",
    "MAX_HOLD_S",
    "MAX_ID_LENGTH",
    "MAX_JSON_DEPTH",
    "MAX_LINES",
    "MAX_NAME_LENGTH",
    "MAX_NOTE_LENGTH",
    "MAX_QUEUED",
    "Barcode",
    "BoundedRequest",
    "Cents",
    "CentsFilter",
    "Code",
    "IdempotencyKey",
    "Name",
    "Note",
    "PositiveCents",
    "PriceCents",
    "Quantity",
    "SafeId",
    "Secret",
    "Sku",
    "StockDelta",
    "StockMove",
    "StockUnits",
    "Timestamp",
    "WeightGrams",
    "line",
    "reject_unsafe_paths",
    "text",
]


class BoundedRequest(Request[Any, Any, Any]):
    """A request whose JSON body is checked for depth before any decoder recurses into it."""

    async def json(self) -> Any:
        if json_depth_exceeds(await self.body()):
            raise ClientException(f"the JSON body nests deeper than {MAX_JSON_DEPTH} levels",
                                  extra=[{"key": "body", "message": f"at most {MAX_JSON_DEPTH} levels of nesting"}])
        return await super().json()


# One compiled search instead of a Python-level loop over every character of every path.
_CONTROL_CHARACTER = re.compile(r"[\x00-\x1f\x7f]")


def _unsafe(path: str) -> bool:
    return _CONTROL_CHARACTER.search(path) is not None


def reject_unsafe_paths(app: ASGIApp) -> ASGIApp:
    """Wrap an ASGI app so that a path holding a control character gets a 400 problem, not a 500."""

    async def guarded(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and _unsafe(scope["path"]):
            body = msgspec.json.encode(problem_document(
                400, "unsafe-path", "the path holds a control character (such as %00); check the link",
                instance=scope["path"].encode("unicode_escape").decode(),
                request_id=scope.get("state", {}).get("request_id")))
            await send({"type": "http.response.start", "status": 400,
                        "headers": [(b"content-type", PROBLEM_JSON.encode()),
                                    (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})
            return
        await app(scope, receive, send)

    return guarded
