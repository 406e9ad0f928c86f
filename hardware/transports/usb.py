"""USB printer transport through python-escpos ``Usb`` (pyusb), optional at runtime.

python-escpos already knows how to find the bulk endpoints of a USB receipt printer, so we
borrow its device handling and only move bytes. pyusb is not a hard dependency: the hub
still starts without it and reports USB printers as unavailable.
"""

from __future__ import annotations

import asyncio

from hardware.errors import DeviceTimeout, DeviceUnavailable
from hardware.transports.base import Transport


def usb_available() -> bool:
    try:
        from escpos.printer import Usb
    except ImportError:  # pragma: no cover - python-escpos is a dependency
        return False
    return bool(Usb.is_usable())


class UsbTransport(Transport):
    def __init__(self, vendor_id: int, product_id: int, timeout_ms: int = 2000) -> None:
        self.vendor_id = vendor_id
        self.product_id = product_id
        self.timeout_ms = timeout_ms
        self._printer: object | None = None

    def __repr__(self) -> str:
        return f"UsbTransport({self.vendor_id:04x}:{self.product_id:04x})"

    async def open(self) -> None:
        if not usb_available():
            raise DeviceUnavailable("USB printers need pyusb, which is not installed")
        from escpos.printer import Usb

        def _open() -> object:
            printer = Usb(self.vendor_id, self.product_id, timeout=self.timeout_ms)
            printer.open()
            return printer

        try:
            self._printer = await asyncio.to_thread(_open)
        except Exception as err:  # python-escpos raises its own and pyusb's errors here
            raise DeviceUnavailable(f"USB printer {self!r}: {err}") from err

    async def write(self, data: bytes) -> None:
        printer = self._require()
        try:
            await asyncio.to_thread(printer._raw, data)  # type: ignore[attr-defined]
        except Exception as err:
            raise DeviceUnavailable(f"USB write failed: {err}") from err

    async def read(self, max_bytes: int = 4096, wait_s: float = 1.0) -> bytes:
        printer = self._require()
        try:
            data = await asyncio.wait_for(asyncio.to_thread(printer._read), wait_s)  # type: ignore[attr-defined]
        except TimeoutError as err:
            raise DeviceTimeout(f"USB printer sent nothing within {wait_s}s") from err
        except Exception as err:
            raise DeviceUnavailable(f"USB read failed: {err}") from err
        if not data:
            raise DeviceTimeout("USB printer sent nothing")
        return bytes(data)[:max_bytes]

    async def close(self) -> None:
        printer, self._printer = self._printer, None
        if printer is not None:
            await asyncio.to_thread(printer.close)  # type: ignore[attr-defined]

    def _require(self) -> object:
        if self._printer is None:
            raise DeviceUnavailable("transport not open")
        return self._printer
