"""The one place where errors become RFC 9457 problem+json responses.

Domain errors carry a stable `code` that becomes the problem `type`. Framework errors (404,
405, 413, validation) keep their status. Anything unexpected is logged with its traceback and
answered as a 500 with only the request id: no stack trace ever reaches a client.
"""

from __future__ import annotations

from typing import Any

import structlog
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException

from edge.domain.errors import DomainError

log = structlog.get_logger()

PROBLEM_BASE = "https://novapos.dev/problems/"
PROBLEM_JSON = "application/problem+json"

TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Request body too large",
    415: "Unsupported media type",
    422: "Unprocessable content",
    429: "Too many requests",
    500: "Internal server error",
    503: "Service unavailable",
}

STATUS_CODES = {
    400: "bad-request",
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    409: "conflict",
    413: "payload-too-large",
    415: "unsupported-media-type",
    422: "validation-failed",
    429: "too-many-requests",
    500: "internal-error",
    503: "unavailable",
}


def problem_document(status: int, code: str, detail: str, *, instance: str | None = None,
                     request_id: str | None = None, errors: list[dict[str, Any]] | None = None,
                     **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + code,
        "title": TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
    }
    if instance is not None:
        body["instance"] = instance
    if request_id:
        body["request_id"] = request_id
    if errors:
        body["errors"] = errors
    body.update(extra)
    return body


def problem(status: int, code: str, detail: str, *, request: Request | None = None,
            errors: list[dict[str, Any]] | None = None, headers: dict[str, str] | None = None,
            **extra: Any) -> Response:
    instance = request_id = None
    if request is not None:
        instance = request.url.path
        request_id = request.scope.get("state", {}).get("request_id")
    body = problem_document(status, code, detail, instance=instance, request_id=request_id, errors=errors, **extra)
    return Response(content=body, status_code=status, media_type=PROBLEM_JSON, headers=headers or {})


def domain_error_handler(request: Request, exc: DomainError) -> Response:
    headers = {}
    retry = getattr(exc, "retry_after_s", None)
    if retry:
        headers["Retry-After"] = str(retry)
    return problem(exc.status, exc.code, exc.detail, request=request, errors=exc.errors or None, headers=headers)


def http_error_handler(request: Request, exc: HTTPException) -> Response:
    status = exc.status_code
    errors = None
    if isinstance(exc, ValidationException) and isinstance(exc.extra, list):
        errors = [{"field": (e.get("key") or e.get("source") or "body"), "message": e.get("message", "invalid")}
                  for e in exc.extra if isinstance(e, dict)]
    detail = exc.detail if isinstance(exc.detail, str) and exc.detail else TITLES.get(status, "Error")
    if status == 404 and detail == "Not Found":
        detail = f"nothing at {request.url.path}"
    if status == 413:
        detail = "the request body is larger than this endpoint accepts; send less, or split the file"
    if status >= 500:
        log.error("http.server_error", status=status, detail=detail)
        detail = "the server could not complete the request"
    headers = {k: v for k, v in (exc.headers or {}).items() if k.lower() in ("allow", "retry-after")}
    return problem(status, STATUS_CODES.get(status, "error"), detail, request=request, errors=errors,
                   headers=headers)


def unexpected_error_handler(request: Request, exc: Exception) -> Response:
    log.exception("http.unhandled_error", error_type=type(exc).__name__)
    return problem(500, "internal-error", "the server could not complete the request; quote the request id "
                   "when you report it", request=request)


EXCEPTION_HANDLERS = {
    DomainError: domain_error_handler,
    HTTPException: http_error_handler,
    Exception: unexpected_error_handler,
}

__all__ = ["EXCEPTION_HANDLERS", "PROBLEM_JSON", "MediaType", "problem"]
