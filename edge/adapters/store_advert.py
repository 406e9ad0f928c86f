"""Announce this store box as `_novapos._tcp.local.` so lanes find it without typing a URL.

When it advertises (`hardware.mdns` on):
- on the interfaces in `hardware.mdns_interfaces` whenever that list is set (tests: 127.0.0.1);
- otherwise on every interface, but only if lanes could reach the server: not when it listens
  on loopback alone, and never in demo mode, whose users have published passwords.

Registration probes the network for about 1.7 s, so it runs in the background and the
server is ready meanwhile; a name clash is logged, not fatal (lanes keep a fallback URL).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

import structlog

if TYPE_CHECKING:  # zeroconf (3 MB resident) loads only when the store does advertise
    from hardware.mdns import StoreAdvertiser

log = structlog.get_logger()


def _version() -> str:
    try:
        return version("novapos")
    except PackageNotFoundError:
        return "0"


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    with contextlib.suppress(ValueError):
        return ipaddress.ip_address(host).is_loopback
    return False


def _primary_ip() -> str:
    # Connecting a UDP socket sends nothing; it only asks the kernel which source address it
    # would use, which is the box's LAN address.
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("10.255.255.255", 1))
            return probe.getsockname()[0]
        except OSError:
            return "127.0.0.1"


def advertiser_for(settings: Any) -> StoreAdvertiser | None:
    hw, server, store = settings.hardware, settings.server, settings.store
    interfaces = list(hw.mdns_interfaces)
    if not hw.mdns:
        return None
    if not interfaces and (settings.demo or _is_loopback(server.host)):
        log.info("mdns.off", reason="demo mode" if settings.demo else "the server listens on loopback only")
        return None
    wildcard = server.host in ("", "0.0.0.0", "::")
    host_ip = (interfaces[0] if interfaces else _primary_ip()) if wildcard or server.host == "localhost" else server.host
    from hardware.mdns import StoreAdvertiser

    return StoreAdvertiser(store.store_id, store.tenant_id, server.port, _version(), host_ip,
                           interfaces=interfaces or None)


class StoreAdvert:
    def __init__(self, advertiser: StoreAdvertiser) -> None:
        self.advertiser = advertiser
        self.registered = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._register(), name="mdns advert")

    async def _register(self) -> None:
        try:
            await self.advertiser.start()
        except Exception as err:  # a clash or a network without multicast: lanes use their fallback URL
            log.error("mdns.advert_failed", error=f"{type(err).__name__}: {err}")
            return
        self.registered.set()
        log.info("mdns.advertised", name=self.advertiser.info.name, port=self.advertiser.info.port,
                 interfaces=self.advertiser.interfaces or "all")

    async def stop(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        with contextlib.suppress(Exception):
            await self.advertiser.stop()
