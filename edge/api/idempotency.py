"""Idempotency for every POST that creates or changes money or stock
(ARCHITECTURE.md, "HTTP conventions").

    same key, same body       → the stored response again, with `Idempotent-Replayed: true`
    same key, different body  → 422
    same key, still running   → 409
    missing or malformed key  → 400

Keys are scoped to (tenant, principal, route template), so two tenants or two cashiers never
collide. The response is stored in the *same transaction* as the change it describes: either
both survive a crash or neither does, so a retry after a crash either replays or re-runs.
Errors are not stored: a refused request changed nothing, and the client may retry it.
A lane that queued a sale offline keeps the key it minted then; keys live for 30 days.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from typing import Any

import msgspec
from litestar import Request, Response

from edge.adapters.uow import UnitOfWorkFactory
from edge.contracts.pan import looks_like_card_number
from edge.domain.errors import Conflict, DomainError, ValidationFailed
from edge.service.ports import Actor
from edge.service.repository_ports import StoredResponse

KEY_RE = re.compile(r"^[A-Za-z0-9_.:-]{8,128}$")
RETENTION_DAYS = 30

_encoder = msgspec.json.Encoder(order="sorted")


class MissingIdempotencyKey(DomainError):
    status = 400
    default_code = "idempotency-key-required"


class _Replay(Exception):
    def __init__(self, record: dict[str, Any]):
        self.record = record


# A supervisor's PIN or token never goes into the stored hash: a 4-digit PIN could be found
# again from the hash of an otherwise known body.
SECRET_FIELDS = ("override_pin", "override_token")


def canonical_body_hash(body: bytes) -> str:
    # Hash the decoded JSON re-encoded with sorted keys, so whitespace and key order do not
    # turn a genuine retry into a "different body".
    try:
        decoded = msgspec.json.decode(body) if body else None
    except msgspec.DecodeError:
        return hashlib.sha256(body).hexdigest()
    if isinstance(decoded, dict):
        for name in SECRET_FIELDS:
            decoded.pop(name, None)
    return hashlib.sha256(_encoder.encode(decoded) if body else b"").hexdigest()


def writer_unit(scope: tuple[str, str, str, str], body_hash: str, status_code: int,
                handler: Callable[[Any], Any]) -> Callable[[Any], tuple[int, str]]:
    """What the writer thread runs for a keyed request: replay the stored response, or run the
    handler and store its response in the same transaction (a benchmark runs it directly)."""
    def unit(uow: Any) -> tuple[int, str]:
        repo = uow.idempotency
        stored = repo.find(scope)
        if stored is not None:
            raise _Replay(stored)
        result = handler(uow)
        body = msgspec.json.encode(result).decode()
        repo.save(scope, body_hash, status_code, body, uow.now)
        return status_code, body

    return unit


class Idempotency:
    def __init__(self, uow: UnitOfWorkFactory):
        self.uow = uow
        self._in_flight: set[tuple[str, str, str, str]] = set()

    async def run(self, request: Request, actor: Actor, handler: Callable[[Any], Any], *,
                  status_code: int = 201, required: bool = True) -> Response:
        """Run `handler(uow)` once per key. With required=False (catalog edits, which move no
        money or stock) a request without a key simply runs; one with a key gets the guarantee."""
        key = request.headers.get("idempotency-key")
        if key is None and not required:
            result = await self.uow.run(actor, handler)
            return Response(content=msgspec.json.encode(result), status_code=status_code,
                            media_type="application/json")
        if key is None:
            raise MissingIdempotencyKey("this request needs an Idempotency-Key header (a UUID is a good key)")
        if not KEY_RE.match(key) or looks_like_card_number(key):  # keys are stored and logged
            raise MissingIdempotencyKey("the Idempotency-Key must be 8-128 characters of letters, digits, . _ : -",
                                        code="idempotency-key-malformed")
        route = f"{request.method} {request.scope.get('path_template') or request.url.path}"
        scope = (actor.tenant_id, actor.user_id or actor.username, route, key)
        body_hash = canonical_body_hash(await request.body())

        if scope in self._in_flight:
            raise Conflict("a request with this Idempotency-Key is still being processed; retry shortly",
                           code="idempotency-in-progress")

        # The stored response is looked up inside the writer's transaction, not before it: one
        # statement instead of two, and no window between the lookup and the write.
        self._in_flight.add(scope)
        try:
            try:
                status, body = await self.uow.run(actor, writer_unit(scope, body_hash, status_code, handler))
            except _Replay as replay:
                return self._replay(replay.record, body_hash)
        finally:
            self._in_flight.discard(scope)
        return Response(content=body.encode(), status_code=status, media_type="application/json",
                        headers={"Idempotency-Key": key})

    def _replay(self, stored: StoredResponse, body_hash: str) -> Response:
        if stored.body_sha256 != body_hash:
            raise ValidationFailed("this Idempotency-Key was already used with a different request body",
                                   code="idempotency-key-reused")
        return Response(content=stored.response_body.encode(), status_code=stored.status_code,
                        media_type="application/json", headers={"Idempotent-Replayed": "true"})
