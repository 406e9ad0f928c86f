"""mDNS on loopback only: the appliance advert and zeroconf printer discovery."""

from __future__ import annotations

import asyncio
import socket

import pytest
from zeroconf.asyncio import AsyncServiceInfo, AsyncZeroconf

from hardware.config import HubConfig
from hardware.discovery import PDL_SERVICE
from hardware.mdns import StoreAdvertiser, StoreBrowser
from hardware.service import HardwareHub

LOOPBACK = ["127.0.0.1"]


async def test_store_is_advertised_with_store_tenant_api_and_version_txt():
    browser = StoreBrowser(interfaces=LOOPBACK)
    await browser.start()
    advertiser = StoreAdvertiser("demo-001", "demo", 8080, "0.1.0", "127.0.0.1", instance="NovaPOS test-store",
                                 interfaces=LOOPBACK)
    await advertiser.start()
    try:
        assert await browser.wait_for(lambda found: any("test-store" in n for n in found), within_s=8)
        advert = next(a for n, a in browser.found.items() if "test-store" in n)
        assert advert.port == 8080
        assert advert.properties == {"store": "demo-001", "tenant": "demo", "api": "/api/v1", "version": "0.1.0"}
        await advertiser.update(version="0.2.0")
        assert await browser.wait_for(
            lambda found: any(a.properties.get("version") == "0.2.0" for a in found.values()), within_s=8)
    finally:
        await advertiser.stop()
        await browser.stop()


@pytest.mark.slow
async def test_a_network_printer_announcing_pdl_datastream_shows_up_in_the_registry(tmp_path, printer_server):
    announcer = AsyncZeroconf(interfaces=LOOPBACK)
    info = AsyncServiceInfo(PDL_SERVICE, f"Back office TM-T88.{PDL_SERVICE}",
                            addresses=[socket.inet_aton("127.0.0.1")], port=printer_server.port, properties={"product": "(TM-T88VI)"}, server="tm.local.")
    await announcer.async_register_service(info)
    hub = HardwareHub(HubConfig.from_dict({"data_dir": str(tmp_path), "discovery": {
        "enabled": False, "zeroconf_printers": True, "zeroconf_interfaces": LOOPBACK, "poll_interval_s": 0.1}}))
    await hub.start()
    try:
        for _ in range(100):
            devices = {d.id: d for d in await hub.devices()}
            if "mdns:Back office TM-T88" in devices:
                break
            await asyncio.sleep(0.1)
        printer = devices["mdns:Back office TM-T88"]
        assert (printer.kind, printer.source, printer.address) == (
            "printer", "mdns", f"tcp://127.0.0.1:{printer_server.port}")
        result = await hub.test_action(printer.id, "test_print")
        assert result.ok, result.detail
    finally:
        await hub.stop()
        await announcer.async_unregister_all_services()
        await announcer.async_close()
