"""The sales `PaymentTerminal` port on top of the hardware hub's lane terminals.

The port speaks of payment references only; the hub needs a lane. The reference is the
payment row's id, committed before any call, so its lane is looked up from the order it
belongs to. A refund therefore runs on the original sale's lane terminal.

How hub results become port outcomes (`edge.service.payment_ports`):

    hub status                         port status   why
    approved / partial / declined      the same
    voided, reversed                   reversed      nothing stays charged
    refunded                           approved      the refund went through
    not_found                          not_found
    timeout, charged=None or True      timeout       unknown (or charged and not reversed): the
                                                     processor asks `last(ref)`, never sells again
    timeout, charged=False (sale)      not_found     the hub checked: the card was not charged
    unavailable (sale)                 not_found     provably never delivered: fail fast, the
                                                     customer is waiting at the counter
    unavailable / error (otherwise)    timeout       keep it in flight; recovery asks again later
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import structlog

from edge.service.payment_ports import TerminalOutcome
from hardware.errors import HardwareError, UnknownLane
from hardware.models import TerminalResult

log = structlog.get_logger()

LaneOf = Callable[[str], Awaitable[str | None]]

_DIRECT = {"approved": "approved", "partial": "partial", "declined": "declined", "not_found": "not_found",
           "voided": "reversed", "reversed": "reversed", "refunded": "approved"}


def outcome_of(result: TerminalResult, *, sale: bool = False) -> TerminalOutcome:
    status = _DIRECT.get(result.status)
    if status is None:
        never_charged = result.status == "unavailable" or (result.status == "timeout" and result.charged is False)
        status = "not_found" if sale and never_charged else "timeout"
    return TerminalOutcome(
        status=status, ref=result.ref, approved_cents=result.approved_cents if status in ("approved", "partial") else 0,
        auth_code=result.auth_code or None, card_brand=result.brand or None, card_last4=result.last4 or None,
        entry_mode=result.entry_mode or None, processor_ref=result.processor_ref or None,
        message=result.message or None)


class HubTerminal:
    """`PaymentTerminal` for the lane of each payment, through `HardwareHub` or its remote twin."""

    def __init__(self, hub: Any, lane_of: LaneOf) -> None:
        self.hub = hub
        self.lane_of = lane_of

    async def sale(self, ref: str, amount_cents: int, currency: str) -> TerminalOutcome:
        lane = await self._lane(ref)
        if lane is None:
            return TerminalOutcome(status="not_found", ref=ref, message="this lane has no payment terminal")
        try:
            result = await self.hub.terminal_sale(lane, ref, amount_cents, currency)
        except UnknownLane:
            return TerminalOutcome(status="not_found", ref=ref, message=f"lane {lane} has no payment terminal")
        except HardwareError as err:
            # The hub itself is unreachable (remote mode): the SALE may or may not have left it.
            log.warning("terminal.hub_error", ref=ref, error=str(err))
            return TerminalOutcome(status="timeout", ref=ref, message=str(err))
        return outcome_of(result, sale=True)

    async def void(self, ref: str) -> TerminalOutcome:
        return await self._safe(ref, lambda lane: self.hub.terminal_void(lane, ref))

    async def refund(self, ref: str, original_ref: str, amount_cents: int, currency: str) -> TerminalOutcome:
        return await self._safe(ref, lambda lane: self.hub.terminal_refund(lane, ref, amount_cents, currency))

    async def last(self, ref: str) -> TerminalOutcome:
        return await self._safe(ref, lambda lane: self.hub.terminal_last(lane, ref))

    async def _safe(self, ref: str, call: Callable[[str], Awaitable[TerminalResult]]) -> TerminalOutcome:
        """Void, refund and last: any doubt stays `timeout`, so recovery asks again later."""
        lane = await self._lane(ref)
        if lane is None:
            return TerminalOutcome(status="timeout", ref=ref, message="no lane terminal for this payment")
        try:
            return outcome_of(await call(lane))
        except HardwareError as err:
            log.warning("terminal.hub_error", ref=ref, error=str(err))
            return TerminalOutcome(status="timeout", ref=ref, message=str(err))

    async def _lane(self, ref: str) -> str | None:
        return await self.lane_of(ref)
