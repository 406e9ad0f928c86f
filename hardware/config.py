"""Hub configuration: one msgspec Struct, built from a dict or the ``[hardware]`` TOML section.

Example (TOML)::

    [hardware]
    data_dir = "/var/lib/novapos/hardware"

    [[hardware.devices]]
    id = "printer-1"
    kind = "printer"
    address = "tcp://10.0.0.21:9100"

    [[hardware.devices]]
    id = "scale-1"
    kind = "scale"
    protocol = "toledo"
    address = "/dev/serial/by-id/usb-FTDI_FT232R_USB_UART_A50285BI-if00-port0"
    port_settings = "9600 7E1"

    [hardware.lanes.1]
    printer = "printer-1"
    drawer = "drawer-1"
    scale = "scale-1"
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import msgspec

from hardware.errors import ConfigError
from hardware.models import KINDS

_PROTOCOLS = {"printer": ("escpos",), "scale": ("toledo", "adam"), "terminal": ("stx-etx",),
              "display": ("cd5220",), "scanner": ("hid",), "drawer": ("escpos",)}
_DEFAULT_SETTINGS = {"toledo": "9600 7E1", "adam": "4800 8N1", "cd5220": "9600 8N1", "escpos": "9600 8N1",
                     "stx-etx": "9600 8N1"}


class DeviceConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    id: str
    kind: str
    address: str = ""  # tcp://host:port, socket://host:port, /dev/…, usb://vid:pid, a FIFO for a simulated scanner
    name: str = ""
    protocol: str = ""  # defaults per kind: escpos, toledo, stx-etx, cd5220, hid
    port_settings: str = ""  # "9600 7E1"; PTYs in tests need "9600 8N1"
    match: str = ""  # a /dev/*/by-id name: this entry overrides what detection guessed for it
    via: str = ""  # drawer: the printer it hangs off
    layout: str = "us"  # scanner keyboard layout
    gap_ms: int = 100  # scanner: a longer pause between keys drops a partial scan
    drawer_pin: int = 2
    drawer_pulse_ms: int = 100
    lost_reply: str = "reverse"  # terminal: reverse | recover an approval whose reply was lost
    unit: str = "kg"

    @property
    def effective_protocol(self) -> str:
        return self.protocol or _PROTOCOLS.get(self.kind, ("",))[0]

    @property
    def effective_port_settings(self) -> str:
        return self.port_settings or _DEFAULT_SETTINGS.get(self.effective_protocol, "9600 8N1")


class LaneConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    printer: str | None = None
    drawer: str | None = None
    scanner: str | None = None
    scale: str | None = None
    terminal: str | None = None
    display: str | None = None

    def device_for(self, kind: str) -> str | None:
        return getattr(self, kind)


class DiscoveryConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    enabled: bool = True
    serial_by_id: str = "/dev/serial/by-id"
    input_by_id: str = "/dev/input/by-id"
    poll_interval_s: float = 2.0
    zeroconf_printers: bool = False
    zeroconf_interfaces: list[str] = []  # empty: all interfaces; tests pass ["127.0.0.1"]


class HubConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    data_dir: str = "/var/lib/novapos/hardware"
    devices: list[DeviceConfig] = []
    lanes: dict[str, LaneConfig] = {}
    discovery: DiscoveryConfig = DiscoveryConfig()
    printer_status_timeout_s: float = 2.0
    printer_status_every_s: float = 30.0  # idle status check, so "paper low" shows before the next sale
    print_wait_s: float = 5.0  # print_receipt waits this long, then returns the job still queued
    terminal_ack_timeout_s: float = 1.0
    terminal_reply_timeout_s: float = 90.0
    scale_settle_timeout_s: float = 2.0
    event_buffer: int = 500

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> HubConfig:
        try:
            config = msgspec.convert(data, cls)
        except msgspec.ValidationError as err:
            raise ConfigError(f"hardware config: {err} (see hardware/config.py for an example)") from err
        config.validate()
        return config

    @classmethod
    def from_toml(cls, path: str | Path, section: str = "hardware") -> HubConfig:
        try:
            data = tomllib.loads(Path(path).read_text())
        except (OSError, tomllib.TOMLDecodeError) as err:
            raise ConfigError(f"cannot read {path}: {err}") from err
        return cls.from_dict(data.get(section, data))

    def device(self, device_id: str) -> DeviceConfig | None:
        return next((d for d in self.devices if d.id == device_id), None)

    def validate(self) -> None:
        seen: set[str] = set()
        for index, device in enumerate(self.devices):
            where = f"hardware.devices[{index}] (id {device.id!r})"
            if device.id in seen:
                raise ConfigError(f"{where}: duplicate id")
            seen.add(device.id)
            if device.kind not in KINDS:
                raise ConfigError(f"{where}.kind: {device.kind!r} is not one of {', '.join(KINDS)}")
            if device.effective_protocol not in _PROTOCOLS[device.kind]:
                raise ConfigError(f"{where}.protocol: {device.protocol!r} is not one of "
                                  f"{', '.join(_PROTOCOLS[device.kind])}")
            if device.kind == "drawer" and not device.via:
                raise ConfigError(f"{where}.via: a drawer needs the id of its printer, e.g. via = \"printer-1\"")
            if device.kind not in ("drawer",) and not device.address and not device.match:
                raise ConfigError(f"{where}.address: missing, e.g. address = \"tcp://10.0.0.21:9100\"")
            if device.lost_reply not in ("reverse", "recover"):
                raise ConfigError(f"{where}.lost_reply: must be \"reverse\" or \"recover\"")
        for lane_id, lane in self.lanes.items():
            for kind in ("printer", "drawer", "scanner", "scale", "terminal", "display"):
                device_id = lane.device_for(kind)
                configured = self.device(device_id) if device_id else None
                if configured is not None and configured.kind != kind:
                    raise ConfigError(f"hardware.lanes.{lane_id}.{kind}: {device_id!r} is a {configured.kind}")
