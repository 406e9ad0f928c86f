"""The event envelope every outbox row carries, and the NATS subject scheme (ARCHITECTURE.md, "Events and subjects").

`event_id` is a UUIDv7 string: it is the outbox key, the `Nats-Msg-Id` header and the cloud's
primary key, so one fact keeps one identity from the store's disk to HQ's database.
`payload` is a plain mapping (JSON object) whose shape is fixed per `type` and `schema_version`
by the Structs in `edge.contracts.events`; keeping the envelope generic lets the relay and
the cloud's raw store handle event types they do not know yet.
"""

from __future__ import annotations

import functools
from typing import Any

import msgspec

SCHEMA_VERSION = 1


class EventEnvelope(msgspec.Struct, frozen=True, kw_only=True):
    event_id: str
    tenant_id: str
    store_id: str
    seq: int
    type: str
    occurred_at: str  # ISO 8601, UTC, with a trailing "Z"
    business_day: str  # YYYY-MM-DD in the store's time zone and day-start hour
    payload: dict[str, Any]
    schema_version: int = SCHEMA_VERSION


_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(EventEnvelope)


def encode_envelope(envelope: EventEnvelope) -> bytes:
    return _encoder.encode(envelope)


def decode_envelope(data: bytes) -> EventEnvelope:
    return _decoder.decode(data)


def _token(value: str) -> str:
    # NATS subject tokens may not contain '.', '*', '>' or whitespace.
    cleaned = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in value)
    return cleaned or "_"


def subject_for_event(tenant_id: str, store_id: str, event_type: str) -> str:
    """Up subject (store → cloud): novapos.<tenant>.<store>.evt.<type>."""
    return f"novapos.{_token(tenant_id)}.{_token(store_id)}.evt.{event_type}"


def subject_for_command(tenant_id: str, store_id: str | None, command_type: str) -> str:
    """Down subject (HQ → store); `store_id=None` addresses every store of the tenant."""
    target = _token(store_id) if store_id else "all"
    return f"novapos.{_token(tenant_id)}.{target}.cmd.{command_type}"


def stream_name(tenant_id: str, store_id: str) -> str:
    """The store's event stream. It carries the tenant as well as the store, so a store id
    reused by another tenant can never name (and so never be sourced as) this store's stream."""
    return f"NOVAPOS_{_token(tenant_id).upper()}_{_token(store_id).upper()}"


def legacy_stream_name(store_id: str) -> str:
    """The store stream's name before it carried the tenant; still read where it exists."""
    return f"NOVAPOS_{_token(store_id).upper()}"


def inbox_durable(tenant_id: str, store_id: str) -> str:
    """The store's durable consumer on its tenant's command stream."""
    return f"inbox_{_token(tenant_id)}_{_token(store_id)}"


def inbox_prefix(tenant_id: str, store_id: str) -> str:
    """The store's private reply-subject prefix: its NATS user may subscribe only below it,
    so no store can read another store's PubAcks or fetched commands."""
    return f"_INBOX.{_token(tenant_id)}.{_token(store_id)}"


def parse_event_subject(subject: str) -> tuple[str, str] | None:
    """(tenant token, store token) of an up subject, or None when it is not one."""
    parts = subject.split(".", 4)
    if len(parts) < 5 or parts[0] != "novapos" or parts[3] != "evt":
        return None
    return parts[1], parts[2]


def subject_matches(subject: str, tenant_id: str, store_id: str) -> bool:
    """True when an up subject belongs to exactly this tenant and store."""
    if len(tenant_id) + len(store_id) <= 128:  # ids as stores have them: cached (ingest asks per event)
        return parse_event_subject(subject) == _tokens(tenant_id, store_id)
    return parse_event_subject(subject) == (_token(tenant_id), _token(store_id))


@functools.lru_cache(maxsize=4096)
def _tokens(tenant_id: str, store_id: str) -> tuple[str, str]:
    return _token(tenant_id), _token(store_id)


def command_stream_name(tenant_id: str) -> str:
    """The tenant's command stream on the hub (HQ → stores). Cloud publisher and store inbox share it."""
    return f"NOVAPOS_CMD_{_token(tenant_id).upper()}"


def command_stream_subjects(tenant_id: str) -> list[str]:
    """What that stream captures: every down subject of the tenant (one store or `all`)."""
    return [f"novapos.{_token(tenant_id)}.*.cmd.>"]
