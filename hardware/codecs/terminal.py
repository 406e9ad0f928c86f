"""Semi-integrated payment terminal framing and messages (pure).

Frame: ``STX body ETX LRC`` where body is fields separated by FS (0x1C) and LRC is the XOR
of every byte of body and ETX. The receiver answers ACK (frame good) or NAK (bad LRC); the
sender retransmits a NAKed frame up to 3 times.

Requests:   SALE ref amount currency · REFUND ref amount currency · VOID ref · LAST ref · DIAG
Responses:  RES ref status requested approved currency auth last-digits brand entry procref text
            PRM ref text            (a prompt for the customer: "INSERT CARD", ...)
The card field carries at most a masked PAN. Only its last four digits are kept; a field
that looks like a full card number is refused so it never reaches a log or a database.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import reduce

import msgspec

from hardware.errors import ChecksumError, FrameError, ProtocolError

STX, ETX, FS, ACK, NAK, EOT = 0x02, 0x03, 0x1C, 0x06, 0x15, 0x04
RESULT_FIELDS = 12


def lrc(data: bytes) -> int:
    return reduce(lambda acc, b: acc ^ b, data, 0)


def encode_frame(fields: list[str]) -> bytes:
    body = bytes([FS]).join(f.encode("ascii") for f in fields) + bytes([ETX])
    return bytes([STX]) + body + bytes([lrc(body)])


def decode_frame(frame: bytes) -> list[str]:
    if len(frame) < 3 or frame[0] != STX or frame[-2] != ETX:
        raise FrameError(f"not a STX … ETX LRC frame: {frame!r}")
    body = frame[1:-1]
    if lrc(body) != frame[-1]:
        raise ChecksumError(f"LRC 0x{frame[-1]:02x} != 0x{lrc(body):02x}")
    return [f.decode("ascii") for f in body[:-1].split(bytes([FS]))]


class Ack(msgspec.Struct, frozen=True):
    pass


class Nak(msgspec.Struct, frozen=True):
    pass


class Frame(msgspec.Struct, frozen=True):
    fields: list[str]


class BadFrame(msgspec.Struct, frozen=True):
    """A frame whose LRC did not match; the receiver must NAK it."""

    raw: bytes


class FrameReader:
    """Streaming splitter: feed bytes, get ACK / NAK / frames back, in order."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> Iterator[Ack | Nak | Frame | BadFrame]:
        self._buffer += data
        while self._buffer:
            first = self._buffer[0]
            if first == ACK:
                del self._buffer[0]
                yield Ack()
            elif first == NAK:
                del self._buffer[0]
                yield Nak()
            elif first == STX:
                end = self._buffer.find(bytes([ETX]))
                if end < 0 or end + 1 >= len(self._buffer):
                    return  # wait for ETX and LRC
                raw = bytes(self._buffer[: end + 2])
                del self._buffer[: end + 2]
                try:
                    yield Frame(decode_frame(raw))
                except (ChecksumError, UnicodeDecodeError):
                    yield BadFrame(raw)
            else:
                del self._buffer[0]  # line noise between frames


# --- messages ------------------------------------------------------------------------------

def sale(ref: str, amount_cents: int, currency: str) -> list[str]:
    return ["SALE", ref, str(amount_cents), currency]


def refund(ref: str, amount_cents: int, currency: str) -> list[str]:
    return ["REFUND", ref, str(amount_cents), currency]


def void(ref: str) -> list[str]:
    return ["VOID", ref]


def last(ref: str) -> list[str]:
    return ["LAST", ref]


def diag() -> list[str]:
    return ["DIAG"]


class TerminalReply(msgspec.Struct, frozen=True):
    """A decoded RES message. ``status`` is the terminal's word: APPROVED, DECLINED, PARTIAL,
    VOIDED, REFUNDED, NOT_FOUND, OK (diagnostics) or ERROR."""

    ref: str
    status: str
    requested_cents: int = 0
    approved_cents: int = 0
    currency: str = ""
    auth_code: str = ""
    last4: str = ""
    brand: str = ""
    entry_mode: str = ""
    processor_ref: str = ""
    message: str = ""


class TerminalPrompt(msgspec.Struct, frozen=True):
    ref: str
    text: str


_MASKED = re.compile(r"^[*Xx#]*\d{4}$")


def last4_from_masked(card: str) -> str:
    """Keep the last four digits of a masked PAN; refuse anything that is not masked."""
    if not card:
        return ""
    digits = sum(ch.isdigit() for ch in card)
    if digits > 4 or not _MASKED.match(card):
        # Deliberately not echoing the field: it may be a real card number.
        raise ProtocolError("terminal sent a card field that is not a masked PAN; refused")
    return card[-4:]


def encode_result(reply: TerminalReply, masked_pan: str = "") -> list[str]:
    return ["RES", reply.ref, reply.status, str(reply.requested_cents), str(reply.approved_cents),
            reply.currency, reply.auth_code, masked_pan, reply.brand, reply.entry_mode,
            reply.processor_ref, reply.message]


def parse_message(fields: list[str]) -> TerminalReply | TerminalPrompt:
    kind = fields[0] if fields else ""
    if kind == "PRM" and len(fields) == 3:
        return TerminalPrompt(ref=fields[1], text=fields[2])
    if kind == "RES" and len(fields) == RESULT_FIELDS:
        _, ref, status, requested, approved, currency, auth, card, brand, entry, proc, text = fields
        try:
            requested_cents, approved_cents = int(requested or 0), int(approved or 0)
        except ValueError as err:
            raise FrameError(f"amounts must be integer cents, got {requested!r}/{approved!r}") from err
        return TerminalReply(ref=ref, status=status, requested_cents=requested_cents,
                             approved_cents=approved_cents, currency=currency, auth_code=auth,
                             last4=last4_from_masked(card), brand=brand, entry_mode=entry,
                             processor_ref=proc, message=text)
    raise FrameError(f"unknown terminal message {kind!r} with {len(fields)} fields")
