"""`SettlementSource`s: what BTCPay and the simulated terminal say they settled.

    BtcpaySettlement     invoices created in the window (Greenfield `GET …/invoices?startDate=&endDate=`,
                         paged), each counted for what was paid to it, whatever its status (money
                         that reached an expired or invalid invoice is still held by the store);
                         refunds are the pull payments NovaPOS named `NovaPOS refund <ref>` (they
                         carry no date, so they count on the day of their refund row)
    TerminalJournal      the simulated terminal's journal: approved sales and refunds by reference
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from edge.adapters.payments.btcpay import BtcpayProvider, to_cents
from edge.domain.ids import iso
from edge.service.settlement_ports import SettlementFigures, SettlementItem

REFUND_PREFIX = "NovaPOS refund "
PAGE = 100


class BtcpaySettlement:
    provider = "btcpay"
    method = "crypto"

    def __init__(self, btcpay: BtcpayProvider):
        self.btcpay = btcpay

    async def settlement(self, start: datetime, end: datetime) -> SettlementFigures:
        client = self.btcpay.client
        items: list[SettlementItem] = []
        skip = 0
        while True:
            page = await client.invoices(start_s=int(start.timestamp()), end_s=int(end.timestamp()) - 1,
                                         skip=skip, take=PAGE)
            for invoice in page:
                item = await self._capture(invoice)
                if item is not None:
                    items.append(item)
            if len(page) < PAGE:
                break
            skip += PAGE
        for pull in await client.pull_payments():
            name = str(pull.get("name") or "")
            if name.startswith(REFUND_PREFIX):
                items.append(SettlementItem(ref=name.removeprefix(REFUND_PREFIX), kind="refund",
                                            amount_cents=to_cents(pull.get("amount"), str(pull.get("currency") or "")),
                                            provider_ref=str(pull.get("id"))))
        return SettlementFigures(provider=self.provider, items=items)

    async def _capture(self, invoice: dict[str, Any]) -> SettlementItem | None:
        ref = (invoice.get("metadata") or {}).get("orderId")
        if not isinstance(ref, str) or invoice.get("status") == "New":
            return None
        charge = await self.btcpay.charge_of(invoice, ref)
        if charge.received_cents <= 0:
            return None
        created = invoice.get("createdTime")
        at = iso(datetime.fromtimestamp(created, UTC)) if isinstance(created, int | float) else None
        return SettlementItem(ref=ref, kind="capture", amount_cents=charge.received_cents,
                              provider_ref=charge.charge_id, at=at)


class TerminalJournal:
    """The simulated terminal keeps its journal in memory, undated: items count for the day of
    the payment rows they answer."""

    provider = "simulated-terminal"
    method = "card"

    def __init__(self, terminal: Any):
        self.terminal = terminal

    async def settlement(self, start: datetime, end: datetime) -> SettlementFigures:
        items = []
        for ref, outcome in self.terminal.journal.items():
            if outcome.status not in ("approved", "partial") or not outcome.approved_cents:
                continue
            refund = bool(outcome.processor_ref and outcome.processor_ref.startswith("SIM-R-"))
            items.append(SettlementItem(ref=ref, kind="refund" if refund else "capture",
                                        amount_cents=outcome.approved_cents, provider_ref=outcome.processor_ref))
        return SettlementFigures(provider=self.provider, items=items)
