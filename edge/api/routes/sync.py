"""Replication status for managers and technicians."""

from __future__ import annotations

import dataclasses
from typing import Any

from litestar import Request, get

from edge.adapters.sync_status import sync_status
from edge.api.deps import services
from edge.api.guards import OPERATIONS_READ, requires


@get("/api/v1/sync/status", guards=[requires(*OPERATIONS_READ)], operation_id="syncStatus")
async def status(request: Request) -> dict[str, Any]:
    s = services(request)
    return dataclasses.asdict(await sync_status(s.db, s.relay))


ROUTES = [status]
