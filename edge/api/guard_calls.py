"""Guards are called with the route handler itself, not a copy of it.

Litestar's `BaseRouteHandler.authorize_connection` passes every guard `copy(route_handler)`,
so that a guard could change its handler without touching the shared one. Copying the slotted
handler (dozens of slots) cost more than the rest of the guard: about 5% of a barcode lookup's
server time (bench_catalog). No guard of the edge reads or changes its handler argument
(`tests/edge/test_guard_calls.py` holds them to that: the parameter is named `_…`), so each is
given the handler as it is; the cloud's guards ignore theirs too, and the cloud never installs this. The guards still run, in the same order, for every route that declares them.
"""

from __future__ import annotations

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

_litestar_authorize = BaseRouteHandler.authorize_connection


async def _authorize_connection(self: BaseRouteHandler, connection: ASGIConnection) -> None:
    for guard in self.resolve_guards():
        await guard(connection, self)  # type: ignore[misc]


def hand_guards_the_route_handler() -> None:
    """Install once, from the composition root (`edge.bootstrap.create_app`)."""
    BaseRouteHandler.authorize_connection = _authorize_connection  # type: ignore[method-assign]
