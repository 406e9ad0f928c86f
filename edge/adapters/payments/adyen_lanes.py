"""One Adyen terminal per lane: the `PaymentTerminal` a store with several card lanes uses.

Each payment goes to the terminal of its order's lane (`payments.adyen_lanes`), or to the
store's default terminal (`adyen_terminal_url` / `adyen_poiid`) for a lane without its own. A
void, a refund or a status inquiry goes to the terminal of the lane that took the payment, so
the question reaches the terminal that holds the answer; display notifications are routed by
the POIID in their header.
"""

from __future__ import annotations

from typing import Any

from edge.adapters.payments.adyen_terminal import AdyenTerminal, Lookup
from edge.service.payment_ports import TerminalOutcome


class AdyenLaneTerminals:
    def __init__(self, by_lane: dict[str, AdyenTerminal], default: AdyenTerminal | None, lane_of: Lookup) -> None:
        if not by_lane and default is None:
            raise ValueError("no Adyen terminal configured")
        self.by_lane = by_lane
        self.default = default
        self.lane_of = lane_of
        unique = {id(t): t for t in [*by_lane.values(), *([default] if default else [])]}
        self.terminals: list[AdyenTerminal] = list(unique.values())
        self.notify_username = "adyen-terminal"
        self.notify_password: str | None = None

    async def _for(self, ref: str) -> AdyenTerminal:
        lane = await self.lane_of(ref)
        return self.by_lane.get(lane or "") or self.default or self.terminals[0]

    async def sale(self, ref: str, amount_cents: int, currency: str) -> TerminalOutcome:
        return await (await self._for(ref)).sale(ref, amount_cents, currency)

    async def void(self, ref: str) -> TerminalOutcome:
        return await (await self._for(ref)).void(ref)

    async def refund(self, ref: str, original_ref: str, amount_cents: int, currency: str) -> TerminalOutcome:
        return await (await self._for(ref)).refund(ref, original_ref, amount_cents, currency)

    async def last(self, ref: str) -> TerminalOutcome:
        return await (await self._for(ref)).last(ref)

    async def abort(self, ref: str) -> bool:
        return await (await self._for(ref)).abort(ref)

    async def diagnose(self) -> dict[str, Any]:
        """Every terminal's diagnosis; `ok` only if all are."""
        results = [await t.diagnose() for t in self.terminals]
        return {"ok": all(r["ok"] for r in results), "terminals": results,
                "detail": "; ".join(f"{r['poiid']}: {r['detail']}" for r in results)}

    def terminal(self, device_id: str) -> AdyenTerminal | None:
        return next((t for t in self.terminals if t.device_id == device_id), None)

    def on_display(self, message: dict[str, Any]) -> str | None:
        poiid = str(((message.get("SaleToPOIRequest") or {}).get("MessageHeader") or {}).get("POIID") or "")
        terminal = next((t for t in self.terminals if t.poiid == poiid), None)
        return terminal.on_display(message) if terminal is not None else None

    async def close(self) -> None:
        for terminal in self.terminals:
            await terminal.close()
