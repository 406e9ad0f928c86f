"""An in-process card terminal for tests and for stores without terminal hardware.

Outcomes are scripted: `script` is consumed one entry per SALE (then `default` applies):

    "approved" | "declined" | "partial:<cents>"   the answer
    "timeout"        the terminal *does* approve, but the answer is lost (the dangerous case)
    "timeout_declined"  the answer is lost and the sale was declined
    "unreachable"    the request never arrives (the terminal knows nothing of the ref)

`reversal` scripts voids and refunds the same way: "approved" (the default) or "declined"
(the processor refuses to give the money back, e.g. the card account is closed). A default of
"reversal_declined" approves sales and declines every reversal, for a store rehearsing that case.

It remembers every transaction by reference, like a real terminal's journal, so `last(ref)`
answers the way recovery needs; `sales_sent` counts SALE requests per ref, which tests use to
prove that nothing is charged twice.
"""

from __future__ import annotations

import asyncio
from collections import Counter

from edge.service.payment_ports import TerminalOutcome


class SimulatedTerminal:
    def __init__(self, *, default: str = "approved", script: list[str] | None = None, delay_s: float = 0.0,
                 lost_reply_after_s: float = 0.05, reversal: str = "approved"):
        if default == "reversal_declined":
            default, reversal = "approved", "declined"
        self.default = default
        self.reversal = reversal
        self.script = list(script or [])
        self.delay_s = delay_s
        self.lost_reply_after_s = lost_reply_after_s
        self.journal: dict[str, TerminalOutcome] = {}
        self.sales_sent: Counter[str] = Counter()
        self.reachable = True
        self._seq = 0

    def _auth(self) -> str:
        self._seq += 1
        return f"A{self._seq:05d}"

    def _card(self, ref: str, status: str, approved: int) -> TerminalOutcome:
        return TerminalOutcome(status=status, ref=ref, approved_cents=approved, auth_code=self._auth()
                               if approved else None, card_brand="VISA", card_last4="4242", entry_mode="chip",
                               processor_ref=f"SIM-{ref[-12:]}")

    async def sale(self, ref: str, amount_cents: int, currency: str) -> TerminalOutcome:
        if not self.reachable:
            raise ConnectionError("terminal unreachable")
        self.sales_sent[ref] += 1
        step = self.script.pop(0) if self.script else self.default
        await asyncio.sleep(self.delay_s)
        if step == "unreachable":
            raise ConnectionError("terminal unreachable")
        if step.startswith("partial:"):
            outcome = self._card(ref, "partial", min(int(step.split(":", 1)[1]), amount_cents))
        elif step in ("declined", "timeout_declined"):
            outcome = TerminalOutcome(status="declined", ref=ref, message="insufficient funds")
        else:
            outcome = self._card(ref, "approved", amount_cents)
        self.journal.setdefault(ref, outcome)
        if step.startswith("timeout"):
            await asyncio.sleep(self.lost_reply_after_s)
            raise TimeoutError("the terminal's answer was lost")
        return self.journal[ref]

    async def void(self, ref: str) -> TerminalOutcome:
        original = self.journal.get(ref)
        if original is None:
            return TerminalOutcome(status="not_found", ref=ref)
        if self.reversal == "declined":
            return TerminalOutcome(status="declined", ref=ref, message="reversal refused by the processor")
        reversed_ = TerminalOutcome(status="reversed", ref=ref, processor_ref=original.processor_ref)
        self.journal[ref] = reversed_
        return reversed_

    async def refund(self, ref: str, original_ref: str, amount_cents: int, currency: str) -> TerminalOutcome:
        if original_ref not in self.journal:
            return TerminalOutcome(status="declined", ref=ref, message="unknown original transaction")
        if self.reversal == "declined":
            return TerminalOutcome(status="declined", ref=ref, message="refund refused by the processor")
        outcome = TerminalOutcome(status="approved", ref=ref, approved_cents=amount_cents, auth_code=self._auth(),
                                  processor_ref=f"SIM-R-{ref[-12:]}")
        self.journal.setdefault(ref, outcome)
        return self.journal[ref]

    async def last(self, ref: str) -> TerminalOutcome:
        if not self.reachable:
            raise ConnectionError("terminal unreachable")
        return self.journal.get(ref) or TerminalOutcome(status="not_found", ref=ref)
