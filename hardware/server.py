"""``novapos-hardware serve``: the hub as its own service (a small Litestar app).

Run it as the systemd unit that holds the device groups (dialout, input, lp) and point the
edge at it with ``RemoteHardwareHub``. Lane events stream as Server-Sent Events: the
installed stack has no WebSocket server library, and SSE gives the same numbered replay
(``?since=N`` or the standard ``Last-Event-ID`` header) over plain HTTP.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import AsyncIterator
from typing import Any

import msgspec
from litestar import Litestar, Request, Response, get, post
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException
from litestar.handlers import BaseRouteHandler
from litestar.response import ServerSentEvent, ServerSentEventMessage

from hardware.errors import HardwareError, UnknownDevice, UnknownLane, UnsupportedAction
from hardware.models import ActionResult, PrintJob, TerminalResult
from hardware.service import HardwareHub

API = "/api/v1"
PROBLEM_BASE = "https://novapos.dev/problems/hardware/"


class PrintRequest(msgspec.Struct):
    ref: str
    data_b64: str


class MoneyRequest(msgspec.Struct):
    ref: str
    amount_cents: int
    currency: str


class RefRequest(msgspec.Struct):
    ref: str


class DisplayRequest(msgspec.Struct):
    line1: str
    line2: str = ""


class TestRequest(msgspec.Struct):
    action: str


class Items(msgspec.Struct):
    items: list[Any]


def _problem(status: int, kind: str, detail: str) -> Response[dict[str, Any]]:
    return Response({"type": PROBLEM_BASE + kind, "title": kind.replace("-", " "), "status": status,
                     "detail": detail}, status_code=status, media_type="application/problem+json")


def _on_error(_: Request, exc: Exception) -> Response[dict[str, Any]]:
    if isinstance(exc, UnknownLane):
        return _problem(404, "unknown-lane", str(exc))
    if isinstance(exc, UnknownDevice):
        return _problem(404, "unknown-device", str(exc))
    if isinstance(exc, UnsupportedAction):
        return _problem(422, "unsupported-action", str(exc))
    return _problem(500, "hardware-error", str(exc))


def create_app(hub: HardwareHub, token: str | None = None, manage_hub: bool = False) -> Litestar:
    """``token``: if set, every request needs ``Authorization: Bearer <token>``."""

    def require_token(connection: ASGIConnection, _: BaseRouteHandler) -> None:
        if token is None:
            return
        sent = connection.headers.get("authorization", "").removeprefix("Bearer ").encode()
        if not hmac.compare_digest(sent, token.encode()):
            raise NotAuthorizedException("hardware service token missing or wrong")

    @get("/healthz", guards=[])
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @get(f"{API}/devices")
    async def devices() -> Items:
        return Items(await hub.devices())

    @get(f"{API}/jobs")
    async def jobs(limit: int = 50) -> Items:
        return Items(await hub.jobs(limit))

    @post(f"{API}/lanes/{{lane_id:str}}/print", status_code=200)
    async def print_receipt(lane_id: str, data: PrintRequest) -> PrintJob | Response[dict[str, Any]]:
        try:
            payload = base64.b64decode(data.data_b64, validate=True)
        except (binascii.Error, ValueError):
            return _problem(400, "bad-receipt-data", "data_b64 must be base64 ESC/POS bytes")
        return await hub.print_receipt(lane_id, payload, data.ref)

    @post(f"{API}/jobs/{{job_id:str}}/reprint", status_code=200)
    async def reprint(job_id: str) -> PrintJob:
        return await hub.reprint(job_id)

    @post(f"{API}/lanes/{{lane_id:str}}/drawer/kick", status_code=200)
    async def kick(lane_id: str) -> ActionResult:
        return await hub.kick_drawer(lane_id)

    @get(f"{API}/lanes/{{lane_id:str}}/weight")
    async def weight(lane_id: str) -> Any:
        return await hub.read_weight(lane_id)

    @post(f"{API}/lanes/{{lane_id:str}}/terminal/sale", status_code=200)
    async def sale(lane_id: str, data: MoneyRequest) -> TerminalResult:
        return await hub.terminal_sale(lane_id, data.ref, data.amount_cents, data.currency)

    @post(f"{API}/lanes/{{lane_id:str}}/terminal/refund", status_code=200)
    async def refund(lane_id: str, data: MoneyRequest) -> TerminalResult:
        return await hub.terminal_refund(lane_id, data.ref, data.amount_cents, data.currency)

    @post(f"{API}/lanes/{{lane_id:str}}/terminal/void", status_code=200)
    async def void(lane_id: str, data: RefRequest) -> TerminalResult:
        return await hub.terminal_void(lane_id, data.ref)

    @post(f"{API}/lanes/{{lane_id:str}}/terminal/last", status_code=200)
    async def last(lane_id: str, data: RefRequest) -> TerminalResult:
        return await hub.terminal_last(lane_id, data.ref)

    @post(f"{API}/lanes/{{lane_id:str}}/display", status_code=200)
    async def display(lane_id: str, data: DisplayRequest) -> ActionResult:
        return await hub.show_on_display(lane_id, data.line1, data.line2)

    @post(f"{API}/devices/{{device_id:str}}/test", status_code=200)
    async def test_action(device_id: str, data: TestRequest) -> ActionResult:
        return await hub.test_action(device_id, data.action)

    @get(f"{API}/lanes/{{lane_id:str}}/events")
    async def events(request: Request, lane_id: str, since: int | None = None) -> ServerSentEvent:
        last_id = request.headers.get("last-event-id", "")
        since_seq = since if since is not None else int(last_id) if last_id.isdigit() else 0

        async def stream() -> AsyncIterator[ServerSentEventMessage]:
            async for event in hub.events(lane_id, since_seq):
                yield ServerSentEventMessage(data=msgspec.json.encode(event).decode(), event=event.type,
                                             id=event.seq)

        return ServerSentEvent(stream())

    async def startup() -> None:
        if manage_hub and not hub.started:
            await hub.start()

    async def shutdown() -> None:
        if manage_hub:
            await hub.stop()

    return Litestar(
        route_handlers=[healthz, devices, jobs, print_receipt, reprint, kick, weight, sale, refund, void, last,
                        display, test_action, events],
        guards=[require_token],
        exception_handlers={HardwareError: _on_error},
        on_startup=[startup],
        on_shutdown=[shutdown],
        openapi_config=None,
    )
