"""No card number gets into HQ through a request body: the cloud's twin of the store server's
`before_request` step (PCI, DESIGN §6). HQ commands travel to every store, so a product name
holding a card number would otherwise end up in each store's database."""

from __future__ import annotations

from typing import Any

from litestar import Request

from edge.contracts.pan import REFUSAL, request_body_card_number_fields

_BODYLESS = frozenset({"GET", "HEAD", "OPTIONS", "DELETE"})


class CardNumberInRequest(Exception):
    def __init__(self, fields: list[str]):
        super().__init__(REFUSAL)
        self.errors: list[dict[str, Any]] = [{"field": f or "body", "message": "looks like a card number"}
                                             for f in fields]


async def refuse_card_numbers(request: Request) -> None:
    if request.method in _BODYLESS:
        return
    fields = request_body_card_number_fields(await request.body(), request.headers.get("content-type", ""))
    if fields:
        raise CardNumberInRequest(fields)
