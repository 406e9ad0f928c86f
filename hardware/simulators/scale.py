"""Scales that answer like a Mettler Toledo 8217 (``W``) and an Adam (``P``)."""

from __future__ import annotations

from hardware.codecs import scale as codec


class ToledoScaleModel:
    def __init__(self, weight_milli: int = 0) -> None:
        self.weight_milli = weight_milli
        self.motion = False
        self.over_capacity = False
        self.net = False
        self.requests = 0

    def place(self, weight_milli: int, motion: bool = False) -> None:
        self.weight_milli, self.motion, self.over_capacity = weight_milli, motion, False

    def receive(self, data: bytes) -> bytes:
        reply = bytearray()
        for byte in data:
            self.requests += 1
            if byte == ord("W"):
                reply += self._weight_reply()
            elif byte in (0x0D, 0x0A):
                continue
            else:
                reply += codec.encode_toledo_status(codec.BAD_COMMAND)
        return bytes(reply)

    def _weight_reply(self) -> bytes:
        bits = 0
        if self.motion:
            bits |= codec.MOTION
        if self.over_capacity:
            bits |= codec.OVER_CAPACITY
        if self.weight_milli < 0:
            bits |= codec.UNDER_ZERO
        if bits:
            return codec.encode_toledo_status(bits | (codec.NET if self.net else 0))
        return codec.encode_toledo_weight(self.weight_milli, net=self.net)


class AdamScaleModel:
    def __init__(self, weight_milli: int = 0, unit: str = "kg", silent_when_unchanged: bool = False) -> None:
        self.weight_milli = weight_milli
        self.unit = unit
        self.motion = False
        self.over_capacity = False
        self.silent_when_unchanged = silent_when_unchanged
        self._last_sent: bytes | None = None

    def place(self, weight_milli: int, motion: bool = False) -> None:
        self.weight_milli, self.motion, self.over_capacity = weight_milli, motion, False

    def receive(self, data: bytes) -> bytes:
        reply = bytearray()
        for byte in data:
            if byte != ord("P"):
                continue
            state = "OL" if self.over_capacity else "US" if self.motion else "ST"
            line = codec.encode_adam(self.weight_milli, self.unit, state)
            if self.silent_when_unchanged and line == self._last_sent:
                continue
            self._last_sent = line
            reply += line
        return bytes(reply)
