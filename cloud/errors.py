"""HQ errors a caller can act on; `cloud.app` maps every one to RFC 9457 problem+json.

    HQError (status, code, title)
    ├── InvalidInput        422  a field is out of bounds or unknown (`errors[]` names it)
    ├── AlreadyExists       409  a tenant id or username that is taken
    └── VersionMismatch     412  If-Match named a version that is no longer current
"""

from __future__ import annotations

from typing import Any


class HQError(Exception):
    status = 400
    code = "bad-request"
    title = "Bad request"

    def __init__(self, detail: str, errors: list[dict[str, Any]] | None = None):
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []


class InvalidInput(HQError):
    status, code, title = 422, "validation-failed", "Invalid input"


class AlreadyExists(HQError):
    status, code, title = 409, "already-exists", "Already exists"


class VersionMismatch(HQError):
    status, code, title = 412, "version-mismatch", "Changed meanwhile"
