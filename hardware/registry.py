"""The registry: which devices exist, which are present, and which lane each one serves.

Each poll takes a snapshot (configured devices + what discovery sees), merges them, and
diffs it with the previous one to produce hotplug ``added`` / ``removed`` changes.

Configuration overrides detection: an entry whose ``match`` (or ``address``) names a
by-id device takes that device over, with the configured id, kind and settings. Detected
devices nobody configured are still listed, as their guessed kind, or as ``unknown`` /
``unsupported`` when we have no driver for them, so a technician sees everything plugged in.
"""

from __future__ import annotations

import os
from pathlib import Path

import msgspec

from hardware import discovery
from hardware.config import DeviceConfig, HubConfig
from hardware.discovery import DetectedDevice, ZeroconfPrinterBrowser
from hardware.errors import UnknownDevice, UnknownLane

LANE_KINDS = ("printer", "drawer", "scanner", "scale", "terminal", "display")


class RegistryEntry(msgspec.Struct, frozen=True):
    id: str
    kind: str
    name: str
    source: str  # config | serial | input | network | mdns | simulator
    address: str
    present: bool
    supported: bool
    config: DeviceConfig | None  # what a driver is built from; None for unsupported devices
    lane_id: str | None = None


class Registry:
    def __init__(self, config: HubConfig, zeroconf: ZeroconfPrinterBrowser | None = None) -> None:
        self.config = config
        self.zeroconf = zeroconf
        self.entries: dict[str, RegistryEntry] = {}
        self._lane_of: dict[str, str] = {}
        for lane_id, lane in sorted(config.lanes.items()):
            for kind in LANE_KINDS:
                device_id = lane.device_for(kind)
                if device_id:
                    self._lane_of.setdefault(device_id, lane_id)  # a shared printer reports its first lane

    # --- polling ---
    def poll(self) -> list[tuple[str, RegistryEntry]]:
        """Take a new snapshot; return ("added" | "removed", entry) for every presence change."""
        new = self._snapshot()
        changes: list[tuple[str, RegistryEntry]] = []
        for device_id, entry in new.items():
            old = self.entries.get(device_id)
            if entry.present and (old is None or not old.present):
                changes.append(("added", entry))
            elif not entry.present and old is not None and old.present:
                changes.append(("removed", entry))
        for device_id, old in self.entries.items():
            if device_id not in new and old.present:
                changes.append(("removed", msgspec.structs.replace(old, present=False)))
        self.entries = new
        return changes

    def _snapshot(self) -> dict[str, RegistryEntry]:
        detected: list[DetectedDevice] = []
        if self.config.discovery.enabled:
            detected += discovery.scan_serial(self.config.discovery.serial_by_id)
            detected += discovery.scan_input(self.config.discovery.input_by_id)
        if self.zeroconf is not None:
            detected += self.zeroconf.snapshot()
        by_id = {d.id: d for d in detected}
        entries: dict[str, RegistryEntry] = {}
        for device in self.config.devices:
            match = self._match(device, by_id)
            if match is not None:
                del by_id[match.id]
                present, source = True, match.source
                device = device if device.address else msgspec.structs.replace(device, address=match.address)
            else:
                present, source = _configured_present(device, self.config), "config"
            entries[device.id] = RegistryEntry(
                id=device.id, kind=device.kind, name=device.name or device.id, source=source,
                address=device.address, present=present, supported=True, config=device,
                lane_id=self._lane_of.get(device.id))
        for found in by_id.values():
            config = None
            if found.supported:
                config = DeviceConfig(id=found.id, kind=found.kind, address=found.address, name=found.name,
                                      protocol=found.protocol)
            entries[found.id] = RegistryEntry(
                id=found.id, kind=found.kind, name=found.name, source=found.source, address=found.address,
                present=True, supported=found.supported, config=config, lane_id=self._lane_of.get(found.id))
        return entries

    @staticmethod
    def _match(device: DeviceConfig, detected: dict[str, DetectedDevice]) -> DetectedDevice | None:
        names = {device.match, Path(device.address).name if device.address.startswith("/") else ""} - {""}
        for found in detected.values():
            by_id_name = found.id.split(":", 1)[1]
            if by_id_name in names or (device.address and found.address == device.address):
                return found
        return None

    # --- lookups ---
    def get(self, device_id: str) -> RegistryEntry:
        try:
            return self.entries[device_id]
        except KeyError:
            raise UnknownDevice(f"no device {device_id!r}") from None

    def lane_device_id(self, lane_id: str, kind: str) -> str:
        lane = self.config.lanes.get(str(lane_id))
        if lane is None:
            raise UnknownLane(f"no lane {lane_id!r}; configured lanes: {', '.join(sorted(self.config.lanes))}")
        device_id = lane.device_for(kind)
        if not device_id:
            raise UnknownLane(f"lane {lane_id!r} has no {kind}")
        return device_id

    def lane_of(self, device_id: str) -> str | None:
        return self._lane_of.get(device_id)


def _configured_present(device: DeviceConfig, config: HubConfig) -> bool:
    """Network devices are always "present" (reachability is their status); a drawer is present
    with its printer; a /dev path is present when it exists."""
    if device.kind == "drawer":
        printer = config.device(device.via)
        return printer is None or _configured_present(printer, config)
    if device.address.startswith("/"):
        return os.path.exists(device.address)  # a /dev node, or a simulator's FIFO
    return True
