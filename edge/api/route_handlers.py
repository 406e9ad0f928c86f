"""Route decorators for the hot read paths: Litestar's, but the guards get the handler itself.

Litestar's `authorize_connection` hands every guard a `copy()` of the route handler, so that a
guard cannot change the handler for later requests. Copying a handler (about seventy attributes,
through `__reduce_ex__`) was the largest single cost of a barcode lookup after the framework's
own request and response work: about a tenth of the edge's CPU per lookup (bench_catalog).

Our guards (`edge.api.guards`) never read or change the handler: they decide from the verified
claims in the connection's state alone. So these handlers pass themselves. Everything else,
including which guards run and in what order, is Litestar's own `HTTPRouteHandler`; this is a
subclass of a public class, not a patch, and every other route keeps Litestar's behaviour.
"""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.enums import HttpMethod
from litestar.handlers import HTTPRouteHandler


class GuardedHTTPRouteHandler(HTTPRouteHandler):
    async def authorize_connection(self, connection: ASGIConnection[Any, Any, Any, Any]) -> None:
        for guard in self.resolve_guards():
            await guard(connection, self)  # type: ignore[misc]  # no copy: our guards ignore the handler


class get(GuardedHTTPRouteHandler):  # a decorator, spelled like Litestar's `get`
    """`@get(path, guards=[...], ...)` for a read route whose guards come from `edge.api.guards`."""

    def __init__(self, path: str | None = None, **kwargs: Any) -> None:
        super().__init__(path, http_method=HttpMethod.GET, **kwargs)
