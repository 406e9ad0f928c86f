"""The manager review queue: offline price variances, stock conflicts, unresolved refunds."""

from __future__ import annotations

from typing import Any

from edge.domain.errors import Conflict, NotFound, ValidationFailed
from edge.service.ports import UnitOfWork

RESOLUTIONS = ("accepted", "adjusted", "written_off", "refunded", "dismissed")


def present(case: dict[str, Any]) -> dict[str, Any]:
    return {k: case.get(k) for k in ("id", "kind", "status", "order_id", "product_id", "summary", "detail",
                                     "resolution", "note", "resolved_by", "created_at", "resolved_at")}


def list_cases(uow: UnitOfWork, status: str | None, kind: str | None, after: str | None, limit: int
               ) -> list[dict[str, Any]]:
    return [present(c) for c in uow.reviews.search(status=status, kind=kind, after=after, limit=limit)]


def resolve(uow: UnitOfWork, case_id: str, resolution: str, note: str | None) -> dict[str, Any]:
    if resolution not in RESOLUTIONS:
        raise ValidationFailed("unknown resolution", errors=[{"field": "resolution", "message": "|".join(RESOLUTIONS)}])
    repo = uow.reviews
    case = repo.get(case_id)
    if case is None:
        raise NotFound("no such review case", code="review-not-found")
    if case["status"] != "open":
        raise Conflict("the case is already resolved", code="review-resolved")
    values = {"status": "resolved", "resolution": resolution, "note": note, "resolved_by": uow.actor.username,
              "resolved_at": uow.now}
    repo.resolve(case_id, values)
    after = present(case | values)
    uow.audit("review.resolved", "review_case", case_id, {"status": "open"}, after)
    uow.emit("review.resolved", after)
    return after
