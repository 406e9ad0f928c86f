"""Domain errors: one tree, mapped to problem+json in exactly one place (`edge.api.problems`).

    DomainError                      (code, detail, errors[])
    ├── ValidationFailed      422    the request is well-formed but breaks a business rule
    ├── NotFound              404    the object does not exist *for this tenant*
    ├── Conflict              409    an illegal state transition, a duplicate, a race
    ├── Forbidden             403    the actor may not do this
    │   └── OverrideRequired  403    a supervisor or manager override is needed
    └── Unauthorized          401    credentials missing, wrong or expired

`code` is stable and becomes the problem `type` (`https://novapos.dev/problems/<code>`), so
lanes and integrations can branch on it without parsing text.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    status = 400
    default_code = "bad-request"

    def __init__(self, detail: str, *, code: str | None = None, errors: list[dict[str, Any]] | None = None):
        super().__init__(detail)
        self.detail = detail
        self.code = code or self.default_code
        self.errors = errors or []


class ValidationFailed(DomainError):
    status = 422
    default_code = "validation-failed"


class NotFound(DomainError):
    status = 404
    default_code = "not-found"


class Conflict(DomainError):
    status = 409
    default_code = "conflict"


class Forbidden(DomainError):
    status = 403
    default_code = "forbidden"


class OverrideRequired(Forbidden):
    default_code = "override-required"


class Unauthorized(DomainError):
    status = 401
    default_code = "unauthorized"


# Sales errors (orders, tenders, returns, tills, stock). They hang off the tree above:
#
#   ValidationFailed
#   ├── CardNumberRejected     a Luhn-valid 13-19 digit string reached a payment/customer field
#   ├── InsufficientTender     the tenders do not cover the total, or a card/crypto overpays
#   └── ReturnExceedsSold      more than sold minus already returned
#   Conflict
#   ├── IllegalTransition      an order, payment or drawer is not in a state that allows this
#   ├── InsufficientStock      an online reservation would take available stock below zero
#   └── UnsyncedSales          a Z report while lanes still hold queued offline sales


class CardNumberRejected(ValidationFailed):
    default_code = "card-number-rejected"


class InsufficientTender(ValidationFailed):
    default_code = "insufficient-tender"


class ReturnExceedsSold(ValidationFailed):
    default_code = "return-exceeds-sold"


class IllegalTransition(Conflict):
    default_code = "illegal-transition"


class InsufficientStock(Conflict):
    default_code = "insufficient-stock"


class UnsyncedSales(Conflict):
    default_code = "unsynced-lane-queues"
