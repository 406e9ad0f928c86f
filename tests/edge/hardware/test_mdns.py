"""The store box announces itself as _novapos._tcp.local. (on loopback only, in tests)."""

from __future__ import annotations

import asyncio
import uuid

from litestar.testing import TestClient

from hardware.mdns import SERVICE_TYPE, StoreBrowser
from tests.support import free_port


def test_the_store_is_found_by_mdns_with_its_store_tenant_api_and_version(tmp_path):
    from edge.bootstrap import create_app
    from edge.settings import load_settings

    # A store id of its own: two test runs on one machine must not clash on the service name.
    port, store_id = free_port(), f"s-{uuid.uuid4().hex[:8]}"
    settings = load_settings(environ={"NOVAPOS_DATA_DIR": str(tmp_path), "NOVAPOS_STORE_TENANT_ID": "acme",
                                      "NOVAPOS_STORE_STORE_ID": store_id, "NOVAPOS_HARDWARE_MODE": "off"},
                             overrides={"server": {"port": port},
                                        "hardware": {"mdns": True, "mdns_interfaces": ["127.0.0.1"]}})

    async def browse() -> dict:
        browser = StoreBrowser(interfaces=["127.0.0.1"])
        await browser.start()
        try:
            assert await browser.wait_for(lambda found: any(a.port == port for a in found.values()), within_s=8)
            return next(a for a in browser.found.values() if a.port == port)
        finally:
            await browser.stop()

    with TestClient(create_app(settings)):
        advert = asyncio.run(browse())
    assert advert.name.endswith(SERVICE_TYPE) and advert.host == "127.0.0.1"
    assert advert.properties["store"] == store_id and advert.properties["tenant"] == "acme"
    assert advert.properties["api"] == "/api/v1" and advert.properties["version"]


def test_demo_mode_does_not_announce_itself_unless_interfaces_are_set(client):
    assert client.app.state.services.extras["hardware"].advert is None
