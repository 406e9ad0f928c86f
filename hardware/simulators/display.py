"""A 2x20 CD5220 pole display: remembers what it shows."""

from __future__ import annotations

from hardware.codecs.display import DisplayDecoder


class DisplayModel:
    def __init__(self) -> None:
        self._decoder = DisplayDecoder()

    @property
    def lines(self) -> list[str]:
        return list(self._decoder.lines)

    def receive(self, data: bytes) -> bytes:
        self._decoder.feed(data)
        return b""
