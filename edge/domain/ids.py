"""Identifiers and timestamps.

Pure standard library, so the domain, use cases and adapters share one definition.
UUIDv7 (RFC 9562) is time-ordered, so outbox ids and primary keys index well and sort by
creation. Python 3.11's `uuid` module has no uuid7, hence this small generator.
"""

from __future__ import annotations

import os
import threading
import time
from datetime import UTC, datetime

_lock = threading.Lock()
_last_ms = 0
_counter = 0

# Randomness is read from the OS in blocks and handed out 8 bytes at a time, under the lock: one
# getrandom call per 512 ids instead of one or two per id (a checkout mints about nine). A forked
# child drops the parent's block, so parent and child never hand out the same bytes.
_BLOCK = 4096
_pool = b""
_at = _BLOCK


def _random8() -> int:
    """Eight fresh random bytes as an int; call with `_lock` held."""
    global _pool, _at
    if _at >= len(_pool):
        _pool, _at = os.urandom(_BLOCK), 0
    at = _at
    _at = at + 8
    return int.from_bytes(_pool[at:at + 8], "big")


def _forget_randomness() -> None:
    global _pool, _at
    _pool, _at = b"", _BLOCK


os.register_at_fork(after_in_child=_forget_randomness)


def uuid7() -> str:
    global _last_ms, _counter
    with _lock:
        ms = time.time_ns() // 1_000_000
        random = _random8()
        if ms <= _last_ms:
            # Same millisecond (or a clock step back): keep order with a 12-bit counter.
            ms = _last_ms
            _counter += 1
            if _counter > 0xFFF:
                ms += 1
                _counter = 0
        else:
            _counter = _random8() & 0x3FF
        _last_ms = ms
        rand_a = _counter
    rand_b = random & ((1 << 62) - 1)
    value = (ms & ((1 << 48) - 1)) << 80 | 0x7 << 76 | rand_a << 64 | 0b10 << 62 | rand_b
    # Formatting the hex directly is several times cheaper than building a uuid.UUID first, and
    # a checkout mints about ten of these.
    h = f"{value:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def utc_now() -> datetime:
    return datetime.now(UTC)


def iso(dt: datetime) -> str:
    """UTC ISO 8601 with milliseconds and a trailing Z: sorts correctly as text."""
    return dt.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"


def now_iso() -> str:
    return iso(utc_now())


def parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
