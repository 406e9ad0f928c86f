"""Payment ports: a semi-integrated card terminal and a hosted-charge provider (crypto).

Both are keyed by *our* reference, the payment row's id, which is committed before any call.
That is what makes a lost answer recoverable: ask `last(ref)` / `query(ref)` about the same
reference; never send a second sale. Amounts are integer minor units; no card data crosses
these ports (only the last 4 digits, brand, entry mode, auth code and processor reference).

    TerminalOutcome.status:
        approved            the full amount was approved
        partial             less than asked was approved (`approved_cents`)
        declined            nothing was charged
        timeout             no answer: the outcome is unknown until `last(ref)` says
        not_found           (`last` only) the terminal never saw this reference
        reversed            (`void` / `last`) the sale was reversed
"""

from __future__ import annotations

from typing import Any, Protocol

import msgspec


class TerminalOutcome(msgspec.Struct, frozen=True, kw_only=True):
    status: str
    ref: str
    approved_cents: int = 0
    auth_code: str | None = None
    card_brand: str | None = None
    card_last4: str | None = None
    entry_mode: str | None = None
    processor_ref: str | None = None
    message: str | None = None
    # Why a card was declined or never charged, in `edge.service.card_outcomes`' words
    # (insufficient_funds, terminal_busy, ...); the lane's guidance follows from it.
    reason: str | None = None
    signature_required: bool = False  # approved, but the customer must sign the receipt
    fallback: bool = False  # the chip could not be read and the card was swiped instead


class PaymentTerminal(Protocol):
    """A semi-integrated card terminal. The hardware hub's driver implements this too."""

    async def sale(self, ref: str, amount_cents: int, currency: str) -> TerminalOutcome: ...

    async def void(self, ref: str) -> TerminalOutcome:
        """Reverse the sale made under `ref` (same day, before settlement)."""
        ...

    async def refund(self, ref: str, original_ref: str, amount_cents: int, currency: str) -> TerminalOutcome: ...

    async def last(self, ref: str) -> TerminalOutcome:
        """What happened to the transaction under `ref`; `not_found` if it never arrived."""
        ...


class TerminalControls(Protocol):
    """What a terminal that runs on the LAN can do besides the port: stop a payment it is
    waiting on (its answer then says how it ended) and report its own diagnosis."""

    async def abort(self, ref: str) -> bool: ...

    async def diagnose(self) -> dict[str, Any]: ...


class HostedCharge(msgspec.Struct, frozen=True, kw_only=True):
    charge_id: str
    ref: str
    status: str  # pending | confirmed | expired | failed | refunded
    amount_cents: int
    checkout_url: str | None = None
    expires_at: str | None = None
    payment_link: str | None = None  # what the customer's wallet opens (e.g. a bitcoin: URI)
    provider_status: str | None = None  # the provider's own words (e.g. "Processing"), for the lane
    received_cents: int = 0  # what has arrived so far, whatever the status (a late payment too)


class HostedChargeProvider(Protocol):
    """A hosted charge (crypto checkout). Confirmation arrives by a signed callback (verified by
    `edge.service.incoming_webhooks` with the provider's own verifier), and can always be
    recovered by `query`."""

    name: str

    async def create_charge(self, ref: str, amount_cents: int, currency: str) -> HostedCharge: ...

    async def query(self, ref: str) -> HostedCharge | None: ...

    async def refund(self, ref: str, amount_cents: int, *, refund_ref: str | None = None) -> HostedCharge:
        """Pay `amount_cents` of the charge made under `ref` back; `refund_ref` (the refund row's
        id) makes a repeated call find the refund it already made instead of a second one."""
        ...

    async def cancel(self, ref: str) -> HostedCharge | None:
        """Withdraw an unpaid charge so nothing can be paid to it; returns its state afterwards
        (a charge already paid stays paid: the caller records that instead)."""
        ...

    async def close(self) -> None: ...
