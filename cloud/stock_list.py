"""Stock levels across locations, filtered and paged for the HQ dashboard.

Pages are keyset pages on (sku, location): a cursor names the last row shown, so a page never
repeats or skips a row when levels change between two clicks (an offset would). The cursor is
opaque to the client (base64 of the two keys) and checked when it comes back.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

import msgspec
from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from cloud.schema import stock_levels

MAX_PAGE = 200


class BadCursor(ValueError):
    pass


@dataclass(frozen=True)
class StockFilter:
    q: str | None = None  # part of a SKU, any case
    store_id: str | None = None
    location_id: str | None = None
    low_only: bool = False


def encode_cursor(sku: str, location_id: str) -> str:
    return base64.urlsafe_b64encode(msgspec.json.encode([sku, location_id])).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[str, str]:
    try:
        sku, location = msgspec.json.decode(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, msgspec.DecodeError, ValueError, TypeError):
        raise BadCursor("the cursor is not one this server gave out; start from the first page") from None
    if not (isinstance(sku, str) and isinstance(location, str)):
        raise BadCursor("the cursor is not one this server gave out; start from the first page")
    return sku, location


async def page(
    conn: AsyncConnection, tenant: str, where: StockFilter, *, low_threshold: int, limit: int, cursor: str | None
) -> dict[str, Any]:
    """One page of levels plus how many match the filter in all (for "41-60 of 1,204")."""
    threshold = case((stock_levels.c.threshold > 0, stock_levels.c.threshold), else_=low_threshold)
    conds = [stock_levels.c.tenant_id == tenant]
    if where.q:
        conds.append(func.lower(stock_levels.c.sku).contains(where.q.lower(), autoescape=True))
    if where.store_id:
        conds.append(stock_levels.c.store_id == where.store_id)
    if where.location_id:
        conds.append(stock_levels.c.location_id == where.location_id)
    if where.low_only:
        conds.append(stock_levels.c.on_hand <= threshold)
    total = (await conn.execute(select(func.count()).select_from(stock_levels).where(*conds))).scalar_one()
    if cursor:
        sku, location = decode_cursor(cursor)
        conds.append(or_(stock_levels.c.sku > sku, and_(stock_levels.c.sku == sku, stock_levels.c.location_id > location)))
    rows = (await conn.execute(
        select(stock_levels, threshold.label("effective_threshold")).where(*conds)
        .order_by(stock_levels.c.sku, stock_levels.c.location_id).limit(limit + 1)
    )).all()
    items = [
        {"sku": r.sku, "location_id": r.location_id, "store_id": r.store_id, "on_hand": int(r.on_hand),
         "threshold": int(r.effective_threshold), "low": int(r.on_hand) <= int(r.effective_threshold),
         "updated_at": r.updated_at}
        for r in rows[:limit]
    ]
    more = len(rows) > limit
    return {"items": items, "total": int(total),
            "next_cursor": encode_cursor(items[-1]["sku"], items[-1]["location_id"]) if more else None}
