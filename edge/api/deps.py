"""What route handlers reach: the composition root's services, the acting user, cursors."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

import msgspec
from litestar import Request

from edge.adapters.uow import UnitOfWorkFactory
from edge.api.guards import actor_of
from edge.api.idempotency import Idempotency
from edge.domain.errors import ValidationFailed
from edge.service.auth import AuthService
from edge.service.ports import Actor


@dataclass
class Services:
    """Built once per process by `edge.bootstrap`; route handlers read it from app state."""

    settings: Any
    db: Any
    uow: UnitOfWorkFactory
    idempotency: Idempotency
    auth: AuthService
    security: Any
    keys: Any
    hardware: Any = None
    relay: Any = None
    extras: dict[str, Any] | None = None


def services(request: Request) -> Services:
    return request.app.state.services


def actor(request: Request) -> Actor:
    return actor_of(request)


def encode_cursor(value: Any) -> str | None:
    if value is None:
        return None
    return base64.urlsafe_b64encode(msgspec.json.encode(value)).decode().rstrip("=")


def decode_cursor(cursor: str | None, shape: type[Any] = str) -> Any:
    """The position a list answer handed out as `next_cursor`, checked against the shape that
    list uses (a string id, an integer id, or a [sort key, id] pair): a tampered cursor is a
    422, never an error inside a query."""
    if not cursor:
        return None
    try:
        return msgspec.json.decode(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)), type=shape)
    except (ValueError, msgspec.DecodeError):
        raise ValidationFailed("the cursor is not valid; start again without it",
                               errors=[{"field": "cursor", "message": "malformed"}]) from None


def check_limit(limit: int, maximum: int = 500) -> int:
    if not 1 <= limit <= maximum:
        raise ValidationFailed(f"limit must be between 1 and {maximum}",
                               errors=[{"field": "limit", "message": f"1..{maximum}"}])
    return limit
