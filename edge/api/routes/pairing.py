"""Lane pairing: a manager issues a one-time code (and its QR) for a lane, a device claims it once
and holds a device credential bound to that lane from then on.

- `POST /api/v1/lanes/{lane_id}/pairing-codes` (managers, technicians): a code, its expiry, a
  pairing link and the link as a QR code.
- `POST /api/v1/lanes/pair` (public): `{code, label}` → the device credential, shown once.
- `GET /api/v1/lanes/device` (public): whether pairing is required here and, given the header
  `X-Device-Token`, which lane this device is paired with (so a lane notices an unpairing).
- `GET /api/v1/lanes/devices`, `POST /api/v1/lanes/devices/{device_id}/unpair` (managers).
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import msgspec
import structlog
from litestar import Request, get, post
from litestar.status_codes import HTTP_200_OK

from edge.adapters.metrics import security_event
from edge.adapters.qr_code import qr_data_url
from edge.api.deps import actor, services
from edge.api.guards import DEVICE_ADMIN, requires
from edge.contracts.bounds import line
from edge.domain.errors import DomainError
from edge.service import lane_pairing
from edge.service.ports import Actor

log = structlog.get_logger()
PUBLIC = {"public": True}
DEVICE_HEADER = "x-device-token"


class PairingCodeIn(msgspec.Struct, forbid_unknown_fields=True):
    ttl_s: Annotated[int, msgspec.Meta(ge=60, le=86_400)] | None = None  # default: lane.pairing_code_ttl_s


class PairIn(msgspec.Struct, forbid_unknown_fields=True):
    code: Annotated[str, msgspec.Meta(min_length=4, max_length=512)]  # the code, or the scanned pairing link
    label: line(80, min_length=0) = ""  # e.g. "Tablet by the door"


def _system(request: Request) -> Actor:
    store = services(request).settings.store
    return Actor.system(store.tenant_id, store.store_id)


def pairing_required(request: Request) -> bool:
    settings = services(request).settings
    return settings.lane.pairing_enforced(settings.demo)


async def device_for_sign_in(request: Request, token: str | None, lane_id: str) -> str | None:
    """The paired device signing a cashier in at `lane_id` (its id), or None for an unpaired
    device where pairing is optional; refuses a device paired with another lane, an unpaired
    device where pairing is required, and a revoked pairing."""
    s = services(request)
    device = None
    try:
        if token:
            device = await s.uow.read(_system(request), lambda u: lane_pairing.paired_device(u, token))
        lane_pairing.check_lane(device, lane_id, pairing_required=pairing_required(request))
    except DomainError:
        security_event("lane_device_refused")
        log.warning("security.lane_device_refused", lane_id=lane_id, device_id=device and device.id)
        raise
    return device.id if device else None


@post("/api/v1/lanes/{lane_id:str}/pairing-codes", guards=[requires(*DEVICE_ADMIN)], operation_id="issuePairingCode")
async def issue_pairing_code(request: Request, lane_id: str, data: PairingCodeIn | None = None) -> dict[str, Any]:
    """A one-time code pairing a device with this lane; shown once, stored hashed."""
    s = services(request)
    ttl_s = (data.ttl_s if data else None) or s.settings.lane.pairing_code_ttl_s
    code = lane_pairing.new_code()
    issued = await s.uow.run(actor(request), lambda u: lane_pairing.issue_code(u, lane_id, ttl_s=ttl_s, code=code))
    link = f"{str(request.base_url).rstrip('/')}/?pair={code}"
    return {**msgspec.structs.asdict(issued), "pair_url": link, "qr": await asyncio.to_thread(qr_data_url, link)}


@post("/api/v1/lanes/pair", opt=PUBLIC, operation_id="pairDevice", status_code=201)
async def pair_device(request: Request, data: PairIn) -> lane_pairing.PairedDevice:
    try:
        return await services(request).uow.run(
            _system(request), lambda u: lane_pairing.claim(u, data.code, label=data.label.strip()))
    except DomainError:
        security_event("pairing_failed")
        raise


@get("/api/v1/lanes/device", opt=PUBLIC, operation_id="laneDevice")
async def lane_device(request: Request) -> dict[str, Any]:
    token = request.headers.get(DEVICE_HEADER)
    answer: dict[str, Any] = {"pairing_required": pairing_required(request), "paired": False, "lane_id": None}
    if token and len(token) <= 512:
        device = await services(request).uow.read(
            _system(request), lambda u: u.lanes.device_by_token_hash(lane_pairing.digest(token)))
        if device and device.revoked_at is None:
            answer.update(paired=True, lane_id=device.lane_id, label=device.label)
    return answer


@get("/api/v1/lanes/devices", guards=[requires(*DEVICE_ADMIN)], operation_id="listLaneDevices")
async def list_lane_devices(request: Request) -> dict[str, Any]:
    return {"items": await services(request).uow.read(actor(request), lane_pairing.devices)}


@post("/api/v1/lanes/devices/{device_id:str}/unpair", guards=[requires(*DEVICE_ADMIN)], status_code=HTTP_200_OK,
      operation_id="unpairLaneDevice")
async def unpair_lane_device(request: Request, device_id: str) -> lane_pairing.DeviceView:
    return await services(request).uow.run(actor(request), lambda u: lane_pairing.unpair(u, device_id))


ROUTES = [issue_pairing_code, pair_device, lane_device, list_lane_devices, unpair_lane_device]
