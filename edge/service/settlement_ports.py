"""What a payment provider reports it settled, for the daily reconciliation.

A `SettlementSource` answers for one provider and one tender method: the captures and refunds it
holds in a window of time, each under *our* reference (the payment row's id, which every
provider is given), so the store's rows and the provider's can be matched one by one. Items the
provider cannot date (`at` is None: a terminal's journal, BTCPay's pull payments) count for the
day when their reference is one of the day's payments.

Implemented by `edge.adapters.settlement_sources` for BTCPay and the simulated terminal, and by
`edge.adapters.payments.adyen_settlement` for Adyen's Settlement details report. A source may
also say `settles_after_days`: how long after a business day its figures can hold the day, which
is when the daily run asks.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

import msgspec


class SettlementItem(msgspec.Struct, frozen=True, kw_only=True):
    ref: str  # our payment id
    kind: str  # "capture" | "refund"
    amount_cents: int
    provider_ref: str | None = None
    at: str | None = None  # when the provider recorded it (UTC ISO 8601), if it says


class SettlementFigures(msgspec.Struct, frozen=True, kw_only=True):
    provider: str
    items: list[SettlementItem]


class SettlementSource(Protocol):
    provider: str  # "btcpay", "simulated-terminal", …
    method: str  # the tender method it settles: "crypto", "card"

    async def settlement(self, start: datetime, end: datetime) -> SettlementFigures:
        """What the provider holds for [start, end); raises ConnectionError when it cannot say."""
        ...
