"""The edge's hardware port: starts the hub the settings ask for and wires it into the store.

    hardware.mode = "embedded"   HardwareHub in this process, devices from `hardware.hub_config`;
                                 simulators instead (one device of every kind per lane) in
                                 demo mode or with `hardware.simulate`
    hardware.mode = "remote"     RemoteHardwareHub against `novapos-hardware serve` (same interface)
    hardware.mode = "off"        no hub: sales go on, nothing prints

`services.hardware` holds the hub (or None); `services.extras["hardware"]` the runtime around
it: the device reactor (receipts, drawer, display after each committed sale), the mDNS advert
and the lane-event epoch. This hook runs *before* the sales hook: sales takes its card
terminal from `services.hardware.payment_terminal` and recovers in-flight card payments
through it at start.

Hub errors become problem details here, in one place (`device_errors`).
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import msgspec
import structlog

from edge.adapters.device_reactor import DeviceReactor
from edge.adapters.payments.hardware_terminal import HubTerminal
from edge.adapters.store_advert import StoreAdvert, advertiser_for
from edge.domain.errors import DomainError, NotFound, ValidationFailed
from hardware.bus import EventBus
from hardware.client import RemoteHardwareHub
from hardware.config import HubConfig
from hardware.errors import DeviceError, HardwareError, UnknownDevice, UnknownLane, UnsupportedAction

log = structlog.get_logger()


class HardwareUnavailable(DomainError):
    """503: the hub is off or cannot be reached, or the device did not answer."""

    status = 503
    default_code = "hardware-unavailable"


@dataclass
class HardwareRuntime:
    hub: Any
    mode: str  # embedded | simulated | remote | off
    # Lane event numbers restart with the hub. A lane that reconnects with a seq from an
    # earlier epoch is replayed from the start instead of waiting for numbers it already saw.
    epoch: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    reactor: DeviceReactor | None = None
    advert: StoreAdvert | None = None
    # Lane events the store server raises itself (a LAN card terminal's prompts) when no hub runs
    # in this process to carry them: the lane's socket relays them whatever the hub mode.
    local: EventBus = field(default_factory=lambda: EventBus(buffer_size=200))


def runtime_of(services: Any) -> HardwareRuntime:
    extras = services.extras if isinstance(services.extras, dict) else {}
    found = extras.get("hardware")
    if found is None:  # kept, so events published on its local bus reach the lanes' sockets
        found = extras["hardware"] = HardwareRuntime(hub=None, mode="off")
    return found


def hub_mode(settings: Any) -> str:
    hw = settings.hardware
    if hw.mode == "embedded" and (settings.demo or hw.simulate):
        return "simulated"
    return hw.mode


async def open_hub(settings: Any) -> Any | None:
    hw = settings.hardware
    mode = hub_mode(settings)
    if mode == "off":
        return None
    if mode == "remote":
        hub = RemoteHardwareHub(hw.url, token=hw.token or None)
        try:
            await hub.start()
        except HardwareError as err:
            # The hardware service may start after us or restart; sales never wait for it.
            log.warning("hardware.remote_unreachable", url=hw.url, error=str(err))
        return hub
    # The in-process hub brings its drivers (python-escpos with Pillow, evdev, pyserial): only a
    # box that drives its devices itself pays for them, not one whose hub runs elsewhere or is off.
    from hardware.service import HardwareHub

    data_dir = settings.data_dir / "hardware"
    if mode == "simulated":
        return await HardwareHub.simulated(lanes=settings.store.lanes, data_dir=data_dir)
    config = HubConfig.from_toml(hw.hub_config) if hw.hub_config else HubConfig()
    if config.data_dir == HubConfig().data_dir:  # not chosen explicitly: keep it with the store's data
        config = msgspec.structs.replace(config, data_dir=str(data_dir))
    hub = HardwareHub(config)
    await hub.start()
    return hub


def wants_hub_terminal(settings: Any, hub: Any) -> bool:
    choice = settings.hardware.card_terminal
    if hub is None:
        if choice == "hub":
            log.warning("payments.no_hub_terminal", reason="hardware is off; card sales use the simulated terminal")
        return False
    # Demo mode keeps the in-process simulated terminal unless asked: the sales suite scripts it.
    return choice == "hub" or (choice == "auto" and not settings.demo)


def payment_lane_lookup(db: Any) -> Any:
    async def lane_of(payment_id: str) -> str | None:
        row = await db.read(lambda c: c.exec_driver_sql(
            "SELECT o.lane_id FROM payments p JOIN orders o ON o.id = p.order_id WHERE p.id = ?",
            (payment_id,)).first())
        return str(row[0]) if row is not None and row[0] is not None else None

    return lane_of


async def start_hardware(services: Any) -> None:
    settings = services.settings
    hub = await open_hub(settings)
    runtime = HardwareRuntime(hub=hub, mode=hub_mode(settings))
    services.hardware = hub
    services.extras["hardware"] = runtime
    if hub is not None:
        if wants_hub_terminal(settings, hub):
            # The hook the sales composition reads (edge.bootstrap_sales.start_sales).
            hub.payment_terminal = HubTerminal(hub, payment_lane_lookup(services.db))
        runtime.reactor = DeviceReactor(services, hub)
        runtime.reactor.start()
    advertiser = advertiser_for(settings)
    if advertiser is not None:
        runtime.advert = StoreAdvert(advertiser)
        runtime.advert.start()
    log.info("hardware.on" if hub is not None else "hardware.off", mode=runtime.mode,
             card_terminal="hub" if getattr(hub, "payment_terminal", None) else "simulated")


async def stop_hardware(services: Any) -> None:
    runtime: HardwareRuntime | None = (services.extras or {}).get("hardware")
    if runtime is None:
        return
    if runtime.advert is not None:
        await runtime.advert.stop()
    if runtime.reactor is not None:
        await runtime.reactor.stop()
    if runtime.hub is not None:
        await runtime.hub.stop()
    services.hardware = None


@contextlib.contextmanager
def device_errors(not_found: str = "device-not-found") -> Iterator[None]:
    """Hub errors as problem details: the caller's mistakes are 404/422, the device's are 503."""
    try:
        yield
    except UnknownDevice as err:
        raise NotFound(str(err), code=not_found) from err
    except UnknownLane as err:
        raise NotFound(str(err), code="no-such-lane-device") from err
    except UnsupportedAction as err:
        raise ValidationFailed(str(err), code="unsupported-action") from err
    except DeviceError as err:
        raise HardwareUnavailable(str(err), code="device-unavailable") from err
    except HardwareError as err:
        raise HardwareUnavailable(str(err)) from err


def require_hub(services: Any) -> Any:
    hub = services.hardware
    if hub is None:
        raise HardwareUnavailable("hardware is switched off on this store server (hardware.mode = \"off\")",
                                  code="hardware-off")
    return hub


async def reprint_job(services: Any, actor: Any, job_id: str) -> Any:
    """Print a journaled job again.

    A job that never came out (failed, or still queued) is resent byte for byte: that paper
    is the original. A receipt that did print is rendered again from the stored order and
    marked COPY, so a reprint can never pass for a second sale.
    """
    from edge.adapters.receipts_escpos import render_escpos
    from edge.service.receipts import record_print

    hub = require_hub(services)
    with device_errors(not_found="print-job-not-found"):
        original = next((job for job in await hub.jobs(500) if job.id == job_id), None)
        job = None
        if original is not None and original.status == "printed":
            try:
                receipt = await services.uow.run(actor, lambda u: record_print(u, original.ref, source="reprint"))
            except NotFound:
                receipt = None  # not an order (a test page): resend it as it was
            if receipt is not None:
                job = await hub.print_receipt(original.lane_id, render_escpos(msgspec.structs.replace(receipt, copy=True)),
                                              ref=original.ref)
        if job is None:
            job = await hub.reprint(job_id)
    after = {"job_id": job.id, "reprint_of": job_id, "ref": job.ref, "status": job.status}
    await services.uow.run(actor, lambda u: u.audit("print_job.reprinted", "print_job", job_id, None, after))
    return job
