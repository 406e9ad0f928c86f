"""Advertise the store appliance as ``_novapos._tcp.local.`` so lanes find it by name.

TXT: ``store``, ``tenant``, ``api=/api/v1``, ``version``. Store Wi-Fi often blocks multicast,
so lanes also keep a configured fallback URL; this is a convenience, never the only way in.
Interfaces are injectable: tests advertise on 127.0.0.1 only.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable

import msgspec
from zeroconf import IPVersion, ServiceStateChange, Zeroconf
from zeroconf.asyncio import AsyncServiceBrowser, AsyncServiceInfo, AsyncZeroconf

SERVICE_TYPE = "_novapos._tcp.local."


class Advertisement(msgspec.Struct, frozen=True):
    name: str
    host: str
    port: int
    properties: dict[str, str]


def _zeroconf(interfaces: list[str] | None) -> AsyncZeroconf:
    if interfaces:
        return AsyncZeroconf(interfaces=interfaces, ip_version=IPVersion.V4Only)
    return AsyncZeroconf()


class StoreAdvertiser:
    def __init__(self, store_id: str, tenant_id: str, port: int, version: str, host_ip: str,
                 instance: str | None = None, interfaces: list[str] | None = None, api: str = "/api/v1") -> None:
        self.instance = instance or f"NovaPOS {store_id}"
        self.info = AsyncServiceInfo(
            SERVICE_TYPE, f"{self.instance}.{SERVICE_TYPE}",
            addresses=[socket.inet_aton(host_ip)], port=port,
            properties={"store": store_id, "tenant": tenant_id, "api": api, "version": version},
            server=f"novapos-{store_id}.local.",
        )
        self.interfaces = interfaces
        self._zc: AsyncZeroconf | None = None

    async def start(self) -> None:
        self._zc = _zeroconf(self.interfaces)
        # Raises NonUniqueNameException when another box already uses the name.
        await self._zc.async_register_service(self.info)

    async def update(self, **properties: str) -> None:
        assert self._zc is not None
        merged = {**self.info.decoded_properties, **properties}
        self.info = AsyncServiceInfo(SERVICE_TYPE, self.info.name, addresses=self.info.addresses,
                                     port=self.info.port, properties=merged, server=self.info.server)
        await self._zc.async_update_service(self.info)

    async def stop(self) -> None:
        if self._zc is not None:
            await self._zc.async_unregister_all_services()
            await self._zc.async_close()
            self._zc = None


class StoreBrowser:
    """Finds advertised stores (used by tests and by provisioning's doctor)."""

    def __init__(self, interfaces: list[str] | None = None, service_type: str = SERVICE_TYPE,
                 on_change: Callable[[str, Advertisement | None], None] | None = None) -> None:
        self.interfaces = interfaces
        self.service_type = service_type
        self.found: dict[str, Advertisement] = {}
        self._on_change = on_change
        self._zc: AsyncZeroconf | None = None
        self._browser: AsyncServiceBrowser | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._zc = _zeroconf(self.interfaces)
        self._browser = AsyncServiceBrowser(self._zc.zeroconf, self.service_type, handlers=[self._handle])

    def _handle(self, zeroconf: Zeroconf, service_type: str, name: str, state_change: ServiceStateChange) -> None:
        if state_change is ServiceStateChange.Removed:
            self.found.pop(name, None)
            if self._on_change:
                self._on_change(name, None)
            return
        task = asyncio.ensure_future(self._resolve(service_type, name))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _resolve(self, service_type: str, name: str) -> None:
        info = AsyncServiceInfo(service_type, name)
        if self._zc is None or not await info.async_request(self._zc.zeroconf, 3000):
            return
        properties = {k: v or "" for k, v in info.decoded_properties.items()}
        advert = Advertisement(name=name, host=(info.parsed_addresses() or [""])[0], port=info.port or 0,
                               properties=properties)
        self.found[name] = advert
        if self._on_change:
            self._on_change(name, advert)

    async def wait_for(self, predicate: Callable[[dict[str, Advertisement]], bool], within_s: float = 5.0) -> bool:
        deadline = asyncio.get_running_loop().time() + within_s
        while asyncio.get_running_loop().time() < deadline:
            if predicate(self.found):
                return True
            await asyncio.sleep(0.05)
        return predicate(self.found)

    async def stop(self) -> None:
        if self._browser is not None:
            await self._browser.async_cancel()
        if self._zc is not None:
            await self._zc.async_close()
        self._browser = self._zc = None
