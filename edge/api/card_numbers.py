"""No card number gets in through a request body (PCI, DESIGN §6).

One step in the request pipeline, registered once as the app's `before_request` hook, so every
route is covered without each body Struct naming it: after the guards and before the body is
decoded into the route's Struct, any JSON or CSV body holding a card number in any field is
refused with a 422 (`card-number-rejected`) that names the field and never echoes the number.
Nothing has been stored, logged or queued for replication at that point.

Product codes (barcodes, SKUs) that are valid GTINs and secrets (passwords, PINs) are exempt;
see `edge.contracts.pan`, which the cloud hub's own hook shares.
"""

from __future__ import annotations

import asyncio

from litestar import Request

from edge.adapters.child_process import in_child
from edge.contracts.pan import REFUSAL, request_body_card_number_fields
from edge.domain.errors import CardNumberRejected

_BODYLESS = frozenset({"GET", "HEAD", "OPTIONS", "DELETE"})
# Past this size the scan runs in a worker thread: every cell of a 100,000-row catalog CSV took
# seconds on the event loop, and every lane's request waited behind it.
OFF_LOOP_BYTES = 64 * 1024
# Past this size it runs in a child process: in a thread, a 10 MB catalog's scan still held the
# GIL the event loop needs for about a second (lanes' p99 over 100 ms meanwhile).
OFF_PROCESS_BYTES = 1024 * 1024


async def refuse_card_numbers(request: Request) -> None:
    if request.method in _BODYLESS:
        return
    body = await request.body()  # Litestar keeps it: the route's data is decoded from this copy
    content_type = request.headers.get("content-type", "")
    if len(body) > OFF_PROCESS_BYTES:
        fields = await in_child(request_body_card_number_fields, body, content_type)
    elif len(body) > OFF_LOOP_BYTES:
        fields = await asyncio.to_thread(request_body_card_number_fields, body, content_type)
    else:
        fields = request_body_card_number_fields(body, content_type)
    if fields:
        raise CardNumberRejected(REFUSAL, errors=[{"field": f or "body", "message": "looks like a card number"}
                                                  for f in fields])
