"""Bounds on what a client sends the cloud hub, applied once for every route.

- `BoundedRequest` refuses a JSON body nested deeper than `MAX_JSON_DEPTH` before decoding
  (msgspec gives up near a thousand levels with a RecursionError, which would be a 500).
- `reject_unsafe_paths` answers a path holding a NUL or another control character with a 400
  before routing: the static dashboard would hand it to `os.stat`, which raises.

Field bounds (ids, names, quantities) are the shared types of `edge.contracts.bounds`, used by
the request Structs in `cloud/api/hq.py`.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request
from litestar.exceptions import ValidationException
from litestar.types import ASGIApp, Receive, Scope, Send

from edge.contracts.bounds import MAX_JSON_DEPTH, json_depth_exceeds

PROBLEM = "application/problem+json"


class BoundedRequest(Request[Any, Any, Any]):
    async def json(self) -> Any:
        if json_depth_exceeds(await self.body()):
            raise ValidationException(f"the JSON body nests deeper than {MAX_JSON_DEPTH} levels",
                                      extra=[{"key": "body", "message": f"at most {MAX_JSON_DEPTH} levels"}])
        return await super().json()


def reject_unsafe_paths(app: ASGIApp) -> ASGIApp:
    async def guarded(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and any(ord(c) < 0x20 or ord(c) == 0x7F for c in scope["path"]):
            body = msgspec.json.encode({
                "type": "https://novapos.dev/problems/unsafe-path", "title": "Invalid request", "status": 400,
                "detail": "the path holds a control character (such as %00); check the link"})
            await send({"type": "http.response.start", "status": 400,
                        "headers": [(b"content-type", PROBLEM.encode()), (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})
            return
        await app(scope, receive, send)

    return guarded
