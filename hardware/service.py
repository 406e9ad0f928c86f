"""``HardwareHub``: the one interface to the store's peripherals.

The edge uses it in-process by default; ``RemoteHardwareHub`` (hardware/client.py) offers
the same methods against ``novapos-hardware serve``. Rules every method follows:

- printing never raises for a printer problem: the job comes back ``failed`` (or still
  ``queued``) and ``printer_failed`` goes to the lane, so a sale is never blocked;
- money operations return a ``TerminalResult`` whose status is the cashier's guidance
  (approved, declined, partial, timeout, reversed, unavailable) and never hold a PAN;
- caller mistakes (unknown lane or device, an action a device cannot do) raise
  ``UnknownLane`` / ``UnknownDevice`` / ``UnsupportedAction``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import structlog

from hardware.bus import EventBus, HubEvent
from hardware.codecs.escpos import drawer_kick, render_text_receipt
from hardware.codecs.scale import ScaleReading
from hardware.config import DeviceConfig, HubConfig
from hardware.discovery import ZeroconfPrinterBrowser
from hardware.drivers.display import DisplayDriver
from hardware.drivers.printer import PrinterDriver
from hardware.drivers.scale import AdamScaleDriver, ScaleDriver
from hardware.drivers.scanner import ScannerDriver
from hardware.drivers.terminal import TerminalDriver
from hardware.errors import DeviceError, UnknownLane, UnsupportedAction
from hardware.journal import JobJournal
from hardware.models import TEST_ACTIONS, ActionResult, Device, PrintJob, TerminalResult
from hardware.printing import PrintService
from hardware.registry import Registry, RegistryEntry
from hardware.transports.base import Transport
from hardware.transports.factory import transport_for
from hardware.transports.input_device import default_opener
from hardware.transports.serial import PortSettings

log = structlog.get_logger()


TransportFactory = Callable[[DeviceConfig], Transport]


class HardwareHub:
    def __init__(self, config: HubConfig, *, transport_factory: TransportFactory | None = None,
                 input_opener: Callable[[str], Any] = default_opener) -> None:
        self.config = config
        self.bus = EventBus(config.event_buffer)
        self._transport_factory = transport_factory or self._default_transport
        self._input_opener = input_opener
        self._zeroconf = (ZeroconfPrinterBrowser(config.discovery.zeroconf_interfaces)
                          if config.discovery.zeroconf_printers else None)
        self.registry = Registry(config, self._zeroconf)
        self._drivers: dict[str, Any] = {}
        self._scanners: dict[str, ScannerDriver] = {}
        self._status: dict[str, str] = {}
        self._poll_task: asyncio.Task[None] | None = None
        self._journal: JobJournal | None = None
        self._printing: PrintService | None = None
        self._owned: list[Any] = []  # simulators started by HardwareHub.simulated
        self.simulators: Any = None  # the SimulatedStore, when built by HardwareHub.simulated
        self.started = False

    # --- lifecycle ---
    @classmethod
    async def simulated(cls, lanes: int = 3, data_dir: str | Path = ".novapos-demo/hardware",
                        use_pty: bool = False, **config_overrides: Any) -> HardwareHub:
        """Start simulators for ``lanes`` lanes and a hub wired to them (demo mode, tests).
        ``stop()`` stops the simulators too; they are reachable as ``hub.simulators``."""
        from hardware.simulators.store import SimulatedStore

        store = await SimulatedStore(lanes, data_dir, use_pty=use_pty).start()
        try:
            hub = cls(HubConfig.from_dict(store.hub_config(**config_overrides)))
            hub._owned.append(store)
            hub.simulators = store
            await hub.start()
        except BaseException:
            await store.stop()
            raise
        return hub

    async def start(self) -> None:
        self._journal = JobJournal(Path(self.config.data_dir) / "print-jobs.sqlite3")
        self._printing = PrintService(self._journal, self.bus, self._printer_driver, self._set_status,
                                      self.config.print_wait_s)
        for job in self._journal.recover_interrupted():
            # Cut off by a crash or power loss last time: tell the lane, offer a reprint.
            self.bus.publish(job.lane_id, "printer_failed", job_id=job.id, ref=job.ref, reason="interrupted",
                             printer_id=job.printer_id, reprint=True)
        if self._zeroconf is not None:
            await self._zeroconf.start()
        for _, entry in self.registry.poll():
            await self._attach(entry)
        await self._refresh_printer_status()
        # Always poll: even without by-id discovery, configured /dev paths come and go.
        self._poll_task = asyncio.create_task(self._poll_forever(), name="hardware registry poll")
        self.started = True
        log.info("hardware.started", devices=len(self.registry.entries), lanes=len(self.config.lanes))

    async def stop(self) -> None:
        if self._poll_task is not None:
            self._poll_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poll_task
        if self._printing is not None:
            await self._printing.drain()
        for scanner in list(self._scanners.values()):
            await scanner.stop()
        self._scanners.clear()
        for driver in self._drivers.values():
            if hasattr(driver, "close"):
                with contextlib.suppress(DeviceError, OSError):
                    await driver.close()
        self._drivers.clear()
        if self._zeroconf is not None:
            await self._zeroconf.stop()
        if self._journal is not None:
            self._journal.close()
        for owned in self._owned:
            await owned.stop()
        self.started = False

    async def __aenter__(self) -> HardwareHub:
        if not self.started:
            await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # --- devices ---
    async def devices(self) -> list[Device]:
        return [self._device(entry) for entry in self.registry.entries.values()]

    async def poll(self) -> None:
        """One discovery pass (the background task calls this; tests call it directly)."""
        for change, entry in self.registry.poll():
            if change == "added":
                await self._attach(entry)
                self.bus.publish(entry.lane_id, "device_added", device_id=entry.id, kind=entry.kind,
                                 name=entry.name, supported=entry.supported)
            else:
                await self._detach(entry)
                self.bus.publish(entry.lane_id, "device_removed", device_id=entry.id, kind=entry.kind,
                                 name=entry.name)

    # --- printing ---
    async def print_receipt(self, lane_id: str, data: bytes, ref: str) -> PrintJob:
        try:
            printer_id: str | None = self.registry.lane_device_id(lane_id, "printer")
        except UnknownLane:
            printer_id = None
        return await self._require_printing().submit(str(lane_id), printer_id, data, ref)

    async def reprint(self, job_id: str) -> PrintJob:
        return await self._require_printing().reprint(job_id)

    async def jobs(self, limit: int = 50) -> list[PrintJob]:
        assert self._journal is not None, "hub not started"
        return self._journal.recent(limit)

    async def kick_drawer(self, lane_id: str) -> ActionResult:
        return await self._kick(self.registry.lane_device_id(lane_id, "drawer"))

    # --- scale ---
    async def read_weight(self, lane_id: str) -> ScaleReading:
        device_id = self.registry.lane_device_id(lane_id, "scale")
        try:
            reading = await self._driver(device_id).read_weight()
        except DeviceError as err:
            self._set_status(device_id, "unavailable")
            log.warning("scale.unavailable", device_id=device_id, error=str(err))
            return ScaleReading(status="no_reply")
        self._set_status(device_id, "unavailable" if reading.status == "no_reply" else "ok")
        if reading.is_stable:
            self.bus.publish(str(lane_id), "weight", device_id=device_id, weight_milli=reading.weight_milli,
                             unit=reading.unit, net=reading.net)
        return reading

    # --- payment terminal ---
    async def terminal_sale(self, lane_id: str, ref: str, amount_cents: int, currency: str) -> TerminalResult:
        return await self._terminal(lane_id, "sale", ref, amount_cents, currency)

    async def terminal_refund(self, lane_id: str, ref: str, amount_cents: int, currency: str) -> TerminalResult:
        return await self._terminal(lane_id, "refund", ref, amount_cents, currency)

    async def terminal_void(self, lane_id: str, ref: str) -> TerminalResult:
        return await self._terminal(lane_id, "void", ref)

    async def terminal_last(self, lane_id: str, ref: str) -> TerminalResult:
        return await self._terminal(lane_id, "last", ref)

    async def _terminal(self, lane_id: str, operation: str, *args: Any) -> TerminalResult:
        device_id = self.registry.lane_device_id(lane_id, "terminal")
        driver: TerminalDriver = self._driver(device_id)
        result: TerminalResult = await getattr(driver, operation)(*args)
        self._set_status(device_id, "unavailable" if result.status == "unavailable" else "ok")
        return result

    # --- customer display ---
    async def show_on_display(self, lane_id: str, line1: str, line2: str = "") -> ActionResult:
        device_id = self.registry.lane_device_id(lane_id, "display")
        try:
            await self._driver(device_id).show(line1, line2)
        except DeviceError as err:
            self._set_status(device_id, "unavailable")
            return ActionResult(device_id, "show", False, str(err))
        self._set_status(device_id, "ok")
        return ActionResult(device_id, "show", True)

    # --- technician test actions ---
    async def test_action(self, device_id: str, action: str) -> ActionResult:
        entry = self.registry.get(device_id)
        if action not in TEST_ACTIONS.get(entry.kind, ()):
            allowed = ", ".join(TEST_ACTIONS.get(entry.kind, ())) or "none"
            raise UnsupportedAction(f"{entry.kind} {device_id!r} does not do {action!r} (it does: {allowed})")
        if entry.config is None:
            raise UnsupportedAction(f"{device_id!r} is not a supported device")
        if action == "test_print":
            page = render_text_receipt("NovaPOS test print", [f"Printer: {entry.name}", f"Id: {device_id}",
                                                              f"Lane: {entry.lane_id or '-'}", "ÄÖÜ äöü ß € £"])
            job = await self._require_printing().submit(entry.lane_id or "store", device_id, page, "test-print")
            if job.status == "printed":
                return ActionResult(device_id, action, True, f"test page printed on {entry.name} (job {job.id})")
            return ActionResult(device_id, action, False, f"test page not printed on {entry.name}: "
                                f"{job.reason or job.status} (job {job.id})")
        if action == "drawer_kick":
            return await self._kick(device_id)
        if action == "scale_read":
            try:
                reading = await self._driver(device_id).read_weight()
            except DeviceError as err:
                return ActionResult(device_id, action, False, str(err))
            detail = f"{reading.status} {reading.weight_milli if reading.weight_milli is not None else ''}"
            return ActionResult(device_id, action, reading.status != "no_reply", f"{detail} {reading.unit}".strip())
        if action == "terminal_diagnostics":
            result = await self._driver(device_id).diagnostics()
            return ActionResult(device_id, action, result.status == "ok", result.message)
        # display_test
        try:
            await self._driver(device_id).show("NovaPOS display test", "0123456789ABCDEFGHIJ")
        except DeviceError as err:
            return ActionResult(device_id, action, False, str(err))
        return ActionResult(device_id, action, True)

    # --- events ---
    async def events(self, lane_id: str, since_seq: int = 0) -> AsyncIterator[HubEvent]:
        async for event in self.bus.subscribe(str(lane_id), since_seq):
            yield event

    # --- internals ---
    def _require_printing(self) -> PrintService:
        if self._printing is None:
            raise RuntimeError("HardwareHub.start() has not been called")
        return self._printing

    async def _kick(self, drawer_id: str) -> ActionResult:
        drawer = self.registry.get(drawer_id).config
        assert drawer is not None
        printer = self._printer_driver(drawer.via)
        if printer is None:
            return ActionResult(drawer_id, "drawer_kick", False, f"printer {drawer.via!r} not available")
        try:
            await printer.send_raw(drawer_kick(drawer.drawer_pin, drawer.drawer_pulse_ms, drawer.drawer_pulse_ms * 2))
        except DeviceError as err:
            self._set_status(drawer_id, "unavailable")
            return ActionResult(drawer_id, "drawer_kick", False, str(err))
        self._set_status(drawer_id, "ok")
        return ActionResult(drawer_id, "drawer_kick", True)

    def _printer_driver(self, printer_id: str) -> PrinterDriver | None:
        try:
            return self._driver(printer_id)
        except (UnknownLane, UnsupportedAction, DeviceError, LookupError):
            return None

    def _driver(self, device_id: str) -> Any:
        if device_id in self._drivers:
            return self._drivers[device_id]
        entry = self.registry.get(device_id)
        config = entry.config
        if config is None or not entry.supported:
            raise UnsupportedAction(f"{device_id!r} is not a supported device")

        def connect() -> Transport:
            return self._transport_factory(config)

        c = self.config
        if config.kind == "printer":
            driver: Any = PrinterDriver(device_id, connect, c.printer_status_timeout_s)
        elif config.kind == "scale":
            cls = AdamScaleDriver if config.effective_protocol == "adam" else ScaleDriver
            driver = cls(device_id, connect, unit=config.unit, settle_timeout=c.scale_settle_timeout_s)
        elif config.kind == "terminal":
            lane = entry.lane_id

            def prompt(ref: str, text: str) -> None:
                self.bus.publish(lane, "terminal_prompt", device_id=device_id, ref=ref, text=text)

            driver = TerminalDriver(device_id, connect, c.terminal_ack_timeout_s, c.terminal_reply_timeout_s,
                                    config.lost_reply, on_prompt=prompt)
        elif config.kind == "display":
            driver = DisplayDriver(device_id, connect)
        else:
            raise UnsupportedAction(f"{config.kind} {device_id!r} has no command driver")
        self._drivers[device_id] = driver
        return driver

    @staticmethod
    def _default_transport(config: DeviceConfig) -> Transport:
        return transport_for(config.address, PortSettings.parse(config.effective_port_settings))

    async def _attach(self, entry: RegistryEntry) -> None:
        wanted = entry.config is not None and (entry.source != "input" or entry.lane_id is not None
                                               or self.config.device(entry.id) is not None)
        if entry.kind == "scanner" and entry.present and wanted and entry.id not in self._scanners:
            assert entry.config is not None
            lane = entry.lane_id

            def on_scan(barcode: str) -> None:
                self.bus.publish(lane, "scan", device_id=entry.id, barcode=barcode)

            def on_status(status: str) -> None:
                self._set_status(entry.id, status)

            scanner = ScannerDriver(entry.id, entry.address, on_scan, on_status, layout=entry.config.layout,
                                    gap_ms=entry.config.gap_ms, opener=self._input_opener)
            self._scanners[entry.id] = scanner
            await scanner.start()

    async def _detach(self, entry: RegistryEntry) -> None:
        scanner = self._scanners.pop(entry.id, None)
        if scanner is not None:
            await scanner.stop()
        driver = self._drivers.pop(entry.id, None)
        if driver is not None and hasattr(driver, "close"):
            with contextlib.suppress(DeviceError, OSError):
                await driver.close()

    async def _poll_forever(self) -> None:
        loop = asyncio.get_running_loop()
        next_printer_check = loop.time() + self.config.printer_status_every_s
        while True:
            await asyncio.sleep(self.config.discovery.poll_interval_s)
            try:
                await self.poll()
                if loop.time() >= next_printer_check:
                    next_printer_check = loop.time() + self.config.printer_status_every_s
                    await self._refresh_printer_status()
            except Exception:  # a discovery hiccup must never kill hotplug for good
                log.exception("hardware.poll_failed")

    async def _refresh_printer_status(self) -> None:
        async def check(device_id: str) -> None:
            try:
                status = await self._driver(device_id).status()
            except (DeviceError, UnsupportedAction):
                self._set_status(device_id, "offline")
                return
            new = {"low": "paper_low", "out": "paper_out"}.get(status.paper, "ok") if status.online else "offline"
            if new in ("paper_low", "paper_out") and self._status.get(device_id) != new:
                self.bus.publish(self.registry.lane_of(device_id), new, printer_id=device_id)
            self._set_status(device_id, new)

        printers = [e.id for e in self.registry.entries.values()
                    if e.kind == "printer" and e.present and e.config is not None]
        await asyncio.gather(*(check(device_id) for device_id in printers))

    def _set_status(self, device_id: str, status: str) -> None:
        previous = self._status.get(device_id)
        self._status[device_id] = status
        if previous is not None and previous != status:
            lane = self.registry.lane_of(device_id)
            self.bus.publish(lane, "device_status", device_id=device_id, status=status, previous=previous)

    def _device(self, entry: RegistryEntry) -> Device:
        if not entry.supported:
            status = "unsupported"
        elif not entry.present:
            status = "unplugged"
        elif entry.kind == "scanner" and entry.id in self._scanners:
            status = self._scanners[entry.id].status
        elif entry.kind == "drawer" and entry.config is not None:
            status = self._status.get(entry.id) or _drawer_status(self._status.get(entry.config.via))
        else:
            status = self._status.get(entry.id, "ok" if entry.config is not None else "idle")
        return Device(id=entry.id, kind=entry.kind, name=entry.name, status=status, lane_id=entry.lane_id,
                      source=entry.source, address=entry.address)


def _drawer_status(printer_status: str | None) -> str:
    # The drawer works whenever its printer is reachable, even with no paper.
    return "offline" if printer_status == "offline" else "ok"
