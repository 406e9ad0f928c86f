"""Incoming provider webhooks: the one mechanism every provider callback goes through.

    raw body + headers ──verifier (per provider)──► VerifiedEvent ──► effect(uow) ◄── first_delivery(uow)
                         signature over the raw bytes,                    one transaction: the event id
                         any current secret (rotation),                   is recorded with the effect,
                         timestamp window if the provider sends one       so a replay changes nothing

Each provider keeps its own verifier (header names and signed bytes differ), but all of them
check the raw body before anything parses it, compare with `hmac.compare_digest`, accept every
secret of the ring (the new and, until its overlap window ends, the old one), and name the
event by the provider's own delivery id, on which `first_delivery` deduplicates.

Errors (problem+json through the one mapper):

    DomainError
    ├── WebhookRejected       400  signature, timestamp or shape is wrong: nothing changed
    └── ProviderUnavailable   503  the provider could not be asked about the event: retry later
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any, Protocol

import msgspec

from edge.domain.errors import DomainError
from edge.service.ports import UnitOfWork


class WebhookRejected(DomainError):
    status = 400
    default_code = "signature-invalid"


class ProviderUnavailable(DomainError):
    status = 503
    default_code = "provider-unavailable"


class Secrets(Protocol):
    def secrets(self) -> list[bytes]:
        """Every secret that may have signed a delivery right now, newest first."""
        ...


class VerifiedEvent(msgspec.Struct, frozen=True, kw_only=True):
    provider: str
    event_id: str  # the provider's delivery id, stable across its retries
    type: str
    ref: str | None = None  # our payment id, when the event names one
    charge_id: str | None = None  # the provider's own id (invoice, charge)
    body: dict[str, Any] = {}


class WebhookVerifier(Protocol):
    provider: str

    def verify(self, raw_body: bytes, headers: dict[str, str], now_s: float) -> VerifiedEvent:
        """The event, once its signature (and timestamp, if any) checked out; else WebhookRejected."""
        ...


def hmac_matches(secrets: Secrets, message: bytes, given_hex: str) -> bool:
    """True if any current secret signed `message`; every secret is tried (no early exit on
    the first mismatch that would tell which one is in use)."""
    try:
        given = given_hex.strip().lower().encode("ascii")
    except UnicodeEncodeError:
        return False
    matched = False
    for secret in secrets.secrets():
        expected = hmac.new(secret, message, hashlib.sha256).hexdigest().encode("ascii")
        matched |= hmac.compare_digest(expected, given)
    return matched


def check_window(timestamp: float, now_s: float, tolerance_s: float) -> None:
    """Refuse a delivery stamped too far in the past (a replay) or in the future (pre-dated)."""
    if abs(now_s - timestamp) > tolerance_s:
        raise WebhookRejected("the delivery's timestamp is outside the accepted window", code="signature-stale")


def decode_json_object(raw_body: bytes) -> dict[str, Any]:
    try:
        event = msgspec.json.decode(raw_body)
    except msgspec.DecodeError:
        raise WebhookRejected("the body is not JSON", code="webhook-malformed") from None
    if not isinstance(event, dict):
        raise WebhookRejected("the body is not a JSON object", code="webhook-malformed")
    return event


def first_delivery(uow: UnitOfWork, event: VerifiedEvent) -> bool:
    """Record the delivery in this unit of work; False when it was seen before. Call it in the
    same transaction as the event's effect, so the two commit (or roll back) together."""
    return uow.payments.record_provider_event(event.provider, event.event_id, event.ref, uow.now)
