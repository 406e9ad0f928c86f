"""The error contract both HTTP APIs publish, applied to their OpenAPI documents.

The store server and the cloud hub answer every error with RFC 9457 problem+json. Which
statuses an operation can answer follows from what it is, not from its handler's code:

    400  it takes parameters or a body (malformed, wrong type, out of bounds), or it changes
         state (a missing or malformed Idempotency-Key)
    401  it is guarded (no token, or a bad one), or its body carries a credential
    403  it is guarded (role, tenant, lane), or its body carries a credential (MFA owed)
    404  it names something in its path, or its query or body refers to things (`*_id`, sku,
         lines)
    409  it changes state (an illegal transition, a duplicate, an idempotency key in flight)
    413  it takes a body (each server caps request bodies)
    422  it takes parameters or a body, or changes state (a business rule, a stale cursor,
         an idempotency key reused with another body)
    429  its body carries a credential (lockout with backoff)

`document_errors` adds those responses to a rendered OpenAPI document (a plain dict), reading
parameters and body fields from the document and the rest from one `OperationFacts` per
operation, which each server derives from its route handlers: so a route added later is
documented the same way without anyone writing its error responses by hand.
"""

from __future__ import annotations

from typing import Any

import msgspec

PROBLEM_JSON = "application/problem+json"
PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "An RFC 9457 problem: `type` is stable, so clients branch on it.",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string", "description": "https://novapos.dev/problems/<code>"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string", "description": "what went wrong and what to do, for people"},
        "instance": {"type": "string"},
        "request_id": {"type": "string", "description": "quote it when reporting a problem"},
        "errors": {"type": "array", "items": {}, "description": "field problems: field (or row) and message"},
    },
}
DESCRIPTIONS = {
    400: "The request is malformed or a field is out of bounds",
    401: "No valid credentials",
    403: "The credentials do not allow this",
    404: "Not found (for this tenant)",
    409: "Conflicts with the current state, or the same Idempotency-Key is still in flight",
    413: "The request body is too large",
    422: "Well-formed, but breaks a business rule",
    429: "Too many attempts: wait for Retry-After",
    503: "A dependency (database, device, broker) is unavailable",
}


# Body fields that carry a credential (a lockout counts their failures) or name a thing that
# may not exist.
CREDENTIAL_FIELDS = frozenset({"password", "pin", "override_pin", "override_token", "refresh_token", "totp", "code"})
REFERENCE_FIELDS = frozenset({"sku", "barcode", "lines", "items"})


class OperationFacts(msgspec.Struct, frozen=True, kw_only=True):
    """What a server knows about one operation's handler; the rest is read from the document."""

    guarded: bool
    writes: bool = False
    extra_statuses: tuple[int, ...] = ()  # what the route declares beyond the rules above
    media_types: tuple[str, ...] = ()  # the success response's media types, when not JSON
    request_media_type: str | None = None  # a raw body (a CSV upload) the decoder does not see


def error_statuses(fact: OperationFacts, operation: dict[str, Any], body_fields: set[str]) -> set[int]:
    params = operation.get("parameters") or []
    has_body = bool(operation.get("requestBody"))
    statuses = set(fact.extra_statuses)
    if params or has_body or fact.writes:
        statuses |= {400, 422}
    if fact.guarded:
        statuses |= {401, 403}
    if body_fields & CREDENTIAL_FIELDS:
        statuses |= {401, 403, 429}  # 403: right password, but MFA enrolment is still owed
    names = body_fields | {p.get("name", "") for p in params if p.get("in") == "query"}
    if any(p.get("in") == "path" for p in params) or names & REFERENCE_FIELDS or any(n.endswith("_id") for n in names):
        statuses.add(404)
    if fact.writes:
        statuses.add(409)
    if has_body:
        statuses.add(413)
    return statuses


def document_errors(document: dict[str, Any], facts: dict[tuple[str, str], OperationFacts]) -> dict[str, Any]:
    """Add the problem responses (and non-JSON media types) to every operation in `facts`.

    `facts` is keyed by (path as in the document, lower-case method). Error responses the
    document already lists (Litestar's own 400, a route's `responses=`) are kept but described
    as problem+json, which is what every error really is. Changes the document in place.
    """
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas["Problem"] = PROBLEM_SCHEMA
    for (path, method), fact in facts.items():
        operation = document.get("paths", {}).get(path, {}).get(method)
        if operation is None:
            continue
        if fact.request_media_type:
            operation["requestBody"] = {"required": True, "content": {
                fact.request_media_type: {"schema": {"type": "string"}}}}
        responses = operation.setdefault("responses", {})
        statuses = error_statuses(fact, operation, _body_fields(operation, schemas))
        statuses |= {int(code) for code in responses if code.isdigit() and int(code) >= 400}
        for status in sorted(statuses):
            responses[str(status)] = {"description": DESCRIPTIONS.get(status, "Error"),
                                      "content": {PROBLEM_JSON: {"schema": PROBLEM_REF}}}
        if fact.media_types:
            for code, response in responses.items():
                if code.startswith("2"):
                    response["content"] = {media: {"schema": _schema_for(media)} for media in fact.media_types}
    return document


def _body_fields(operation: dict[str, Any], schemas: dict[str, Any]) -> set[str]:
    fields: set[str] = set()
    for content in (operation.get("requestBody") or {}).get("content", {}).values():
        schema = content.get("schema") or {}
        ref = schema.get("$ref", "")
        if ref.startswith("#/components/schemas/"):
            schema = schemas.get(ref.rsplit("/", 1)[-1], {})
        fields |= set(schema.get("properties", {}))
    return fields


def _schema_for(media_type: str) -> dict[str, Any]:
    if media_type.startswith("text/"):
        return {"type": "string"}
    return {"type": "string", "format": "binary"}
