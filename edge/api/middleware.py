"""Request context: request id, structured logs, metrics and bearer-token authentication.

One ASGI middleware does all four because they share the same per-request state and each
layer of middleware costs time on the hot lookup path.
"""

from __future__ import annotations

import itertools
import os
import re
import time
from typing import Any

import structlog
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from edge.adapters.metrics import HTTP_LATENCY, HTTP_REQUESTS
from edge.adapters.security.tokens import InvalidToken, TokenService
from edge.service.ports import Actor

log = structlog.get_logger()
REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")

# Request ids: a random per-process prefix plus a counter. Unique within and across restarts,
# and far cheaper than a uuid4 (a getrandom() syscall) on every request.
_PREFIX = os.urandom(6).hex()
_COUNTER = itertools.count(1)


def new_request_id() -> str:
    return f"{_PREFIX}{next(_COUNTER):010x}"


def context_middleware(tokens: TokenService):
    def factory(app: ASGIApp) -> ASGIApp:
        async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] not in ("http", "websocket"):
                await app(scope, receive, send)
                return
            headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]
                       if k in (b"x-request-id", b"authorization", b"sec-websocket-protocol")}
            incoming = headers.get("x-request-id", "")
            request_id = incoming if REQUEST_ID_RE.match(incoming) else new_request_id()
            state: dict[str, Any] = scope.setdefault("state", {})
            state["request_id"] = request_id
            token = _bearer(headers)
            if token:
                try:
                    claims = tokens.verify_access(token)
                except InvalidToken as err:
                    state["auth_error"] = str(err)
                else:
                    state["actor"] = Actor(
                        tenant_id=claims["tenant_id"], store_id=claims.get("store_id"), user_id=claims["sub"],
                        username=claims.get("username", claims["sub"]), roles=tuple(claims.get("roles", ())),
                        lane_id=claims.get("lane_id"), request_id=request_id,
                    )
                    state["mfa_enroll"] = bool(claims.get("mfa_enroll"))
            started = time.perf_counter()
            status_holder = [500]

            async def send_wrapper(message: Message) -> None:
                if message["type"] == "http.response.start":
                    status_holder[0] = message["status"]
                    message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
                await send(message)

            with structlog.contextvars.bound_contextvars(request_id=request_id):
                try:
                    await app(scope, receive, send_wrapper)
                finally:
                    if scope["type"] == "http":
                        elapsed = time.perf_counter() - started
                        route = scope.get("path_template") or "unmatched"
                        status = status_holder[0]
                        HTTP_REQUESTS.labels(scope["method"], route, str(status)).inc()
                        HTTP_LATENCY.labels(route).observe(elapsed)
                        if status >= 400:
                            log.info("http.request", method=scope["method"], path=scope["path"], status=status,
                                     ms=round(elapsed * 1000, 2))

        return middleware

    return factory


def _bearer(headers: dict[str, str]) -> str | None:
    auth = headers.get("authorization", "")
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip() or None
    # Browsers cannot set headers on WebSockets: lanes pass the token as a subprotocol.
    proto = headers.get("sec-websocket-protocol", "")
    for part in (p.strip() for p in proto.split(",")):
        if part.startswith("bearer."):
            return part[len("bearer."):]
    return None
