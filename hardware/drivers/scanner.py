"""HID barcode scanner driver: grabs the evdev device and turns keys into barcodes.

evdev has no hotplug. When the scanner is pulled, the read fails with errno 19; the driver
reports "unplugged" and keeps trying to reopen the same by-id path, so plugging it back
in is all a cashier has to do.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

import structlog

from hardware.codecs.hid import ScanDecoder
from hardware.errors import DeviceError, DeviceUnplugged
from hardware.transports.input_device import EvdevInput, default_opener

log = structlog.get_logger()

Callback = Callable[[str], Awaitable[None] | None]


class ScannerDriver:
    def __init__(self, device_id: str, path: str, on_scan: Callback, on_status: Callback,
                 layout: str = "us", gap_ms: int = 100, opener: Callable[[str], Any] = default_opener,
                 reopen_every: float = 1.0) -> None:
        self.device_id = device_id
        self.path = path
        self.layout = layout
        self.gap_ms = gap_ms
        self.status = "starting"
        self.scans = 0
        self._on_scan = on_scan
        self._on_status = on_status
        self._opener = opener
        self._reopen_every = reopen_every
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"scanner {self.device_id}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            source = EvdevInput(self.path, self._opener)
            try:
                await source.open()
                await self._set_status("ok")
                decoder = ScanDecoder(self.layout, self.gap_ms)
                async for event in source.events():
                    barcode = decoder.feed(event.type, event.code, event.value, event.timestamp())
                    if barcode:
                        self.scans += 1
                        await _call(self._on_scan, barcode)
            except DeviceUnplugged:
                await self._set_status("unplugged")
            except DeviceError as err:
                log.warning("scanner.unavailable", device_id=self.device_id, error=str(err))
                await self._set_status("unavailable")
            finally:
                await source.close()
            await asyncio.sleep(self._reopen_every)

    async def _set_status(self, status: str) -> None:
        if status != self.status:
            self.status = status
            await _call(self._on_status, status)


async def _call(callback: Callback, value: str) -> None:
    result = callback(value)
    if asyncio.iscoroutine(result):
        await result
