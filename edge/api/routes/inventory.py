"""Stock: levels, the movement ledger, adjustments, counts, receiving, transfers, CSV, alerts."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Annotated, Any, Literal

import msgspec
from litestar import Request, Response, WebSocket, get, post, websocket
from litestar.exceptions import WebSocketDisconnect
from litestar.params import Parameter
from litestar.response import Stream

from edge.api.deps import actor, check_limit, decode_cursor, encode_cursor, services
from edge.api.guards import CATALOG_READ, MANAGERS, STORE_STAFF, requires
from edge.api.limits import MAX_LINES, Name, Note, SafeId, Sku, StockDelta, StockMove, StockUnits
from edge.domain.errors import ValidationFailed
from edge.service import inventory

STOCK_WRITE = (*MANAGERS, "supervisor")


class AdjustmentIn(msgspec.Struct, forbid_unknown_fields=True):
    delta: StockDelta
    reason: Note
    sku: Sku | None = None
    product_id: SafeId | None = None
    note: Note | None = None


class CountItem(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    counted: StockUnits
    sku: Sku | None = None
    product_id: SafeId | None = None
    expected_at_count: StockDelta | None = None


class CountIn(msgspec.Struct, forbid_unknown_fields=True):
    items: Annotated[list[CountItem], msgspec.Meta(max_length=MAX_LINES)]
    ref: Name | None = None


class QtyItem(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    quantity: StockMove
    sku: Sku | None = None
    product_id: SafeId | None = None


class ReceiveIn(msgspec.Struct, forbid_unknown_fields=True):
    ref: Name
    items: Annotated[list[QtyItem], msgspec.Meta(max_length=MAX_LINES)]


class TransferOutIn(msgspec.Struct, forbid_unknown_fields=True):
    to_location: SafeId
    items: Annotated[list[QtyItem], msgspec.Meta(max_length=MAX_LINES)]
    transfer_id: SafeId | None = None


class TransferInIn(msgspec.Struct, forbid_unknown_fields=True):
    transfer_id: SafeId
    from_location: SafeId
    items: Annotated[list[QtyItem], msgspec.Meta(max_length=MAX_LINES)]


@get("/api/v1/inventory", guards=[requires(*CATALOG_READ)], operation_id="listInventory")
async def list_inventory(request: Request, product_id: str | None = None,
                         sku: Annotated[str | None, Parameter(max_length=64)] = None,
                         q: Annotated[str | None, Parameter(max_length=100)] = None,
                         low_stock: bool = False, cursor: str | None = None, limit: int = 200) -> dict[str, Any]:
    """Stock per product, by SKU. `sku` matches part of a SKU and `q` part of a SKU or a name,
    ignoring case (`q=bagel` finds the bagels)."""
    s, who = services(request), actor(request)
    check_limit(limit, 1000)
    after = decode_cursor(cursor)
    rows = await s.uow.read(who, lambda u: inventory.inventory(u, product_id=product_id, sku=sku, low_only=low_stock,
                                                               after=after, limit=limit + 1, q=q))
    more = len(rows) > limit
    rows = rows[:limit]
    return {"items": rows, "next_cursor": encode_cursor(rows[-1].sku) if more and rows else None}


@get("/api/v1/inventory/low-stock", guards=[requires(*CATALOG_READ)], operation_id="lowStock")
async def low_stock(request: Request) -> dict[str, Any]:
    s, who = services(request), actor(request)
    rows = await s.uow.read(who, lambda u: inventory.inventory(u, product_id=None, sku=None, low_only=True,
                                                               after=None, limit=10_000))
    return {"items": rows}


@get("/api/v1/inventory/movements", guards=[requires(*CATALOG_READ)], operation_id="listMovements")
async def list_movements(
    request: Request, sku: str | None = None, product_id: str | None = None, kind: str | None = None,
    ref: str | None = None, from_: Annotated[str | None, Parameter(query="from")] = None, to: str | None = None,
    cursor: str | None = None, limit: int = 200, order: Literal["oldest", "newest"] = "oldest",
) -> dict[str, Any]:
    """The stock ledger, oldest first (replaying it adds up to on hand) or `order=newest` (a
    product's recent history)."""
    s, who = services(request), actor(request)
    check_limit(limit, 1000)
    if kind and kind not in inventory.MOVEMENT_KINDS:
        raise ValidationFailed("unknown movement kind", errors=[{"field": "kind", "message": ", ".join(
            inventory.MOVEMENT_KINDS)}])
    after = decode_cursor(cursor)
    rows = await s.uow.read(who, lambda u: inventory.movements(u, product_id=product_id, sku=sku, kind=kind, ref=ref,
                                                               start=from_, end=to, after=after, limit=limit + 1,
                                                               newest_first=order == "newest"))
    more = len(rows) > limit
    rows = rows[:limit]
    return {"items": rows, "next_cursor": encode_cursor(rows[-1].id) if more and rows else None}


@post("/api/v1/inventory/adjustments", guards=[requires(*STOCK_WRITE)], operation_id="adjustStock")
async def adjust(request: Request, data: AdjustmentIn) -> Response:
    s, who = services(request), actor(request)
    return await s.idempotency.run(request, who, lambda u: inventory.adjust(
        u, product_id=data.product_id, sku=data.sku, delta=data.delta, reason=data.reason, note=data.note))


@post("/api/v1/inventory/counts", guards=[requires(*STOCK_WRITE)], operation_id="countStock")
async def count(request: Request, data: CountIn) -> Response:
    s, who = services(request), actor(request)
    return await s.idempotency.run(request, who, lambda u: inventory.count(u, data.items, data.ref))


@post("/api/v1/inventory/receipts", guards=[requires(*STOCK_WRITE)], operation_id="receiveStock")
async def receive(request: Request, data: ReceiveIn) -> Response:
    s, who = services(request), actor(request)
    return await s.idempotency.run(request, who, lambda u: inventory.receive(u, data.ref, data.items))


@post("/api/v1/inventory/transfers/out", guards=[requires(*STOCK_WRITE)], operation_id="transferOut")
async def transfer_out(request: Request, data: TransferOutIn) -> Response:
    s, who = services(request), actor(request)
    return await s.idempotency.run(request, who, lambda u: inventory.transfer_out(
        u, data.to_location, data.items, data.transfer_id))


@post("/api/v1/inventory/transfers/in", guards=[requires(*STOCK_WRITE)], operation_id="transferIn")
async def transfer_in(request: Request, data: TransferInIn) -> Response:
    s, who = services(request), actor(request)
    return await s.idempotency.run(request, who, lambda u: inventory.transfer_in(
        u, data.transfer_id, data.from_location, data.items))


@post("/api/v1/inventory/import", guards=[requires(*MANAGERS)], operation_id="importStock", status_code=200,
      opt={"request_media_type": "text/csv"},
      request_max_body_size=20 * 1024 * 1024)
async def import_csv(request: Request) -> Response:
    s, who = services(request), actor(request)
    try:
        text = (await request.body()).decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationFailed("the CSV file must be UTF-8 encoded", code="csv-invalid") from None
    return await s.idempotency.run(request, who, lambda u: inventory.import_levels_csv(u, text), status_code=200)


@get("/api/v1/inventory/export.csv", guards=[requires(*CATALOG_READ)], operation_id="exportStock", media_type="text/csv")
async def export_csv(request: Request) -> Stream:
    s, who = services(request), actor(request)

    async def chunks():  # type: ignore[no-untyped-def]
        after, first = None, True
        while True:
            page = await s.uow.read(who, lambda u, a=after: inventory.inventory(u, product_id=None, sku=None,
                                                                                low_only=False, after=a, limit=1000))
            for chunk in inventory.export_levels_csv(page, header=first):
                yield chunk
            first = False
            if len(page) < 1000:
                return
            after = page[-1].sku

    return Stream(chunks(), media_type="text/csv",
                  headers={"Content-Disposition": 'attachment; filename="stock.csv"'})


@websocket("/api/v1/inventory/alerts/ws", guards=[requires(*MANAGERS, "supervisor")], operation_id="lowStockAlerts")
async def alerts_ws(socket: WebSocket, since: int | None = None) -> None:
    """Low-stock alerts as JSON messages. Browsers authenticate with the subprotocol
    `bearer.<token>`; the socket accepts with that protocol so the handshake completes."""
    proto = socket.headers.get("sec-websocket-protocol", "")
    chosen = next((p.strip() for p in proto.split(",") if p.strip().startswith("bearer.")), None)
    await socket.accept(subprotocols=chosen)
    hub = socket.app.state.services.extras["sales"].alerts
    queue = hub.subscribe()
    try:
        if since is not None:
            for alert in hub.backlog(since):
                await socket.send_json(alert)
        await socket.send_json({"type": "hello", "seq": hub.last_seq})
        while True:
            receive = asyncio.ensure_future(socket.receive_data("text"))
            alert = asyncio.ensure_future(queue.get())
            done, _ = await asyncio.wait({receive, alert}, return_when=asyncio.FIRST_COMPLETED)
            if alert in done:
                await socket.send_json(alert.result())
            else:
                alert.cancel()
            if receive in done:
                receive.result()  # raises on disconnect
            else:
                receive.cancel()
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        hub.unsubscribe(queue)
        with contextlib.suppress(Exception):
            await socket.close()


ROUTES = [list_inventory, low_stock, list_movements, adjust, count, receive, transfer_out, transfer_in, import_csv,
          export_csv, alerts_ws]

_ = STORE_STAFF
