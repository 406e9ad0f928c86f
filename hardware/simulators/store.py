"""A whole simulated store: one device of every kind per lane, on real sockets.

Used by ``novapos-hardware simulate``, by the edge's demo mode (through
``HardwareHub.simulated``) and by the tests. Odd lanes get a Toledo scale, even lanes an
Adam, so both protocols are always exercised. Scanners are FIFOs in the data directory so
a hub in another process can read them and ``novapos-hardware scan`` can type into them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from hardware.simulators.display import DisplayModel
from hardware.simulators.hosts import PtyDeviceHost, TcpDeviceServer
from hardware.simulators.printer import PrinterModel
from hardware.simulators.scale import AdamScaleModel, ToledoScaleModel
from hardware.simulators.scanner import PipeScanner
from hardware.simulators.terminal import TerminalModel


class SimulatedLane:
    def __init__(self, lane_id: str, data_dir: Path, use_pty: bool, layout: str) -> None:
        self.lane_id = lane_id
        self.printer = PrinterModel(name=f"Simulated printer lane {lane_id}")
        self.scale_protocol = "toledo" if int(lane_id) % 2 else "adam"
        self.scale: ToledoScaleModel | AdamScaleModel = (
            ToledoScaleModel(1250) if self.scale_protocol == "toledo" else AdamScaleModel(1250))
        self.terminal = TerminalModel()
        self.display = DisplayModel()
        self.scanner_path = str(data_dir / f"scanner-lane{lane_id}.fifo")
        self.layout = layout
        self.scanner: PipeScanner | None = None
        self.use_pty = use_pty
        self.printer_server = TcpDeviceServer(self.printer)
        self.terminal_server = TcpDeviceServer(self.terminal)
        self.display_server = TcpDeviceServer(self.display)
        self.scale_server: TcpDeviceServer | PtyDeviceHost = (
            PtyDeviceHost(self.scale, str(data_dir / f"pty-lane{lane_id}")) if use_pty
            else TcpDeviceServer(self.scale))

    async def start(self) -> None:
        for server in (self.printer_server, self.terminal_server, self.display_server, self.scale_server):
            await server.start()
        self.scanner = PipeScanner(self.layout, fifo_path=self.scanner_path)

    async def stop(self) -> None:
        for server in (self.printer_server, self.terminal_server, self.display_server, self.scale_server):
            await server.stop()
        self.unplug_scanner()

    def unplug_scanner(self) -> None:
        """Pull the cable: close the write end and remove the FIFO, like a vanished /dev node."""
        if self.scanner is not None:
            self.scanner.close()
        if os.path.exists(self.scanner_path):
            os.unlink(self.scanner_path)

    def replug_scanner(self) -> None:
        self.scanner = PipeScanner(self.layout, fifo_path=self.scanner_path)

    def scan(self, barcode: str) -> None:
        assert self.scanner is not None, "simulated store not started"
        self.scanner.scan(barcode)

    @property
    def scale_address(self) -> str:
        if isinstance(self.scale_server, PtyDeviceHost):
            return self.scale_server.device_path
        return self.scale_server.socket_url

    def devices(self) -> list[dict[str, Any]]:
        n = self.lane_id
        return [
            {"id": f"printer-{n}", "kind": "printer", "name": f"Receipt printer lane {n}",
             "address": self.printer_server.url},
            {"id": f"drawer-{n}", "kind": "drawer", "name": f"Cash drawer lane {n}", "via": f"printer-{n}"},
            {"id": f"scanner-{n}", "kind": "scanner", "name": f"Barcode scanner lane {n}",
             "address": self.scanner_path, "layout": self.layout},
            # PTYs reject 7E1 (termios error 22), so the simulated scales run 8N1.
            {"id": f"scale-{n}", "kind": "scale", "name": f"{self.scale_protocol.title()} scale lane {n}",
             "address": self.scale_address, "protocol": self.scale_protocol, "port_settings": "9600 8N1"},
            {"id": f"terminal-{n}", "kind": "terminal", "name": f"Payment terminal lane {n}",
             "address": self.terminal_server.url},
            {"id": f"display-{n}", "kind": "display", "name": f"Customer display lane {n}",
             "address": self.display_server.socket_url},
        ]


class SimulatedStore:
    def __init__(self, lanes: int = 3, data_dir: str | Path = ".novapos-demo/hardware", use_pty: bool = False,
                 scanner_layout: str = "us") -> None:
        if lanes < 1:
            raise ValueError("a store has at least one lane")
        self.data_dir = Path(data_dir)
        self.lanes = {str(n): SimulatedLane(str(n), self.data_dir, use_pty, scanner_layout)
                      for n in range(1, lanes + 1)}

    async def start(self) -> SimulatedStore:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        started: list[SimulatedLane] = []
        try:
            for lane in self.lanes.values():
                await lane.start()
                started.append(lane)
        except BaseException:
            for lane in started:
                await lane.stop()
            raise
        return self

    async def stop(self) -> None:
        for lane in self.lanes.values():
            await lane.stop()

    def lane(self, lane_id: str | int) -> SimulatedLane:
        return self.lanes[str(lane_id)]

    def hub_config(self, **overrides: Any) -> dict[str, Any]:
        config: dict[str, Any] = {
            "data_dir": str(self.data_dir),
            "devices": [device for lane in self.lanes.values() for device in lane.devices()],
            "lanes": {n: {kind: f"{kind}-{n}" for kind in
                          ("printer", "drawer", "scanner", "scale", "terminal", "display")}
                      for n in self.lanes},
            "discovery": {"enabled": False},
            "printer_status_timeout_s": 1.0,
            "terminal_reply_timeout_s": 10.0,
        }
        config.update(overrides)
        return config
