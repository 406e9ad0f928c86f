"""Device discovery: what is plugged in or announced on the network right now.

Polling ``/dev/serial/by-id`` and ``/dev/input/by-id`` is enough: those names are stable
across reboots and USB ports (they carry vendor, model and serial number), and polling
needs no udev rules or extra privileges. Each poll is a snapshot; the registry diffs them.
Network printers that announce ``_pdl-datastream._tcp`` (raw 9100) are found by zeroconf.
"""

from __future__ import annotations

import os
from pathlib import Path

import msgspec
import structlog

log = structlog.get_logger()

PDL_SERVICE = "_pdl-datastream._tcp.local."

_SCANNER_HINTS = ("scanner", "barcode", "honeywell", "zebra", "symbol", "datalogic", "newland",
                  "metrologic", "hand_held", "opticon", "zebex", "netum")
_SERIAL_HINTS = (
    ("scale", ("scale", "toledo", "mettler", "adam", "cas_", "dibal")),
    ("printer", ("printer", "epson", "tm-t", "star_", "bixolon", "citizen")),
    ("display", ("display", "pole", "vfd", "cd5220", "customer")),
    ("terminal", ("verifone", "ingenico", "pax_", "terminal", "castles")),
)


class DetectedDevice(msgspec.Struct, frozen=True):
    id: str  # stable: from the by-id name, the host:port, or the mDNS instance
    kind: str  # a known kind, or "unknown"
    name: str
    source: str  # serial | input | network | mdns
    address: str
    supported: bool = True
    protocol: str = ""


def classify_serial(name: str) -> tuple[str, str]:
    lowered = name.lower()
    for kind, hints in _SERIAL_HINTS:
        if any(hint in lowered for hint in hints):
            protocol = "adam" if kind == "scale" and "adam" in lowered else ""
            return kind, protocol
    return "unknown", ""


def scan_serial(directory: str) -> list[DetectedDevice]:
    found = []
    for name in _list(directory):
        kind, protocol = classify_serial(name)
        found.append(DetectedDevice(id=f"serial:{name}", kind=kind, name=_pretty(name), source="serial",
                                    address=str(Path(directory) / name), supported=kind != "unknown",
                                    protocol=protocol))
    return found


def scan_input(directory: str) -> list[DetectedDevice]:
    found = []
    for name in _list(directory):
        if "-event-" not in name:
            continue  # legacy mouseN / jsN aliases of the same device
        lowered = name.lower()
        scanner = name.endswith("-event-kbd") and any(hint in lowered for hint in _SCANNER_HINTS)
        # A keyboard that is not a known scanner is listed but never grabbed: grabbing the
        # technician's keyboard would lock them out of the box.
        found.append(DetectedDevice(id=f"input:{name}", kind="scanner" if scanner else "unknown",
                                    name=_pretty(name), source="input", address=str(Path(directory) / name),
                                    supported=scanner))
    return found


def _list(directory: str) -> list[str]:
    try:
        return sorted(os.listdir(directory))
    except (FileNotFoundError, NotADirectoryError, PermissionError):
        return []


def _pretty(by_id_name: str) -> str:
    core = by_id_name.removeprefix("usb-").removeprefix("pci-")
    for suffix in ("-event-kbd", "-if00-port0", "-if00", "-port0"):
        core = core.removesuffix(suffix)
    return core.replace("_", " ")


class ZeroconfPrinterBrowser:
    """Keeps a live set of ``_pdl-datastream._tcp`` printers (raw 9100)."""

    def __init__(self, interfaces: list[str] | None = None) -> None:
        self.interfaces = interfaces or None
        self.printers: dict[str, DetectedDevice] = {}
        self._zeroconf = None
        self._browser = None
        self._resolving: set = set()

    async def start(self) -> None:
        from zeroconf import IPVersion
        from zeroconf.asyncio import AsyncServiceBrowser, AsyncZeroconf

        if self.interfaces:
            self._zeroconf = AsyncZeroconf(interfaces=self.interfaces, ip_version=IPVersion.V4Only)
        else:
            self._zeroconf = AsyncZeroconf()
        self._browser = AsyncServiceBrowser(self._zeroconf.zeroconf, PDL_SERVICE, handlers=[self._on_change])

    def _on_change(self, zeroconf, service_type, name, state_change) -> None:  # type: ignore[no-untyped-def]
        import asyncio

        from zeroconf import ServiceStateChange

        if state_change is ServiceStateChange.Removed:
            self.printers.pop(name, None)
            return
        task = asyncio.ensure_future(self._resolve(service_type, name))
        self._resolving.add(task)
        task.add_done_callback(self._resolving.discard)

    async def _resolve(self, service_type: str, name: str) -> None:
        from zeroconf.asyncio import AsyncServiceInfo

        info = AsyncServiceInfo(service_type, name)
        if self._zeroconf is None or not await info.async_request(self._zeroconf.zeroconf, 3000):
            return
        addresses = info.parsed_addresses()
        if not addresses or not info.port:
            return
        instance = name.removesuffix("." + service_type)
        self.printers[name] = DetectedDevice(
            id=f"mdns:{instance}", kind="printer", name=instance, source="mdns",
            address=f"tcp://{addresses[0]}:{info.port}", protocol="escpos")

    def snapshot(self) -> list[DetectedDevice]:
        return list(self.printers.values())

    async def stop(self) -> None:
        if self._browser is not None:
            await self._browser.async_cancel()
        if self._zeroconf is not None:
            await self._zeroconf.async_close()
        self._browser = self._zeroconf = None
