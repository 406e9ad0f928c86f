"""The manager review queue: offline price variances, stock conflicts, unresolved refunds."""

from __future__ import annotations

import msgspec

from edge.domain.errors import Conflict, NotFound, ValidationFailed
from edge.service.ports import UnitOfWork
from edge.service.repository_ports import ReviewCaseRow

RESOLUTIONS = ("accepted", "adjusted", "written_off", "refunded", "dismissed")


def list_cases(uow: UnitOfWork, status: str | None, kind: str | None, after: str | None, limit: int
               ) -> list[ReviewCaseRow]:
    return uow.reviews.search(status=status, kind=kind, after=after, limit=limit)


def resolve(uow: UnitOfWork, case_id: str, resolution: str, note: str | None) -> ReviewCaseRow:
    if resolution not in RESOLUTIONS:
        raise ValidationFailed("unknown resolution", errors=[{"field": "resolution", "message": "|".join(RESOLUTIONS)}])
    repo = uow.reviews
    case = repo.get(case_id)
    if case is None:
        raise NotFound("no such review case", code="review-not-found")
    if case.status != "open" or not repo.resolve(case_id, resolution=resolution, note=note,
                                                  resolved_by=uow.actor.username, at=uow.now):
        raise Conflict("the case is already resolved", code="review-resolved")
    after = msgspec.structs.replace(case, status="resolved", resolution=resolution, note=note,
                                    resolved_by=uow.actor.username, resolved_at=uow.now)
    uow.audit("review.resolved", "review_case", case_id, {"status": "open"}, after)
    uow.emit("review.resolved", msgspec.structs.asdict(after))
    return after
