"""Semi-integrated payment terminal driver.

Rules that keep money right:
- A frame the terminal NAKs was not accepted, so it is retransmitted (up to 3 retries).
- A SALE or REFUND that got no ACK or no reply is *never* sent again: the terminal may have
  charged the card. The outcome is recovered with LAST; an approval whose reply was lost is
  reversed with VOID (``lost_reply="reverse"``) or kept (``lost_reply="recover"``).
- VOID, LAST and DIAG are safe to repeat, so silence is retried for them.
- Only the last four digits of the card ever leave the codec.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import msgspec
import structlog

from hardware.codecs import terminal as codec
from hardware.errors import DeviceError, DeviceTimeout, DeviceUnavailable, ProtocolError
from hardware.models import TerminalResult
from hardware.transports.base import Transport

log = structlog.get_logger()

MAX_RETRIES = 3
PromptCallback = Callable[[str, str], Awaitable[None] | None]

_OUTCOME = {"APPROVED": "approved", "DECLINED": "declined", "PARTIAL": "partial", "VOIDED": "voided",
            "REFUNDED": "refunded", "NOT_FOUND": "not_found", "OK": "ok", "ERROR": "error"}


class _NotDelivered(DeviceError):
    """The request provably never reached the terminal (refused connection, NAK x4)."""


class TerminalDriver:
    def __init__(self, device_id: str, transport_factory: Callable[[], Transport],
                 ack_timeout: float = 1.0, reply_timeout: float = 60.0,
                 lost_reply: str = "reverse", on_prompt: PromptCallback | None = None) -> None:
        self.device_id = device_id
        self._transport_factory = transport_factory
        self.ack_timeout = ack_timeout
        self.reply_timeout = reply_timeout
        self.lost_reply = lost_reply
        self.on_prompt = on_prompt
        self.lock = asyncio.Lock()
        self.last_status = "ok"

    # --- operations ---
    async def sale(self, ref: str, amount_cents: int, currency: str) -> TerminalResult:
        return await self._money("SALE", codec.sale(ref, amount_cents, currency), ref, amount_cents, currency)

    async def refund(self, ref: str, amount_cents: int, currency: str) -> TerminalResult:
        return await self._money("REFUND", codec.refund(ref, amount_cents, currency), ref, amount_cents,
                                 currency)

    async def void(self, ref: str) -> TerminalResult:
        async with self.lock:
            return await self._safe("VOID", codec.void(ref), ref)

    async def last(self, ref: str) -> TerminalResult:
        async with self.lock:
            return await self._safe("LAST", codec.last(ref), ref)

    async def diagnostics(self) -> TerminalResult:
        async with self.lock:
            return await self._safe("DIAG", codec.diag(), "")

    # --- money: exactly one attempt, then recovery ---
    async def _money(self, operation: str, fields: list[str], ref: str, amount: int,
                     currency: str) -> TerminalResult:
        async with self.lock:
            try:
                reply = await self._request(fields, ref, resend_on_silence=False)
            except _NotDelivered as err:
                self.last_status = "unavailable"
                return TerminalResult(ref=ref, operation=operation, status="unavailable",
                                      requested_cents=amount, currency=currency, message=str(err),
                                      charged=False)
            except (DeviceError, ProtocolError) as err:
                log.warning("terminal.reply_lost", device_id=self.device_id, ref=ref, error=str(err))
                return await self._recover(operation, ref, amount, currency)
            self.last_status = "ok"
            return _result(operation, reply)

    async def _recover(self, operation: str, ref: str, amount: int, currency: str) -> TerminalResult:
        lost = TerminalResult(ref=ref, operation=operation, status="timeout", requested_cents=amount,
                              currency=currency)
        try:
            last = await self._request(codec.last(ref), ref, resend_on_silence=True, reply_timeout=5.0)
        except (DeviceError, ProtocolError):
            self.last_status = "unavailable"
            return _replace(lost, message="terminal unreachable; outcome unknown, check the terminal",
                            charged=None)
        if last.status == "NOT_FOUND" or last.status == "DECLINED":
            return _replace(lost, message="terminal did not charge; safe to retry with a new ref",
                            charged=False)
        if last.status == "VOIDED":
            return _replace(_result(operation, last), status="reversed", charged=False)
        if last.status not in ("APPROVED", "PARTIAL", "REFUNDED"):
            return _replace(lost, message=f"terminal reports {last.status}", charged=None)
        if self.lost_reply == "recover" or operation == "REFUND":
            return _replace(_result(operation, last), message="recovered with LAST")
        try:
            voided = await self._request(codec.void(ref), ref, resend_on_silence=True, reply_timeout=10.0)
        except (DeviceError, ProtocolError):
            return _replace(_result(operation, last), status="timeout", charged=True,
                            message="approved but the reply was lost and the reversal failed: void manually")
        if voided.status != "VOIDED":
            return _replace(_result(operation, last), status="timeout", charged=True,
                            message=f"approved, reply lost, reversal answered {voided.status}: void manually")
        return _replace(_result(operation, last), status="reversed", charged=False,
                        message="reply lost after approval; the charge was reversed")

    async def _safe(self, operation: str, fields: list[str], ref: str) -> TerminalResult:
        try:
            reply = await self._request(fields, ref, resend_on_silence=True, reply_timeout=10.0)
        except (DeviceError, ProtocolError) as err:
            self.last_status = "unavailable"
            status = "unavailable" if isinstance(err, DeviceUnavailable) else "timeout"
            return TerminalResult(ref=ref, operation=operation, status=status, message=str(err))
        self.last_status = "ok"
        return _result(operation, reply)

    # --- link layer ---
    async def _request(self, fields: list[str], ref: str, resend_on_silence: bool,
                       reply_timeout: float | None = None) -> codec.TerminalReply:
        transport = self._transport_factory()
        try:
            await transport.open()
        except DeviceUnavailable as err:
            raise _NotDelivered(f"terminal {self.device_id} unreachable: {err}") from err
        try:
            reader = codec.FrameReader()
            frame = codec.encode_frame(fields)
            pending: list[codec.Ack | codec.Nak | codec.Frame | codec.BadFrame] = []
            for attempt in range(MAX_RETRIES + 1):
                await transport.write(frame)
                try:
                    answer = await self._next(transport, reader, pending, self.ack_timeout)
                except DeviceTimeout:
                    if resend_on_silence and attempt < MAX_RETRIES:
                        continue
                    raise
                if isinstance(answer, codec.Ack):
                    break
                if not isinstance(answer, codec.Nak):
                    raise ProtocolError(f"expected ACK/NAK, got {answer!r}")
            else:
                raise _NotDelivered(f"terminal NAKed {fields[0]} {MAX_RETRIES + 1} times")
            deadline = time.monotonic() + (reply_timeout or self.reply_timeout)
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise DeviceTimeout(f"no reply to {fields[0]} {ref}")
                item = await self._next(transport, reader, pending, remaining)
                if isinstance(item, codec.BadFrame):
                    await transport.write(bytes([codec.NAK]))
                    continue
                if not isinstance(item, codec.Frame):
                    continue
                await transport.write(bytes([codec.ACK]))
                message = codec.parse_message(item.fields)
                if isinstance(message, codec.TerminalPrompt):
                    if self.on_prompt is not None:
                        outcome = self.on_prompt(message.ref, message.text)
                        if asyncio.iscoroutine(outcome):
                            await outcome
                    continue
                if message.ref == ref or fields[0] == "DIAG":
                    return message
        finally:
            await transport.close()

    @staticmethod
    async def _next(transport: Transport, reader: codec.FrameReader, pending: list,
                    wait_s: float) -> codec.Ack | codec.Nak | codec.Frame | codec.BadFrame:
        deadline = time.monotonic() + wait_s
        while not pending:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise DeviceTimeout("terminal silent")
            pending.extend(reader.feed(await transport.read(4096, remaining)))
        return pending.pop(0)


def _result(operation: str, reply: codec.TerminalReply) -> TerminalResult:
    status = _OUTCOME.get(reply.status, "error")
    charged = {"approved": True, "partial": True, "declined": False, "voided": False}.get(status)
    return TerminalResult(
        ref=reply.ref, operation=operation, status=status, requested_cents=reply.requested_cents,
        approved_cents=reply.approved_cents, currency=reply.currency, auth_code=reply.auth_code,
        last4=reply.last4, brand=reply.brand, entry_mode=reply.entry_mode,
        processor_ref=reply.processor_ref, message=reply.message, charged=charged)


def _replace(result: TerminalResult, **changes: object) -> TerminalResult:
    return msgspec.structs.replace(result, **changes)
