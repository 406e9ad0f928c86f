"""Scale protocols: Mettler Toledo 8217 and Adam (pure: bytes in, readings out).

Weights are integers in thousandths of the scale's unit (``1.234 kg`` -> 1234), never floats,
for the same reason money is in cents.

Toledo 8217 (9600 7E1): host sends ``W``; the scale answers ``STX ww.www CR`` (``N`` before
CR when net) or, when it cannot give a weight, ``STX ? s CR`` where s is a status byte:
bit 0 motion, 1 over capacity, 2 under zero, 3 outside zero range, 4 centre of zero,
5 net, 6 bad command. The status byte can be 0x0D, so a status frame is read by length,
never up to CR.

Adam (4800 8N1): host sends ``P``; the scale answers like ``  1.234kg`` CR LF, optionally
prefixed ``ST,GS,`` (stable), ``US,GS,`` (unstable) or ``OL,GS,`` (overload). An Adam in
some modes stays silent when the weight has not changed since the last print.
"""

from __future__ import annotations

import re

import msgspec

from hardware.errors import FrameError

STX, CR, LF = 0x02, 0x0D, 0x0A

TOLEDO_REQUEST = b"W"
ADAM_REQUEST = b"P"

MOTION, OVER_CAPACITY, UNDER_ZERO, OUTSIDE_ZERO_RANGE, CENTRE_OF_ZERO, NET, BAD_COMMAND = (
    1 << bit for bit in range(7)
)


class ScaleReading(msgspec.Struct, frozen=True):
    """``status``: stable | motion | over_capacity | under_zero | outside_zero_range | bad_command
    | no_reply. ``weight_milli`` is set only when the status is ``stable``."""

    status: str
    weight_milli: int | None = None
    unit: str = "kg"
    net: bool = False
    centre_of_zero: bool = False

    @property
    def is_stable(self) -> bool:
        return self.status == "stable"


def parse_decimal_milli(text: str) -> int:
    """``"01.234"`` -> 1234 without going through a float."""
    sign = -1 if text.startswith("-") else 1
    whole, _, frac = text.lstrip("+-").partition(".")
    if (whole and not whole.isdigit()) or (frac and not frac.isdigit()):
        raise FrameError(f"{text!r} is not a weight")
    frac = (frac + "000")[:3]
    return sign * (int(whole or "0") * 1000 + int(frac))


def format_milli(milli: int, width: int = 6) -> str:
    sign = "-" if milli < 0 else ""
    whole, frac = divmod(abs(milli), 1000)
    return f"{sign}{whole}.{frac:03d}".rjust(width, "0" if not sign else " ")


# --- Toledo 8217 -------------------------------------------------------------------------

def toledo_status_from_bits(bits: int) -> str:
    # Order matters: an overloaded scale also reports motion; the cashier needs "overload".
    for flag, name in ((BAD_COMMAND, "bad_command"), (OVER_CAPACITY, "over_capacity"),
                       (UNDER_ZERO, "under_zero"), (MOTION, "motion"),
                       (OUTSIDE_ZERO_RANGE, "outside_zero_range")):
        if bits & flag:
            return name
    return "stable"


def decode_toledo(frame: bytes, unit: str = "kg") -> ScaleReading:
    if len(frame) < 3 or frame[0] != STX or frame[-1] != CR:
        raise FrameError(f"Toledo frame must be STX … CR, got {frame!r}")
    body = frame[1:-1]
    if body[:1] == b"?":
        if len(body) != 2:
            raise FrameError(f"Toledo status frame must be STX ? s CR, got {frame!r}")
        bits = body[1]
        return ScaleReading(status=toledo_status_from_bits(bits), unit=unit, net=bool(bits & NET),
                            centre_of_zero=bool(bits & CENTRE_OF_ZERO))
    net = body.endswith(b"N")
    text = body[:-1] if net else body
    try:
        milli = parse_decimal_milli(text.decode("ascii"))
    except UnicodeDecodeError as err:
        raise FrameError(f"Toledo weight is not ASCII: {frame!r}") from err
    return ScaleReading(status="stable", weight_milli=milli, unit=unit, net=net)


def encode_toledo_weight(milli: int, net: bool = False) -> bytes:
    return bytes([STX]) + format_milli(milli).encode() + (b"N" if net else b"") + bytes([CR])


def encode_toledo_status(bits: int) -> bytes:
    return bytes([STX, ord("?"), bits, CR])


# --- Adam ----------------------------------------------------------------------------------

_ADAM = re.compile(
    r"^\s*(?:(?P<state>ST|US|OL),(?:GS|NT|TR)?,?)?\s*(?P<sign>[+-]?)\s*(?P<value>\d+(?:\.\d+)?|-?OL-?)\s*(?P<unit>[a-zA-Z]+)?\s*$"
)


def decode_adam(line: bytes) -> ScaleReading:
    try:
        text = line.decode("ascii").strip("\r\n")
    except UnicodeDecodeError as err:
        raise FrameError(f"Adam reply is not ASCII: {line!r}") from err
    match = _ADAM.match(text)
    if not match:
        raise FrameError(f"Adam reply not understood: {line!r}")
    unit = (match["unit"] or "kg").lower()
    if match["state"] == "OL" or "OL" in match["value"]:
        return ScaleReading(status="over_capacity", unit=unit)
    if match["state"] == "US":
        return ScaleReading(status="motion", unit=unit)
    milli = parse_decimal_milli(match["sign"] + match["value"])
    if milli < 0:
        return ScaleReading(status="under_zero", unit=unit)
    return ScaleReading(status="stable", weight_milli=milli, unit=unit)


def encode_adam(milli: int, unit: str = "kg", state: str = "ST") -> bytes:
    if state == "OL":
        return f"OL,GS,{'-OL-':>9}{unit}\r\n".encode()
    prefix = "" if state == "ST" else f"{state},GS,"
    sign = "-" if milli < 0 else " "
    whole, frac = divmod(abs(milli), 1000)
    return f"{prefix}{sign}{f'{whole}.{frac:03d}':>8}{unit}\r\n".encode()
