"""Guards get the route handler itself (edge.api.guard_calls): none may read or change it, and
every guard still decides."""

from __future__ import annotations

import inspect

from litestar.handlers import HTTPRouteHandler, WebsocketRouteHandler


def test_no_guard_of_the_edge_uses_its_route_handler_argument(client):
    using = set()
    for route in client.app.routes:
        for handler in getattr(route, "route_handlers", []):
            if not isinstance(handler, HTTPRouteHandler | WebsocketRouteHandler):
                continue
            for guard in handler.resolve_guards():
                guard = getattr(guard, "func", guard)  # Litestar wraps a plain-function guard
                second = list(inspect.signature(guard).parameters)[1]
                if not second.startswith("_"):
                    using.add(f"{guard.__module__}.{guard.__qualname__}({second})")
    assert using == set()


def test_guards_still_refuse_and_admit_as_before(client, as_user):
    cashier, manager = as_user("cashier"), as_user("manager")
    assert client.get("/api/v1/users", headers=cashier).status_code == 403
    assert client.get("/api/v1/users", headers=manager).status_code == 200
    assert client.get("/api/v1/users").status_code == 401
    wrong_tenant = {**cashier, "X-Tenant-ID": "someone-else"}
    assert client.get("/api/v1/products?barcode=4006381333931", headers=wrong_tenant).status_code == 403
    assert client.get("/api/v1/products?barcode=4006381333931", headers=cashier).status_code == 200
