"""A receipt printer that speaks ESC/POS: captures jobs, decodes them to text and answers
DLE EOT status queries from programmable state.

Real printers handle DLE EOT as a *real-time* command: it is answered as soon as it is
received, even in the middle of buffered print data, so the model scans every chunk for it.
"""

from __future__ import annotations

import msgspec

from hardware.codecs.escpos import PrinterStatus, encode_status_bytes
from hardware.codecs.escpos_text import escpos_to_text

_DLE_EOT = b"\x10\x04"


class CapturedJob(msgspec.Struct):
    raw: bytes
    text: str


class PrinterModel:
    def __init__(self, name: str = "Simulated TM-T88") -> None:
        self.name = name
        self.online = True
        self.paper = "ok"  # ok | low | out
        self.cover_open = False
        self.drawer_open = False
        self.mute = False  # accepts connections and bytes, answers nothing
        self.power_off_after_bytes: int | None = None  # switch off after N job bytes
        self.powered_off = False
        self.jobs: list[CapturedJob] = []
        self.lost_jobs: list[bytes] = []
        self.drawer_kicks = 0
        self._current = bytearray()
        self._pending = bytearray()

    # --- programmable state ---
    def set_paper(self, state: str) -> None:
        self.paper = state

    def power_on(self) -> None:
        self.powered_off, self.online, self.power_off_after_bytes = False, True, None

    @property
    def status(self) -> PrinterStatus:
        return PrinterStatus(online=self.online, paper=self.paper, cover_open=self.cover_open,
                             drawer_open=self.drawer_open)

    @property
    def texts(self) -> list[str]:
        return [job.text for job in self.jobs]

    # --- the wire ---
    def receive(self, data: bytes) -> bytes:
        if self.powered_off:
            return b""
        self._pending += data
        reply = bytearray()
        while True:
            at = self._pending.find(_DLE_EOT)
            if at < 0 or at + 2 >= len(self._pending):
                keep = 2 if self._pending.endswith(_DLE_EOT) else 1 if self._pending.endswith(b"\x10") else 0
                self._take(bytes(self._pending[: len(self._pending) - keep]))
                del self._pending[: len(self._pending) - keep]
                break
            self._take(bytes(self._pending[:at]))
            n = self._pending[at + 2]
            del self._pending[: at + 3]
            if not self.mute and not self.powered_off:
                reply.append(encode_status_bytes(self.status).get(n, 0x12))
        return bytes(reply)

    def _take(self, data: bytes) -> None:
        if not data or self.powered_off:
            return
        if self.power_off_after_bytes is not None:
            room = self.power_off_after_bytes - len(self._current)
            if len(data) >= room:
                self._current += data[: max(room, 0)]
                self.powered_off, self.online = True, False
                return
        self._current += data

    def connection_closed(self) -> None:
        """One connection is one job: that is how python-escpos and the hub talk to a printer."""
        raw, self._current = bytes(self._current), bytearray()
        self._pending.clear()
        if b"\x1bp" in raw:
            self.drawer_kicks += raw.count(b"\x1bp")
        if not raw.replace(b"\x1b@", b"").strip(b"\x00") or _only_drawer_kick(raw):
            return
        if self.powered_off or not self.online or self.paper == "out" or self.cover_open:
            self.lost_jobs.append(raw)  # a real printer drops it, or prints half and stops
        else:
            self.jobs.append(CapturedJob(raw=raw, text=escpos_to_text(raw)))


def _only_drawer_kick(raw: bytes) -> bool:
    rest = raw.replace(b"\x1b@", b"")
    while (at := rest.find(b"\x1bp")) >= 0:
        rest = rest[:at] + rest[at + 5 :]
    return not rest
