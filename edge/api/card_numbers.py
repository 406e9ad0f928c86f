"""No card number gets in through a request body (PCI, DESIGN §6).

One step in the request pipeline, registered once as the app's `before_request` hook, so every
route is covered without each body Struct naming it: after the guards and before the body is
decoded into the route's Struct, any JSON or CSV body holding a card number in any field is
refused with a 422 (`card-number-rejected`) that names the field and never echoes the number.
Nothing has been stored, logged or queued for replication at that point.

Product codes (barcodes, SKUs) that are valid GTINs and secrets (passwords, PINs) are exempt;
see `edge.contracts.pan`.
"""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import msgspec
from litestar import Request

from edge.contracts.pan import CODE_FIELDS, card_number_fields, looks_like_card_number, may_hold_card_number
from edge.domain.errors import CardNumberRejected

_BODYLESS = frozenset({"GET", "HEAD", "OPTIONS", "DELETE"})
_CODE_LIST = re.compile(r"[|;,]")


async def refuse_card_numbers(request: Request) -> None:
    if request.method in _BODYLESS:
        return
    body = await request.body()  # Litestar keeps it: the route's data is decoded from this copy
    if not body or not may_hold_card_number(body):
        return
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "text/csv":
        fields = _csv_fields(body)
    else:
        try:
            decoded = msgspec.json.decode(body)
        except msgspec.DecodeError:
            return  # not JSON: the route's own decoding answers with a 400
        fields = card_number_fields(decoded)
    if fields:
        raise CardNumberRejected(
            "a field looks like a card number; NovaPOS never accepts card numbers (use the payment terminal), "
            "remove it and send the request again",
            errors=[{"field": f or "body", "message": "looks like a card number"} for f in fields])


def _csv_fields(body: bytes) -> list[str]:
    """`row N column` for each CSV cell holding a card number (the header is row 1)."""
    text = body.decode("utf-8-sig", errors="replace")
    found = []
    try:
        reader = csv.reader(io.StringIO(text))
        header = []
        for index, name in enumerate(h.strip() for h in next(reader, [])):
            if looks_like_card_number(name):
                found.append(f"row 1 column {index + 1}")
                name = f"column {index + 1}"
            header.append(name)
        for row_number, row in enumerate(reader, start=2):
            for index, cell in enumerate(row):
                name = header[index] if index < len(header) else f"column {index + 1}"
                value: Any = _CODE_LIST.split(cell) if name.lower() in CODE_FIELDS else cell
                if card_number_fields({name: value}):
                    found.append(f"row {row_number} {name}")
    except csv.Error:
        return found  # a malformed file: the import itself says what is wrong
    return found
