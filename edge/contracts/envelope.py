"""The event envelope every outbox row carries, and the NATS subject scheme (ARCHITECTURE.md, "Events and subjects").

`event_id` is a UUIDv7 string: it is the outbox key, the `Nats-Msg-Id` header and the cloud's
primary key, so one fact keeps one identity from the store's disk to HQ's database.
`payload` is a plain mapping (JSON object) whose shape is fixed per `type` and `schema_version`
by the Structs in `edge.contracts.events`; keeping the envelope generic lets the relay and
the cloud's raw store handle event types they do not know yet.
"""

from __future__ import annotations

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


def stream_name(store_id: str) -> str:
    return f"NOVAPOS_{_token(store_id).upper()}"


def command_stream_name(tenant_id: str) -> str:
    """The tenant's command stream on the hub (HQ → stores). Cloud publisher and store inbox share it."""
    return f"NOVAPOS_CMD_{_token(tenant_id).upper()}"


def command_stream_subjects(tenant_id: str) -> list[str]:
    """What that stream captures: every down subject of the tenant (one store or `all`)."""
    return [f"novapos.{_token(tenant_id)}.*.cmd.>"]
