"""A semi-integrated payment terminal with fault injection.

It keeps a ledger of every charge it made, so a test can prove a sale was charged exactly
once. Faults are queued with ``inject`` and apply to the next SALE or REFUND:

- ``decline``: DECLINED, nothing charged;
- ``partial``: PARTIAL, half the amount charged;
- ``timeout``: ACKs the frame, then never answers (the customer walked away; not charged);
- ``drop_reply``: approves and charges, then the reply is lost on the way back;
- ``nak``: NAKs the next frame as if its LRC were wrong (tests the host's retransmission).
"""

from __future__ import annotations

import itertools
from collections import Counter, deque

import msgspec

from hardware.codecs import terminal as codec

FAULTS = ("decline", "partial", "timeout", "drop_reply", "nak")


class Charge(msgspec.Struct):
    ref: str
    status: str  # APPROVED | PARTIAL | REFUNDED
    requested_cents: int
    approved_cents: int
    currency: str
    auth_code: str
    reversed: bool = False


class TerminalModel:
    def __init__(self, name: str = "SIM-TERM 1.0", signature_over_cents: int = 10_000) -> None:
        self.name = name
        self.signature_over_cents = signature_over_cents
        self.masked_pan = "************4242"
        self.brand = "VISA"
        self.charges: dict[str, Charge] = {}
        self.sale_frames: Counter[str] = Counter()  # how many SALE frames were processed per ref
        self.received: list[list[str]] = []
        self._faults: deque[str] = deque()
        self._reader = codec.FrameReader()
        self._auth = itertools.count(100_001)

    def inject(self, fault: str, times: int = 1) -> None:
        if fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}; known: {', '.join(FAULTS)}")
        self._faults.extend([fault] * times)

    def charged_total(self, ref: str) -> int:
        charge = self.charges.get(ref)
        return 0 if charge is None or charge.reversed else charge.approved_cents

    # --- the wire ---
    def receive(self, data: bytes) -> bytes:
        out = bytearray()
        for item in self._reader.feed(data):
            if isinstance(item, codec.BadFrame):
                out.append(codec.NAK)
            elif isinstance(item, codec.Frame):
                if self._faults and self._faults[0] == "nak":
                    self._faults.popleft()
                    out.append(codec.NAK)
                    continue
                out.append(codec.ACK)
                self.received.append(item.fields)
                out += self._handle(item.fields)
        return bytes(out)

    def _handle(self, fields: list[str]) -> bytes:
        kind, args = fields[0], fields[1:]
        if kind in ("SALE", "REFUND") and len(args) == 3:
            return self._money(kind, args[0], int(args[1]), args[2])
        if kind == "VOID" and len(args) == 1:
            return self._void(args[0])
        if kind == "LAST" and len(args) == 1:
            return self._last(args[0])
        if kind == "DIAG":
            return self._result(codec.TerminalReply(ref="", status="OK", message=f"{self.name} link ok"))
        return self._result(codec.TerminalReply(ref=args[0] if args else "", status="ERROR",
                                                message=f"unknown request {kind}"))

    def _money(self, kind: str, ref: str, amount: int, currency: str) -> bytes:
        if kind == "SALE":
            self.sale_frames[ref] += 1
        fault = self._faults.popleft() if self._faults else None
        prompts = self._prompt(ref, "INSERT CARD")
        if fault == "timeout":
            return prompts
        if fault == "decline":
            return prompts + self._result(codec.TerminalReply(
                ref=ref, status="DECLINED", requested_cents=amount, currency=currency,
                message="DECLINED BY ISSUER"))
        approved = amount // 2 if fault == "partial" and kind == "SALE" else amount
        status = "REFUNDED" if kind == "REFUND" else "PARTIAL" if approved < amount else "APPROVED"
        auth = f"{next(self._auth):06d}"
        # A second SALE with the same ref charges again, as many real terminals do. The
        # simulator counts it so a test catches a host that sends a sale twice.
        key = ref if kind == "SALE" else f"refund:{ref}"
        self.charges[key] = Charge(ref=ref, status=status, requested_cents=amount,
                                   approved_cents=approved, currency=currency, auth_code=auth)
        if amount >= self.signature_over_cents and kind == "SALE":
            prompts += self._prompt(ref, "SIGNATURE REQUIRED")
        if fault == "drop_reply":
            return prompts
        return prompts + self._charge_result(self.charges[key])

    def _void(self, ref: str) -> bytes:
        charge = self.charges.get(ref)
        if charge is None:
            return self._result(codec.TerminalReply(ref=ref, status="NOT_FOUND", message="NO SUCH SALE"))
        charge.reversed = True
        return self._result(codec.TerminalReply(
            ref=ref, status="VOIDED", requested_cents=charge.requested_cents,
            approved_cents=charge.approved_cents, currency=charge.currency, auth_code=charge.auth_code,
            brand=self.brand, message="REVERSED"), self.masked_pan)

    def _last(self, ref: str) -> bytes:
        charge = self.charges.get(ref)
        if charge is None:
            return self._result(codec.TerminalReply(ref=ref, status="NOT_FOUND", message="NO SUCH SALE"))
        return self._charge_result(charge)

    def _charge_result(self, charge: Charge) -> bytes:
        status = "VOIDED" if charge.reversed else charge.status
        return self._result(codec.TerminalReply(
            ref=charge.ref, status=status, requested_cents=charge.requested_cents,
            approved_cents=charge.approved_cents, currency=charge.currency, auth_code=charge.auth_code,
            brand=self.brand, entry_mode="CHIP", processor_ref=f"P{charge.auth_code}",
            message=status), self.masked_pan)

    def _prompt(self, ref: str, text: str) -> bytes:
        return codec.encode_frame(["PRM", ref, text])

    def _result(self, reply: codec.TerminalReply, masked_pan: str = "") -> bytes:
        return codec.encode_frame(codec.encode_result(reply, masked_pan))
