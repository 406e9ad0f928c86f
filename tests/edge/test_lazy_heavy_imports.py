"""Libraries that only rare paths use load with their first use, not at start (ARCHITECTURE.md,
"Memory on a small box"): phone numbers with the first request that carries one, zeroconf only
on a store that advertises itself. The features work the same on first use."""

from __future__ import annotations

import subprocess
import sys

from tests.support import EdgeServer, free_port


def _fresh(code: str) -> list[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()


def test_a_phone_number_normalises_on_first_use_in_a_fresh_process():
    out = _fresh("import sys; from edge.contracts import pii; loaded = 'phonenumbers' in sys.modules; "
                 "print(loaded, pii.normalize_phone('(415) 555-0132'), pii.normalize_phone('+44 20 7946 0958'))")
    assert out == ["False", "+14155550132", "+442079460958"]


def test_a_bad_phone_number_is_still_refused_on_first_use():
    out = _fresh("from edge.contracts import pii\n"
                 "try:\n    pii.normalize_phone('12')\nexcept pii.PiiError as err:\n    print('refused')")
    assert out == ["refused"]


def test_a_store_that_advertises_builds_its_advertiser_on_demand():
    out = _fresh("import sys; from types import SimpleNamespace as NS; "
                 "from edge.adapters.store_advert import advertiser_for; "
                 "loaded = 'zeroconf' in sys.modules; "
                 "s = NS(hardware=NS(mdns=True, mdns_interfaces=['127.0.0.1']), demo=False, "
                 "server=NS(host='127.0.0.1', port=8080), store=NS(store_id='s1', tenant_id='t1')); "
                 "a = advertiser_for(s); print(loaded, type(a).__name__, a.info.port)")
    assert out == ["False", "StoreAdvertiser", "8080"]


def test_a_store_that_does_not_advertise_never_loads_zeroconf(tmp_path):
    # (The demo seeds customers with phone numbers, so its start does load phonenumbers.)
    server = EdgeServer(tmp_path / "data", free_port(),
                        {"NOVAPOS_HARDWARE_MODE": "off", "PYTHONPROFILEIMPORTTIME": "1"})
    server.start(timeout=120)  # import profiling slows the start
    try:
        imported = {line.split("|")[-1].strip() for line in server.log.read_text().splitlines()
                    if line.startswith("import time:")}
        assert "edge.adapters.store_advert" in imported  # the log does list the module that uses it
        assert "zeroconf" not in imported
    finally:
        server.stop()
