"""Both servers' OpenAPI documents tell the truth about errors, media types and status codes.

`document_api(app)` runs once per app (in `edge.bootstrap` and `cloud.app`; it lives in `webui`
beside the other HTTP plumbing both servers share, since the cloud imports nothing from `edge`
but its contracts). The first time the document is rendered, `edge.contracts.openapi.document_errors` adds the problem+json responses that follow
from each route's guards, method, parameters and body. A route adds what the rules cannot know
in its `opt`:

- `opt={"problems": (503,)}`: statuses beyond the rules (a device or dependency down);
- `opt={"media_types": ("text/plain", "text/html")}`: a success body that is not JSON;
- `opt={"request_media_type": "text/csv"}`: a raw upload read with `request.body()`.

A single-type response is better declared the Litestar way, `media_type="text/csv"`.
"""

from __future__ import annotations

from typing import Any

from litestar import Litestar
from litestar._openapi.plugin import OpenAPIPlugin  # Litestar exports no public name for it
from litestar.handlers import HTTPRouteHandler
from litestar.routes import HTTPRoute

from edge.contracts.openapi import OperationFacts, document_errors

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def operation_facts(app: Litestar) -> dict[tuple[str, str], OperationFacts]:
    facts: dict[tuple[str, str], OperationFacts] = {}
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            if not isinstance(handler, HTTPRouteHandler):
                continue
            public = handler.opt.get("public") is True
            for method in handler.http_methods:
                facts[(route.path_format or "/", method.lower())] = OperationFacts(
                    guarded=bool(handler.resolve_guards()) and not public,
                    writes=method not in READ_METHODS,
                    extra_statuses=tuple(handler.opt.get("problems", ())),
                    media_types=tuple(handler.opt.get("media_types", ())),
                    request_media_type=handler.opt.get("request_media_type"),
                )
    return facts


class _DocumentedOpenAPIPlugin(OpenAPIPlugin):
    __slots__ = ()

    def provide_openapi_schema(self) -> dict[str, Any]:
        document = super().provide_openapi_schema()  # built once and cached by Litestar
        if "Problem" not in document.get("components", {}).get("schemas", {}):
            document_errors(document, operation_facts(self.app))
        return document


def document_api(app: Litestar) -> None:
    """Amend the document when it is first rendered (building it costs ~0.1 s: not at start-up).

    Litestar builds its OpenAPI routes around its own plugin instance and offers no hook after
    rendering, so the instance becomes the subclass above (same slots, so the switch is safe).
    """
    plugin = app.plugins.get(OpenAPIPlugin)
    plugin.__class__ = _DocumentedOpenAPIPlugin
