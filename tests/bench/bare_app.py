"""The bare baseline: a Litestar app with no database, no auth and no middleware.

GET /bare answers a product-shaped JSON document; POST /bare decodes a checkout-shaped body.
Run: python tests/bench/bare_app.py PORT
"""

from __future__ import annotations

import sys
from typing import Any

import msgspec
import uvicorn
from litestar import Litestar, get, post

PRODUCT = {"id": "01a2", "sku": "BAK-0005", "name": "Sourdough loaf", "barcodes": ["2000000000053"],
           "price_cents": 1102, "tax_category": "food", "active": True, "version": 5}


class Line(msgspec.Struct):
    quantity: int
    sku: str | None = None
    barcode: str | None = None
    product_id: str | None = None


class Tender(msgspec.Struct):
    method: str
    amount_cents: int


class Order(msgspec.Struct):
    lane_id: str
    lines: list[Line]
    tenders: list[Tender]


@get("/bare")
async def bare_get(barcode: str | None = None) -> dict[str, Any]:
    return {"items": [PRODUCT], "next_cursor": None}


@post("/bare")
async def bare_post(data: Order) -> dict[str, Any]:
    return {"id": "x", "lines": len(data.lines), "status": "COMPLETED"}


app = Litestar([bare_get, bare_post], logging_config=None)

if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_config=None, access_log=False)
