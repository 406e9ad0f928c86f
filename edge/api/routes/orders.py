"""Orders: checkout, tenders, voids, returns, receipts, search and CSV export."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

import msgspec
from litestar import Request, Response, get, post
from litestar.params import Parameter
from litestar.response import Stream

from edge.api.deps import actor, check_limit, decode_cursor, encode_cursor, services
from edge.api.guards import MANAGERS, STORE_STAFF, SUPERVISOR, requires
from edge.api.limits import (
    MAX_LINES,
    Barcode,
    Cents,
    CentsFilter,
    Note,
    PositiveCents,
    PriceCents,
    Quantity,
    SafeId,
    Secret,
    Sku,
    Timestamp,
    WeightGrams,
)
from edge.api.routes.loyalty import points_online
from edge.contracts.customers import CustomerId
from edge.contracts.spreadsheet import csv_writer
from edge.domain.errors import OverrideRequired, ValidationFailed
from edge.domain.orders import OrderStatus
from edge.service import orders, receipts, returns
from edge.service.orders import SUPERVISOR_ROLES
from edge.service.repository_ports import OrderFilter

ORDER_READ = (*STORE_STAFF, "hq_analyst")
Points = Annotated[int, msgspec.Meta(ge=1, le=10_000_000)]
ReceiptFormat = Literal["text", "html", "escpos"]
VOIDERS = (*STORE_STAFF,)  # a cashier may void with a supervisor's override PIN or token


class LineIn(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    sku: Sku | None = None
    barcode: Barcode | None = None
    product_id: SafeId | None = None
    quantity: Quantity = 1
    weight_grams: WeightGrams | None = None
    discount_cents: Cents = 0
    unit_price_cents: PriceCents | None = None  # only honoured for offline replays (the price charged then)


class TenderIn(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    method: Literal["cash", "card", "crypto", "points"]
    amount_cents: PositiveCents | None = None  # every method but points
    points: Points | None = None  # points only: worth points x the program's point value

    def __post_init__(self) -> None:
        if self.method == "points" and (self.points is None or self.amount_cents is not None):
            raise ValueError("a points tender is {\"method\": \"points\", \"points\": N}, without amount_cents")
        if self.method != "points" and (self.amount_cents is None or self.points is not None):
            raise ValueError(f"a {self.method} tender needs amount_cents (points are for method points)")


class OrderIn(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    lines: Annotated[list[LineIn], msgspec.Meta(max_length=MAX_LINES)]
    lane_id: SafeId | None = None
    tenders: Annotated[list[TenderIn], msgspec.Meta(max_length=MAX_LINES)] = []
    discount_cents: Cents = 0
    override_token: Secret | None = None  # a supervisor's access token, for a large discount
    override_pin: Secret | None = None  # or the supervisor's PIN, keyed in at the lane
    offline_created_at: Timestamp | None = None  # set by a lane replaying a sale it queued offline
    customer_id: CustomerId | None = None  # the customer attached at the lane (a known customer)


class TendersIn(msgspec.Struct, forbid_unknown_fields=True):
    tenders: Annotated[list[TenderIn], msgspec.Meta(max_length=MAX_LINES)]


class VoidIn(msgspec.Struct, forbid_unknown_fields=True):
    reason: Note
    override_token: Secret | None = None
    override_pin: Secret | None = None


class QuoteIn(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """The cart as checkout would take it; lane_id and tenders are accepted (and ignored) so a
    lane can send the body it will later post to `POST /orders`."""

    lines: Annotated[list[LineIn], msgspec.Meta(max_length=MAX_LINES)]
    lane_id: SafeId | None = None
    discount_cents: Cents = 0
    tenders: Annotated[list[TenderIn], msgspec.Meta(max_length=MAX_LINES)] = []


class CancelIn(msgspec.Struct, forbid_unknown_fields=True):
    reason: Note = "left at the lane before payment"


class SettleRefundIn(msgspec.Struct, forbid_unknown_fields=True):
    settle: Literal["original", "cash"]
    reason: Note = ""
    override_token: Secret | None = None
    override_pin: Secret | None = None


class ReturnLineIn(msgspec.Struct, forbid_unknown_fields=True):
    line_id: SafeId
    quantity: Quantity
    restock: bool = True


class ExchangeIn(msgspec.Struct, forbid_unknown_fields=True):
    lines: Annotated[list[LineIn], msgspec.Meta(max_length=MAX_LINES)]
    tenders: Annotated[list[TenderIn], msgspec.Meta(max_length=MAX_LINES)] = []


class ReturnIn(msgspec.Struct, forbid_unknown_fields=True):
    lines: Annotated[list[ReturnLineIn], msgspec.Meta(max_length=MAX_LINES)]
    reason: Note
    exchange: ExchangeIn | None = None
    override_token: Secret | None = None
    override_pin: Secret | None = None


def runtime(request: Request) -> Any:
    return services(request).extras["sales"]


async def override_by(request: Request, token: str | None, pin: str | None) -> str | None:
    """The supervisor who approved: from their own access token (checked, same tenant), or from
    their PIN keyed in at the lane (checked, with the login lockout)."""
    if token and pin:
        raise ValidationFailed("give a supervisor's override token or PIN, not both", code="override-ambiguous",
                               errors=[{"field": "override_pin", "message": "not with override_token"}])
    s, who = services(request), actor(request)
    if pin:
        return await s.auth.supervisor_by_pin(who, pin, SUPERVISOR_ROLES)
    if not token:
        return None
    try:
        claims = s.security.tokens.verify_access(token)
    except Exception:
        raise OverrideRequired("the override token is not valid", code="override-invalid") from None
    if claims.tenant_id != who.tenant_id or not SUPERVISOR_ROLES.intersection(claims.roles):
        raise OverrideRequired("the override must come from a supervisor of this store", code="override-invalid")
    return claims.username or claims.sub


def was_replayed(response: Response) -> bool:
    return any(k.lower() == "idempotent-replayed" for k in (response.headers or {}))


class _Tendered(msgspec.Struct):
    status: str = ""


class _Answered(msgspec.Struct):
    """The few fields of a stored order answer that decide what follows; decoding only these
    skips building the whole order as dicts on every checkout."""

    id: str = ""
    tenders: list[_Tendered] = []
    refunds: list[_Tendered] = []
    verdict: Any = None


_decode_answer = msgspec.json.Decoder(_Answered).decode


async def respond_with_order(request: Request, response: Response, status_code: int = 201) -> Response:
    """After the order's transaction committed: drive its card/crypto payments (outside any
    transaction), then answer with the order as it stands now. A replay answers the same way."""
    body = _decode_answer(response.content)
    order_id = body.id
    if not order_id or response.status_code >= 300:
        return response
    s, who = services(request), actor(request)
    replayed = was_replayed(response)
    if not replayed and any(t.status == "created" for t in body.tenders + body.refunds):
        await runtime(request).processor.drive_order(who, order_id)
    elif not replayed:
        return response
    current = await s.uow.read(who, lambda u: orders.get_order(u, order_id))
    if replayed and body.verdict:
        current["verdict"] = "duplicate"
    headers = {"Idempotent-Replayed": "true"} if replayed else {}
    return Response(content=current, status_code=response.status_code, headers=headers)


@post("/api/v1/orders", guards=[requires(*STORE_STAFF)], operation_id="createOrder")
async def create_order(request: Request, data: OrderIn) -> Response:
    s, who = services(request), actor(request)
    approved_by = await override_by(request, data.override_token, data.override_pin)
    offline = data.offline_created_at is not None
    online = await points_online(request, getattr(data, "customer_id", None), data.tenders)
    response = await s.idempotency.run(request, who, lambda u: orders.create_order(
        u, data, override_by=approved_by, offline=offline, policy=runtime(request).policy, points_online=online))
    return await respond_with_order(request, response)


@post("/api/v1/orders/{order_id:str}/tenders", guards=[requires(*STORE_STAFF)], operation_id="addTenders")
async def add_tenders(request: Request, order_id: str, data: TendersIn) -> Response:
    from edge.service import payments

    s, who = services(request), actor(request)
    online = True
    if any(t.method == "points" for t in data.tenders):
        customer_id = await s.uow.read(who, lambda u: getattr(u.orders.get(order_id), "customer_id", None))
        online = await points_online(request, customer_id, data.tenders)
    response = await s.idempotency.run(request, who, lambda u: payments.add_tenders(
        u, order_id, data.tenders, points_online=online), status_code=200)
    return await respond_with_order(request, response, 200)


@get("/api/v1/orders/{order_id:str}", guards=[requires(*ORDER_READ)], operation_id="getOrder")
async def get_order(request: Request, order_id: str) -> dict[str, Any]:
    return await services(request).uow.read(actor(request), lambda u: orders.get_order(u, order_id))


@post("/api/v1/orders/{order_id:str}/void", guards=[requires(*VOIDERS)], operation_id="voidOrder")
async def void_order(request: Request, order_id: str, data: VoidIn) -> Response:
    s, who = services(request), actor(request)
    approved_by = await override_by(request, data.override_token, data.override_pin)
    response = await s.idempotency.run(request, who, lambda u: returns.void_order(
        u, order_id, data.reason, override_by=approved_by), status_code=200)
    return await respond_with_order(request, response, 200)


@post("/api/v1/orders/quote", guards=[requires(*STORE_STAFF)], status_code=200, operation_id="quoteOrder")
async def quote_order(request: Request, data: QuoteIn) -> dict[str, Any]:
    """Price a cart with checkout's own code; writes nothing, holds no stock (so no Idempotency-Key)."""
    return await services(request).uow.read(actor(request), lambda u: orders.quote_order(
        u, data, policy=runtime(request).policy))


@post("/api/v1/orders/{order_id:str}/cancel", guards=[requires(*STORE_STAFF)], operation_id="cancelOrder")
async def cancel_order(request: Request, order_id: str, data: CancelIn) -> Response:
    """Leave an unpaid OPEN or PENDING order (the lane's Back button): its stock is released at
    once. A cashier may do this; an order with money taken is voided by a supervisor instead."""
    s, who = services(request), actor(request)
    reason = data.reason.strip() or CancelIn().reason
    return await s.idempotency.run(request, who, lambda u: orders.cancel_order(u, order_id, reason),
                                   status_code=200)


@post("/api/v1/orders/{order_id:str}/refunds/settle", guards=[requires(*STORE_STAFF)],
      operation_id="settleFailedRefunds")
async def settle_failed_refunds(request: Request, order_id: str, data: SettleRefundIn) -> Response:
    """A refund the processor refused: send it again (`original`), or pay it in cash from the
    drawer (`cash`, with a supervisor's override)."""
    from edge.service import payments

    s, who = services(request), actor(request)
    approved_by = await override_by(request, data.override_token, data.override_pin)
    response = await s.idempotency.run(request, who, lambda u: payments.settle_failed_refunds(
        u, order_id, data.settle, reason=data.reason, override_by=approved_by), status_code=200)
    return await respond_with_order(request, response, 200)


@get("/api/v1/orders/refunds-owed", guards=[requires(*STORE_STAFF)], operation_id="refundsOwed")
async def refunds_owed(request: Request, lane_id: Annotated[str | None, Parameter(max_length=32)] = None
                       ) -> dict[str, Any]:
    """Refunds the processor refused and nobody has settled yet, optionally for one lane."""
    return {"items": await services(request).uow.read(actor(request), lambda u: orders.refunds_owed(u, lane_id))}


@post("/api/v1/orders/{order_id:str}/returns", guards=[requires(*STORE_STAFF)], operation_id="createReturn")
async def create_return(request: Request, order_id: str, data: ReturnIn) -> Response:
    s, who = services(request), actor(request)
    approved_by = await override_by(request, data.override_token, data.override_pin)
    response = await s.idempotency.run(request, who, lambda u: returns.create_return(
        u, order_id, data, override_by=approved_by, policy=runtime(request).policy))
    if response.status_code == 201 and not was_replayed(response):
        body = msgspec.json.decode(response.content)
        if any(r["status"] == "created" for r in body["refunds"]):
            await runtime(request).processor.drive_order(who, order_id)
        exchange = body.get("exchange_order")
        if exchange and any(t["status"] == "created" for t in exchange["tenders"]):
            await runtime(request).processor.drive_order(who, exchange["id"])
    return response


@get("/api/v1/orders/{order_id:str}/returns", guards=[requires(*ORDER_READ)], operation_id="listReturns")
async def list_returns(request: Request, order_id: str) -> dict[str, Any]:
    s, who = services(request), actor(request)
    await s.uow.read(who, lambda u: orders.get_order(u, order_id))
    found = await s.uow.read(who, lambda u: u.orders.returns_of(order_id))
    return {"items": [{"id": ret.id, "tenant_id": who.tenant_id} | msgspec.structs.asdict(ret)
                      | {"lines": [msgspec.structs.asdict(line) for line in lines]} for ret, lines in found]}


def _render(receipt_data: receipts.ReceiptView, format: str, status_code: int = 200) -> Response:
    from edge.adapters.receipts_escpos import render_escpos

    if format == "html":
        content, media_type = receipts.render_html(receipt_data), "text/html"
    elif format == "escpos":
        content, media_type = render_escpos(receipt_data), "application/vnd.escpos"
    else:
        content, media_type = receipts.render_text(receipt_data), "text/plain"
    return Response(content=content, media_type=media_type, status_code=status_code)


@get("/api/v1/orders/{order_id:str}/receipt", guards=[requires(*ORDER_READ)], operation_id="orderReceipt",
     opt={"media_types": ("text/plain", "text/html", "application/vnd.escpos")})
async def receipt(request: Request, order_id: str, format: ReceiptFormat = "text", original: bool = False
                  ) -> Response:
    """The receipt as it would print now (read-only): marked COPY once a receipt was issued.
    `original=true` is the sale's own receipt on the lane's screen, never marked COPY."""
    s, who = services(request), actor(request)
    return _render(await s.uow.read(who, lambda u: receipts.receipt_view(u, order_id, original=original)), format)


@post("/api/v1/orders/{order_id:str}/receipt/prints", guards=[requires(*STORE_STAFF)], status_code=201,
      operation_id="issueReceipt")
async def issue_receipt(request: Request, order_id: str, format: ReceiptFormat = "text") -> Response:
    """Issue a receipt (a reprint for a customer): counted and audited; the first is the original,
    every later one says COPY."""
    s, who = services(request), actor(request)
    return _render(await s.uow.run(who, lambda u: receipts.record_print(u, order_id)), format, 201)


def _filters(status: str | None, from_: str | None, to: str | None, q: str | None, lane_id: str | None,
             cashier: str | None, tender: str | None, product_id: str | None, sku: str | None,
             min_total_cents: int | None, max_total_cents: int | None, number: str | None) -> OrderFilter:
    statuses = [x for x in (status or "").upper().split(",") if x] or None
    unknown = sorted(set(statuses or ()) - {st.value for st in OrderStatus})
    if unknown:  # a typo must not look like "no such orders"
        raise ValidationFailed(f"unknown order status {', '.join(unknown)}; use "
                               + ", ".join(st.value for st in OrderStatus),
                               errors=[{"field": "status", "message": "unknown status"}])
    return OrderFilter(status=statuses, first_day=from_, last_day=to, q=q, lane_id=lane_id, cashier=cashier,
                       tender=tender, product_id=product_id, sku=sku, min_total_cents=min_total_cents,
                       max_total_cents=max_total_cents, number=number)


DAY_PATTERN = r"^\d{4}-\d{2}-\d{2}$"
Day = Annotated[str | None, Parameter(pattern=DAY_PATTERN)]
# One Parameter naming both the query key and the pattern: nesting `Day` in another Annotated
# keeps only the inner Parameter, which silently dropped `from` (it was read as `from_`).
FromDay = Annotated[str | None, Parameter(query="from", pattern=DAY_PATTERN)]


@get("/api/v1/orders", guards=[requires(*ORDER_READ)], operation_id="searchOrders")
async def search_orders(
    request: Request, status: str | None = None, from_: FromDay = None,
    to: Day = None, q: str | None = None, lane_id: str | None = None, cashier: str | None = None,
    tender: Literal["cash", "card", "crypto", "points"] | None = None, product_id: str | None = None, sku: str | None = None,
    min_total_cents: CentsFilter = None, max_total_cents: CentsFilter = None, number: str | None = None,
    cursor: str | None = None, limit: int = 50,
) -> dict[str, Any]:
    s, who = services(request), actor(request)
    check_limit(limit)
    after = decode_cursor(cursor)
    f = _filters(status, from_, to, q, lane_id, cashier, tender, product_id, sku, min_total_cents, max_total_cents,
                 number)
    items, next_after = await s.uow.read(who, lambda u: orders.search_orders(u, f, after, limit))
    return {"items": items, "next_cursor": encode_cursor(next_after)}


EXPORT_COLUMNS = ("id", "number", "status", "business_day", "created_at", "lane_id", "cashier", "tenders",
                  "subtotal_cents", "discount_cents", "tax_cents", "total_cents", "refunded_cents", "lines")


@get("/api/v1/orders/export.csv", guards=[requires(*MANAGERS, SUPERVISOR, "hq_analyst")], operation_id="exportOrders",
     media_type="text/csv")
async def export_orders(
    request: Request, status: str | None = None, from_: FromDay = None,
    to: Day = None, q: str | None = None, lane_id: str | None = None, cashier: str | None = None,
    tender: Literal["cash", "card", "crypto", "points"] | None = None, product_id: str | None = None, sku: str | None = None,
    min_total_cents: CentsFilter = None, max_total_cents: CentsFilter = None, number: str | None = None,
) -> Stream:
    s, who = services(request), actor(request)
    f = _filters(status, from_, to, q, lane_id, cashier, tender, product_id, sku, min_total_cents, max_total_cents,
                 number)

    async def rows() -> AsyncIterator[str]:
        buffer = io.StringIO()
        writer = csv_writer(buffer)  # cashier names and numbers are user text: never a live formula
        writer.writerow(EXPORT_COLUMNS)
        after = None
        while True:  # page through the reader pool; the file streams while it is built
            page, after = await s.uow.read(who, lambda u, a=after: orders.search_orders(u, f, a, 500))
            for o in page:
                writer.writerow([o["id"], o["number"], o["status"], o["business_day"], o["created_at"], o["lane_id"],
                                 o["cashier"], "|".join(f"{t['method']}:{t['approved_cents']}" for t in o["tenders"]),
                                 o["subtotal_cents"], o["discount_cents"], o["tax_cents"], o["total_cents"],
                                 o["refunded_cents"], len(o["lines"])])
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
            if after is None:
                return

    return Stream(rows(), media_type="text/csv",
                  headers={"Content-Disposition": 'attachment; filename="orders.csv"'})


ROUTES = [create_order, add_tenders, export_orders, get_order, void_order, create_return, list_returns, receipt,
          issue_receipt, search_orders, quote_order, cancel_order, settle_failed_refunds, refunds_owed]
