"""Request context: request id, structured logs, metrics and bearer-token authentication.

One ASGI middleware does all four because they share the same per-request state and each
layer of middleware costs time on the hot lookup path.
"""

from __future__ import annotations

import itertools
import os
import re
import time
from typing import TYPE_CHECKING, Any

import structlog
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from edge.adapters.metrics import REGISTRY
from edge.adapters.security.tokens import InvalidToken, RevokedToken, TokenService
from edge.api.request_metrics import RequestMetrics
from edge.contracts.pan import looks_like_card_number

if TYPE_CHECKING:
    from edge.adapters.db import RequestsInFlight

log = structlog.get_logger()
REQUEST_METRICS = RequestMetrics().register(REGISTRY)
REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")

# Request ids: a random per-process prefix plus a counter. Unique within and across restarts,
# and far cheaper than a uuid4 (a getrandom() syscall) on every request. The prefix ends in a
# letter, so its digits never join the counter's into a 13+ digit run that the log masking
# would take for a card number.
_PREFIX = os.urandom(6).hex()[:11] + "abcdef"[os.urandom(1)[0] % 6]
_COUNTER = itertools.count(1)


def new_request_id() -> str:
    return f"{_PREFIX}{next(_COUNTER):010x}"


def safe_request_id(incoming: str) -> str:
    """The client's X-Request-ID when it is a plain token, else a fresh one: it is echoed,
    logged and stored with audit rows, so it may not carry markup, secrets or a card number."""
    if incoming and REQUEST_ID_RE.match(incoming) and not looks_like_card_number(incoming):
        return incoming
    return new_request_id()


def context_middleware(tokens: TokenService, in_flight: RequestsInFlight | None = None):
    """`in_flight` counts the HTTP requests being answered (not WebSockets, which stay open):
    an import's chunks wait for a moment with none (edge/service/catalog_import_jobs.py)."""
    def factory(app: ASGIApp) -> ASGIApp:
        async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
            kind = scope["type"]
            if kind != "http" and kind != "websocket":
                await app(scope, receive, send)
                return
            incoming = authorization = protocols = ""
            for name, value in scope["headers"]:  # ASGI header names are lower-case bytes
                if name == b"authorization":
                    authorization = value.decode("latin-1")
                elif name == b"x-request-id":
                    incoming = value.decode("latin-1")
                elif name == b"sec-websocket-protocol":
                    protocols = value.decode("latin-1")
            request_id = safe_request_id(incoming)
            state: dict[str, Any] = scope.setdefault("state", {})
            state["request_id"] = request_id
            token = _bearer(authorization, protocols)
            if token:
                try:
                    claims = tokens.verify_access(token)
                except InvalidToken as err:
                    state["auth_error"] = str(err)
                    state["auth_revoked"] = isinstance(err, RevokedToken)
                else:
                    state["actor"] = claims.actor(request_id)
                    state["mfa_enroll"] = claims.mfa_enroll
            started = time.perf_counter()
            status = 500
            request_id_header = (b"x-request-id", request_id.encode())

            async def send_wrapper(message: Message) -> None:
                nonlocal status
                if message["type"] == "http.response.start":
                    status = message["status"]
                    message["headers"] = [*message.get("headers", ()), request_id_header]
                await send(message)

            # Set and reset the context variable by token: structlog's bound_contextvars() copies
            # the whole context twice per request to do the same thing.
            bound = structlog.contextvars.bind_contextvars(request_id=request_id)
            counted = in_flight if kind == "http" else None
            if counted is not None:
                counted.enter()
            try:
                await app(scope, receive, send_wrapper)
            finally:
                if counted is not None:
                    counted.leave()
                if kind == "http":
                    elapsed = time.perf_counter() - started
                    route = scope.get("path_template") or "unmatched"
                    REQUEST_METRICS.observe(scope["method"], route, status, elapsed)
                    if status >= 400:
                        log.info("http.request", method=scope["method"], path=scope["path"], status=status,
                                 ms=round(elapsed * 1000, 2))
                structlog.contextvars.reset_contextvars(**bound)

        return middleware

    return factory


def _bearer(authorization: str, protocols: str) -> str | None:
    if authorization[:7].lower() == "bearer ":
        return authorization[7:].strip() or None
    # Browsers cannot set headers on WebSockets: lanes pass the token as a subprotocol.
    for part in (p.strip() for p in protocols.split(",")):
        if part.startswith("bearer."):
            return part[len("bearer."):]
    return None
