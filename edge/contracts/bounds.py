"""Bounds that every input crossing the wire shares, on the store server and in the cloud.

A request Struct declares its bounds with these types, so a value out of range is refused by
the decoder with a field-level 400 before any handler runs, and the OpenAPI document shows the
same bounds to clients. The cloud imports them from here (it may import `edge.contracts` and
nothing else from `edge`); the store's business limits live in `edge.domain` and
`edge/api/limits.py` builds the edge's request types from those.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

import msgspec

# A request body nested deeper than this is refused before decoding. Real bodies nest about
# five levels (order → lines → line); msgspec and json recurse in C and give up at about a
# thousand, with a RecursionError rather than a decode error.
MAX_JSON_DEPTH = 32

# Python's `$` also matches before a trailing newline, so "name\n" would pass `^…$`; the
# lookahead closes that hole while staying a valid ECMA pattern for the OpenAPI document.
_END = r"(?!\n)$"
# C0 controls, DEL and C1 controls: NUL truncates C strings, the others corrupt receipts,
# CSV exports and log lines.
_CONTROL = r"\x00-\x1f\x7f-\x9f"

MAX_ID_LENGTH = 64
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]*" + _END
SafeId = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_ID_LENGTH, pattern=ID_PATTERN,
                                     description="letters, digits and . _ : - (starting with a letter or digit)")]
"""A client-chosen identifier: store, lane, order reference, transfer id."""

LINE_PATTERN = rf"^[^{_CONTROL}]*{_END}"
TEXT_PATTERN = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$"


def line(max_length: int, *, min_length: int = 1) -> Any:
    """One line of stored text without control characters, e.g. a name: `name: line(200)`."""
    return Annotated[str, msgspec.Meta(min_length=min_length, max_length=max_length, pattern=LINE_PATTERN,
                                       description="one line of text without control characters")]


def text(max_length: int, *, min_length: int = 0) -> Any:
    """Stored free text (a reason, a note): line breaks and tabs allowed, other controls not."""
    return Annotated[str, msgspec.Meta(min_length=min_length, max_length=max_length, pattern=TEXT_PATTERN,
                                       description="text without control characters other than line breaks")]


Sku = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._/-]*" + _END,
                                  description="letters, digits and . _ / - (starting with a letter or digit)")]

MAX_NAME_LENGTH = 200
MAX_NOTE_LENGTH = 1000
Name = line(MAX_NAME_LENGTH)
"""A stored one-line name: product, user, store, assignee."""
Note = text(MAX_NOTE_LENGTH)
"""A stored free-text field: a reason, a note, a resolution."""

# The same caps as the store's domain (`edge.domain.pricing.MAX_LINE_QUANTITY`,
# `edge.domain.money.MAX_AMOUNT_CENTS`) for what HQ sends down to a store; a test keeps them equal.
MAX_LINE_QUANTITY = 10_000
Quantity = Annotated[int, msgspec.Meta(ge=1, le=MAX_LINE_QUANTITY)]

_BRACKETS = re.compile(rb"[\[\]{}]")
_STRINGS = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')


def json_depth_exceeds(raw: bytes | str, limit: int = MAX_JSON_DEPTH) -> bool:
    """True when the JSON text nests arrays and objects deeper than `limit`.

    Runs on the raw bytes before any decoder sees them; brackets inside strings do not count.
    """
    data = raw.encode() if isinstance(raw, str) else raw
    if data.count(b"[") + data.count(b"{") <= limit:
        return False  # the common case: too few brackets to be deep
    depth = 0
    for match in _BRACKETS.finditer(_STRINGS.sub(b'""', data)):
        if match.group() in (b"[", b"{"):
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False
