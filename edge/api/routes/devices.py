"""Devices: what is plugged in and its status, technician test actions, print jobs, reprints."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Request, get, post
from litestar.params import Parameter

from edge.adapters.hardware import device_errors, reprint_job, require_hub, runtime_of
from edge.api.deps import actor, check_limit, services
from edge.api.guards import DEVICE_ADMIN, STORE_STAFF, TECHNICIAN, requires
from edge.api.routes.card_terminal import card_terminal_devices, card_terminal_test
from hardware.models import TEST_ACTIONS

DEVICE_READ = (*STORE_STAFF, TECHNICIAN)  # lanes show device status; technicians diagnose


def present_device(device: Any) -> dict[str, Any]:
    return {"id": device.id, "kind": device.kind, "name": device.name, "status": device.status,
            "lane_id": device.lane_id, "source": device.source, "address": device.address,
            "actions": list(TEST_ACTIONS.get(device.kind, ()))}


@get("/api/v1/devices", guards=[requires(*DEVICE_READ)], operation_id="listDevices")
async def list_devices(request: Request, lane_id: str | None = None) -> dict[str, Any]:
    hardware = runtime_of(services(request))
    lan = card_terminal_devices(services(request)) if lane_id is None else []  # LAN card terminals
    if hardware.hub is None:
        return {"items": lan, "mode": hardware.mode}
    with device_errors():
        devices = await hardware.hub.devices()
    items = [present_device(d) for d in devices if lane_id is None or d.lane_id == lane_id] + lan
    return {"items": items, "mode": hardware.mode}


@post("/api/v1/devices/{device_id:str}/actions/{action:str}", guards=[requires(*DEVICE_ADMIN)], status_code=200,
      opt={"problems": (503,)},
      operation_id="testDevice")
async def test_device(request: Request, device_id: str, action: str) -> dict[str, Any]:
    """test_print, drawer_kick, scale_read, terminal_diagnostics (display_test for displays).
    A device that fails its test answers 200 with `ok: false` and what it said."""
    s, who = services(request), actor(request)
    outcome = await card_terminal_test(s, device_id, action)
    if outcome is None:
        with device_errors():
            outcome = msgspec.to_builtins(await require_hub(s).test_action(device_id, action))
    await s.uow.run(who, lambda u: u.audit("device.tested", "device", device_id, None, outcome))
    return outcome


@get("/api/v1/devices/jobs", guards=[requires(*DEVICE_READ)], operation_id="listPrintJobs")
async def list_jobs(request: Request, lane_id: str | None = None, status: str | None = None,
                    limit: Annotated[int, Parameter(ge=1, le=500)] = 50) -> dict[str, Any]:
    """Receipt and test-print history, newest first; `status=failed` lists what to reprint."""
    hub = require_hub(services(request))
    with device_errors():
        jobs = await hub.jobs(500 if lane_id or status else check_limit(limit))
    wanted = [j for j in jobs if (lane_id is None or j.lane_id == lane_id) and (status is None or j.status == status)]
    return {"items": msgspec.to_builtins(wanted[:limit])}


@post("/api/v1/devices/jobs/{job_id:str}/reprint", guards=[requires(*DEVICE_READ)], status_code=201,
      opt={"problems": (503,)},
      operation_id="reprintJob")
async def reprint(request: Request, job_id: str) -> dict[str, Any]:
    job = await reprint_job(services(request), actor(request), job_id)
    return msgspec.to_builtins(job)


ROUTES = [list_devices, test_device, list_jobs, reprint]
