"""evdev input devices (HID barcode scanners), plus a pipe-backed stand-in.

The scanner is grabbed so its keystrokes do not also type into whatever has focus on the
box. evdev has no hotplug: an unplugged device shows up as ``OSError(errno 19)`` on read,
which we turn into ``DeviceUnplugged``.

``PipeInputDevice`` exists because ``/dev/uinput`` is missing in containers: it reads
packed ``struct input_event`` records from a pipe or FIFO through evdev's own C reader and
async machinery, and turns EOF into ENODEV (evdev's async iterator would otherwise hang on
EOF).
"""

from __future__ import annotations

import errno
import os
import stat
import struct
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from typing import Any

from evdev import InputDevice, InputEvent
from evdev import _input as evdev_input
from evdev.eventio_async import EventIO

from hardware.errors import DeviceUnavailable, DeviceUnplugged

INPUT_EVENT = struct.Struct("llHHi")  # struct input_event on 64-bit Linux


def pack_events(events: Iterable[tuple[int, int, int]], when: float = 0.0) -> bytes:
    """(type, code, value) triples -> raw ``struct input_event`` bytes."""
    sec, usec = int(when), int((when % 1) * 1_000_000)
    return b"".join(INPUT_EVENT.pack(sec, usec, etype, code, value) for etype, code, value in events)


class PipeInputDevice(EventIO):
    """Looks like ``evdev.InputDevice`` to a reader; bytes come from a pipe or FIFO."""

    def __init__(self, fd: int, path: str = "pipe", name: str = "Simulated HID scanner") -> None:
        self.fd = fd
        self.path = path
        self.name = name
        self.grabbed = False
        os.set_blocking(fd, False)

    @classmethod
    def open_fifo(cls, path: str) -> PipeInputDevice:
        return cls(os.open(path, os.O_RDONLY | os.O_NONBLOCK), path=path)

    def grab(self) -> None:
        self.grabbed = True

    def ungrab(self) -> None:
        self.grabbed = False

    def read(self) -> Iterator[InputEvent]:
        events = evdev_input.device_read_many(self.fd)
        if not events:
            raise OSError(errno.ENODEV, "input device removed (pipe closed)")
        for event in events:
            yield InputEvent(*event)

    def close(self) -> None:
        super().close()
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def default_opener(path: str) -> Any:
    """Real evdev node, or a FIFO written by ``novapos-hardware scan`` / the simulators."""
    if os.path.exists(path) and stat.S_ISFIFO(os.stat(path).st_mode):
        return PipeInputDevice.open_fifo(path)
    return InputDevice(path)


class EvdevInput:
    """Opens, grabs and streams events from one input device."""

    def __init__(self, path: str, opener: Callable[[str], Any] = default_opener) -> None:
        self.path = path
        self._opener = opener
        self._device: Any = None

    async def open(self) -> None:
        try:
            self._device = self._opener(self.path)
            self._device.grab()
        except OSError as err:
            if err.errno == errno.ENODEV or err.errno == errno.ENOENT:
                raise DeviceUnplugged(f"{self.path}: {err}") from err
            raise DeviceUnavailable(f"{self.path}: {err}") from err

    async def events(self) -> AsyncIterator[InputEvent]:
        if self._device is None:
            raise DeviceUnavailable("input device not open")
        try:
            async for event in self._device.async_read_loop():
                yield event
        except OSError as err:
            if err.errno == errno.ENODEV:
                raise DeviceUnplugged(f"{self.path} was unplugged") from err
            raise DeviceUnavailable(f"{self.path}: {err}") from err

    async def close(self) -> None:
        device, self._device = self._device, None
        if device is None:
            return
        try:
            device.ungrab()
        except OSError:
            pass  # already gone: an unplugged device cannot be ungrabbed
        device.close()
