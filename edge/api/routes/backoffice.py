"""The store admin's own routes: who may use it and what they may do there, and the till
read-backs (Z report reprint, drawer journal) its till screen needs.

`GET /api/v1/backoffice/session` is the gate of the admin: a cashier (or any role without
back-office work) is refused here, so the sign-in page turns them away; everyone else gets the
operations their roles allow, derived from the guards of the routes themselves, so the
navigation can never offer what the server would refuse (nor hide what it would allow).
"""

from __future__ import annotations

from typing import Any

from litestar import Request, get

from edge.api.deps import actor, services
from edge.api.guards import MANAGERS, STORE_MANAGER, SUPERVISOR, TECHNICIAN, TENANT_ADMIN, requires
from edge.service import till_reports

BACKOFFICE = (SUPERVISOR, STORE_MANAGER, TENANT_ADMIN, TECHNICIAN)
TILL_READ = (*MANAGERS, SUPERVISOR)

_allowed_cache: dict[tuple[int, frozenset[str]], list[str]] = {}


def allowed_operations(app: Any, roles: frozenset[str]) -> list[str]:
    """The operation ids of every guarded route these roles pass (public routes are not listed)."""
    key = (id(app), roles)
    if key not in _allowed_cache:
        found = set()
        for route in app.routes:
            for handler in getattr(route, "route_handlers", []):
                operation = getattr(handler, "operation_id", None)
                if not isinstance(operation, str):
                    continue
                guards = handler.resolve_guards()
                if not guards:
                    continue
                needed = [g.roles for g in guards if hasattr(g, "roles")]
                if all(roles & allowed for allowed in needed):
                    found.add(operation)
        _allowed_cache[key] = sorted(found)
    return _allowed_cache[key]


@get("/api/v1/backoffice/session", guards=[requires(*BACKOFFICE)], operation_id="backofficeSession")
async def backoffice_session(request: Request) -> dict[str, Any]:
    who = actor(request)
    return {"user": {"id": who.user_id, "username": who.username, "roles": list(who.roles),
                     "tenant_id": who.tenant_id, "store_id": who.store_id},
            "operations": allowed_operations(request.app, frozenset(who.roles))}


@get("/api/v1/tills/{session_id:str}/z-report", guards=[requires(*TILL_READ)], operation_id="tillZReport")
async def z_report(request: Request, session_id: str) -> dict[str, Any]:
    return await services(request).uow.read(actor(request), lambda u: till_reports.z_report(u, session_id))


@get("/api/v1/tills/{session_id:str}/movements", guards=[requires(*TILL_READ)], operation_id="tillMovements")
async def till_movements(request: Request, session_id: str) -> dict[str, Any]:
    return await services(request).uow.read(actor(request), lambda u: till_reports.journal(u, session_id))


ROUTES = [backoffice_session, z_report, till_movements]
