"""A pipe-backed evdev scanner: barcodes become packed ``struct input_event`` records.

``/dev/uinput`` is missing in containers, so the hub reads these records through evdev's
own reader (see ``PipeInputDevice``). Closing the write end is an unplug: the reader gets
EOF, which becomes ENODEV exactly like a pulled USB cable.

With ``fifo_path`` the pipe is a named FIFO, so another process (the hub under
``novapos-hardware serve``, or ``novapos-hardware scan``) can use it.
"""

from __future__ import annotations

import errno
import os
import time

from hardware.codecs.hid import keystrokes_for
from hardware.transports.input_device import PipeInputDevice, pack_events


class PipeScanner:
    def __init__(self, layout: str = "us", fifo_path: str | None = None) -> None:
        self.layout = layout
        self.fifo_path = fifo_path
        self._read_fd: int | None = None
        self._write_fd: int | None = None
        self.replug()

    @property
    def path(self) -> str:
        return self.fifo_path or f"pipe:{id(self)}"

    def replug(self) -> None:
        if self.fifo_path:
            if not os.path.exists(self.fifo_path):
                os.mkfifo(self.fifo_path, 0o660)
            # O_RDWR never blocks on a FIFO and keeps it open while no hub reads it.
            self._write_fd = os.open(self.fifo_path, os.O_RDWR | os.O_NONBLOCK)
        else:
            self._read_fd, self._write_fd = os.pipe()

    def open_device(self, path: str | None = None) -> PipeInputDevice:
        """The opener the hub's scanner driver calls (for an in-process pipe)."""
        if self._write_fd is None:
            raise OSError(errno.ENODEV, "simulated scanner is unplugged")
        if self.fifo_path:
            return PipeInputDevice.open_fifo(self.fifo_path)
        if self._read_fd is None:
            raise OSError(errno.EBUSY, "pipe scanner already opened")
        fd, self._read_fd = self._read_fd, None
        return PipeInputDevice(fd, path=self.path)

    def scan(self, barcode: str, enter: bool = True) -> None:
        if self._write_fd is None:
            raise OSError(errno.ENODEV, "simulated scanner is unplugged")
        os.write(self._write_fd, pack_events(keystrokes_for(barcode, self.layout, enter), time.time()))

    def type_slowly(self, text: str, gap_s: float) -> None:
        """Keys with a gap between them (a person typing, or a scan cut in two)."""
        assert self._write_fd is not None
        base = time.time()
        for index, char in enumerate(text):
            events = keystrokes_for(char, self.layout, enter=False)
            os.write(self._write_fd, pack_events(events, base + index * gap_s))

    def unplug(self) -> None:
        for fd in (self._write_fd, self._read_fd):
            if fd is not None:
                os.close(fd)
        self._write_fd = self._read_fd = None

    close = unplug


def write_barcode_to_fifo(fifo_path: str, barcode: str, layout: str = "us") -> None:
    """Used by ``novapos-hardware scan``: type a barcode into a simulator's FIFO."""
    fd = os.open(fifo_path, os.O_WRONLY | os.O_NONBLOCK)
    try:
        os.write(fd, pack_events(keystrokes_for(barcode, layout), time.time()))
    finally:
        os.close(fd)
