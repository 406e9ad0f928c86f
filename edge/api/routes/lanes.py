"""A lane's own devices: the scale's weight, and the live event socket.

`/api/v1/lanes/{lane_id}/events` is a WebSocket of numbered hub events for that lane: scan,
weight, paper_low, paper_out, device_added, device_removed, device_status, terminal_prompt,
job_queued, job_printed, printer_failed (with `reprint: true`). Each message is
`{seq, lane_id, type, at, data}`. After a reconnect the lane passes the last `seq` it saw as
`since` (and the `epoch` from the first message) and gets what it missed, then live events.

A card terminal on the LAN (Adyen) raises its `terminal_prompt`s in the store server itself. They
go on the in-process hub's bus when there is one; otherwise on the store server's own lane bus
(`HardwareRuntime.local`): with the hub off that bus is the lane's numbered stream, and with a hub
in another process its events are sent alongside the hub's, live and without `seq`.
"""

from __future__ import annotations

import asyncio
import contextlib
from fractions import Fraction
from typing import Any

import msgspec
import structlog
from litestar import Request, Response, WebSocket, get, websocket
from litestar.connection import ASGIConnection
from litestar.exceptions import PermissionDeniedException, WebSocketDisconnect
from litestar.handlers.base import BaseRouteHandler

from edge.adapters.hardware import device_errors, require_hub, runtime_of
from edge.adapters.metrics import security_event
from edge.api.deps import actor, services
from edge.api.guards import STORE_STAFF, actor_of, requires
from edge.api.problems import problem

log = structlog.get_logger()

GRAMS_PER_UNIT = {"kg": Fraction(1), "g": Fraction(1, 1000), "lb": Fraction(45359237, 100_000_000),
                  "oz": Fraction(28349523125, 1_000_000_000_000)}  # per thousandth of the unit

# What the cashier should do when the scale cannot give a weight.
SCALE_PROBLEMS = {
    "motion": (409, "the scale is still settling: wait until the weight is steady, then weigh again"),
    "over_capacity": (409, "too heavy for the scale: weigh it in parts"),
    "under_zero": (409, "the scale reads below zero: clear the platter, zero the scale, weigh again"),
    "outside_zero_range": (409, "the scale is outside its zero range: clear the platter and zero it"),
    "bad_command": (503, "the scale did not understand the request: check its protocol setting"),
    "no_reply": (503, "the scale did not answer: check its cable and power"),
}


def same_lane(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """A lane-bound token (cashier PIN login) reaches only its own lane's devices."""
    bound = actor_of(connection).lane_id
    if bound is not None and str(bound) != str(connection.path_params.get("lane_id")):
        security_event("cross_lane")
        raise PermissionDeniedException(f"this sign-in is for lane {bound}")


def grams(weight_milli: int, unit: str) -> int:
    per_milli = GRAMS_PER_UNIT.get(unit.lower(), Fraction(1))
    return int(weight_milli * per_milli + Fraction(1, 2))  # half up, like money


@get("/api/v1/lanes/{lane_id:str}/weight", guards=[requires(*STORE_STAFF), same_lane], operation_id="laneWeight",
     opt={"problems": (409, 503)})
async def lane_weight(request: Request, lane_id: str) -> Response:
    """A stable weight fills a weighed item (`weight_grams` goes on the order line)."""
    with device_errors(not_found="no-scale-on-lane"):
        reading = await require_hub(services(request)).read_weight(lane_id)
    if reading.status == "stable" and reading.weight_milli is not None:
        return Response(content={"lane_id": lane_id, "status": "stable",
                                 "weight_grams": grams(reading.weight_milli, reading.unit),
                                 "weight_milli": reading.weight_milli, "unit": reading.unit, "net": reading.net})
    status, detail = SCALE_PROBLEMS.get(reading.status, (503, f"the scale reports {reading.status}"))
    return problem(status, f"scale-{reading.status.replace('_', '-')}", detail, request=request,
                   scale_status=reading.status)


@websocket("/api/v1/lanes/{lane_id:str}/events", guards=[requires(*STORE_STAFF), same_lane],
           operation_id="laneEvents")
async def lane_events(socket: WebSocket, lane_id: str, since: int = 0, epoch: str | None = None) -> None:
    """Browsers authenticate with the subprotocol `bearer.<token>`."""
    s = services(socket)  # type: ignore[arg-type]
    proto = socket.headers.get("sec-websocket-protocol", "")
    await socket.accept(subprotocols=next((p.strip() for p in proto.split(",") if p.strip().startswith("bearer.")),
                                          None))
    lanes = await s.uow.read(actor(socket), lambda u: u.stores.lanes(s.settings.store.store_id))  # type: ignore[arg-type]
    if lane_id not in {lane.id for lane in lanes}:
        await socket.close(code=4404, reason=f"no lane {lane_id}")
        return
    hardware = runtime_of(s)
    if epoch is not None and epoch != hardware.epoch:
        since = 0  # numbers from an earlier hub: everything in the buffer is new to this lane
    await socket.send_json({"type": "hello", "lane_id": lane_id, "epoch": hardware.epoch, "since": since,
                            "mode": hardware.mode})
    if hardware.hub is None:  # the store server's own lane events are the lane's whole stream
        relay = asyncio.ensure_future(_relay_local(socket, hardware.local, lane_id, since))
    else:
        relay = asyncio.ensure_future(_relay(socket, hardware.hub, lane_id, since))
    # With a hub in another process, the store server's own events ride alongside, unnumbered.
    local = asyncio.ensure_future(_relay_local(socket, hardware.local, lane_id, None)) \
        if hardware.hub is not None and getattr(hardware.hub, "bus", None) is None else None
    listen = asyncio.ensure_future(_drain(socket))
    try:
        await asyncio.wait({task for task in (relay, local, listen) if task}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (relay, local, listen):
            if task is not None:
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task
        with contextlib.suppress(Exception):
            await socket.close()


async def _relay(socket: WebSocket, hub: Any, lane_id: str, since: int) -> None:
    # Ends when the hub cuts off a stalled listener: closing makes the lane reconnect with its
    # last seq and replay the rest from the hub's buffer.
    with device_errors():
        async for event in hub.events(lane_id, since):
            await socket.send_json(msgspec.to_builtins(event))


async def _relay_local(socket: WebSocket, bus: Any, lane_id: str, since: int | None) -> None:
    """The store server's own lane events. With `since` None they are live only and sent without
    `seq`, so they never disturb the numbering of the hub's events the lane resumes from."""
    async for event in bus.subscribe(lane_id, bus.last_seq(lane_id) if since is None else since):
        message = msgspec.to_builtins(event)
        if since is None:
            message.pop("seq", None)
        await socket.send_json(message)


async def _drain(socket: WebSocket) -> None:
    """Read (and ignore) what the lane sends, to notice when it goes away."""
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        while True:
            await socket.receive_data("text")


ROUTES = [lane_weight, lane_events]
