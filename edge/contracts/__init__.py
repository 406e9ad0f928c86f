"""Wire schemas shared by the edge and the cloud.

Only msgspec is imported here: the cloud depends on this package and nothing else from `edge`.
Schemas only grow: new fields go last and carry defaults, so an old payload still decodes.
"""

from edge.contracts.envelope import (
    SCHEMA_VERSION,
    EventEnvelope,
    decode_envelope,
    encode_envelope,
    stream_name,
    subject_for_command,
    subject_for_event,
)

__all__ = [
    "SCHEMA_VERSION",
    "EventEnvelope",
    "decode_envelope",
    "encode_envelope",
    "stream_name",
    "subject_for_command",
    "subject_for_event",
]
