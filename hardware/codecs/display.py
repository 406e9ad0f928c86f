"""Customer pole display, 2 lines x 20 characters, CD5220 command set (pure).

``ESC @`` initialises, ``ESC Q A text CR`` writes the upper line and ``ESC Q B text CR`` the
lower one. Lines are padded to the full width so a shorter text wipes the previous one.
Most pole displays use code page 437; characters outside it show as "?".
"""

from __future__ import annotations

WIDTH = 20
ESC, CR, CLEAR = 0x1B, 0x0D, 0x0C


def fit(text: str) -> str:
    return text[:WIDTH].ljust(WIDTH)


def show(line1: str, line2: str = "") -> bytes:
    upper = fit(line1).encode("cp437", errors="replace")
    lower = fit(line2).encode("cp437", errors="replace")
    return b"\x1bQA" + upper + b"\r" + b"\x1bQB" + lower + b"\r"


def initialize() -> bytes:
    return b"\x1b@"


def clear() -> bytes:
    return bytes([CLEAR])


class DisplayDecoder:
    """What a CD5220 display would be showing after the bytes it received (for the simulator)."""

    def __init__(self) -> None:
        self.lines = [" " * WIDTH, " " * WIDTH]
        self._buffer = bytearray()

    def feed(self, data: bytes) -> None:
        self._buffer += data
        while self._buffer:
            if self._buffer[:2] == b"\x1b@" or self._buffer[0] == CLEAR:
                self.lines = [" " * WIDTH, " " * WIDTH]
                del self._buffer[: 2 if self._buffer[0] == ESC else 1]
            elif self._buffer[:3] in (b"\x1bQA", b"\x1bQB"):
                end = self._buffer.find(b"\r")
                if end < 0:
                    return
                row = 0 if self._buffer[2] == ord("A") else 1
                self.lines[row] = fit(self._buffer[3:end].decode("cp437"))
                del self._buffer[: end + 1]
            elif len(self._buffer) < 3 and self._buffer[0] == ESC:
                return
            else:
                del self._buffer[0]
