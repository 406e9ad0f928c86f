"""Discovery, hotplug diffing, configuration overrides and lane assignment."""

from __future__ import annotations

import pytest

from hardware.config import HubConfig
from hardware.errors import ConfigError, UnknownLane
from hardware.registry import Registry
from hardware.service import HardwareHub
from hardware.simulators.scanner import PipeScanner

TOLEDO = "usb-Mettler_Toledo_8217_Scale_MT123-if00-port0"
FTDI = "usb-FTDI_FT232R_USB_UART_A50285BI-if00-port0"
HONEYWELL = "usb-Honeywell_Imaging___Mobility_1900_Scanner_15046B0C0F-event-kbd"
KEYBOARD = "usb-Logitech_USB_Keyboard-event-kbd"


@pytest.fixture
def by_id(tmp_path):
    serial, inputs = tmp_path / "serial", tmp_path / "input"
    serial.mkdir()
    inputs.mkdir()
    return serial, inputs


def plug(directory, name):
    (directory / name).write_text("")


def config(serial, inputs, **extra) -> HubConfig:
    return HubConfig.from_dict({"discovery": {"serial_by_id": str(serial), "input_by_id": str(inputs)}, **extra})


def test_plugging_and_unplugging_produce_added_and_removed_changes(by_id):
    serial, inputs = by_id
    registry = Registry(config(serial, inputs))
    assert registry.poll() == []
    plug(serial, TOLEDO)
    plug(inputs, HONEYWELL)
    added = registry.poll()
    assert sorted((change, e.id, e.kind) for change, e in added) == [
        ("added", f"input:{HONEYWELL}", "scanner"), ("added", f"serial:{TOLEDO}", "scale")]
    assert registry.poll() == []  # nothing changed, nothing reported
    (serial / TOLEDO).unlink()
    assert [(c, e.id) for c, e in registry.poll()] == [("removed", f"serial:{TOLEDO}")]


def test_device_ids_are_stable_by_id_names_not_tty_numbers(by_id):
    serial, inputs = by_id
    plug(serial, TOLEDO)
    first = {e.id for _, e in Registry(config(serial, inputs)).poll()}
    second = {e.id for _, e in Registry(config(serial, inputs)).poll()}
    assert first == second == {f"serial:{TOLEDO}"}


def test_unsupported_devices_are_listed_and_a_plain_keyboard_is_never_taken_for_a_scanner(by_id):
    serial, inputs = by_id
    plug(serial, FTDI)
    plug(inputs, KEYBOARD)
    registry = Registry(config(serial, inputs))
    registry.poll()
    kinds = {e.id: (e.kind, e.supported) for e in registry.entries.values()}
    assert kinds == {f"serial:{FTDI}": ("unknown", False), f"input:{KEYBOARD}": ("unknown", False)}


def test_configuration_overrides_what_detection_guessed(by_id):
    serial, inputs = by_id
    plug(serial, FTDI)  # an anonymous USB-serial adapter: detection cannot know it is a scale
    registry = Registry(config(serial, inputs, devices=[
        {"id": "scale-1", "kind": "scale", "protocol": "adam", "match": FTDI, "name": "Deli scale"}],
        lanes={"1": {"scale": "scale-1"}}))
    registry.poll()
    assert list(registry.entries) == ["scale-1"]
    entry = registry.entries["scale-1"]
    assert (entry.kind, entry.name, entry.source, entry.lane_id) == ("scale", "Deli scale", "serial", "1")
    assert entry.address.endswith(FTDI)
    assert entry.config.effective_port_settings == "4800 8N1"


def test_configured_serial_device_that_is_absent_is_listed_as_not_present(by_id):
    serial, inputs = by_id
    registry = Registry(config(serial, inputs, devices=[
        {"id": "scale-1", "kind": "scale", "address": str(serial / TOLEDO)}]))
    registry.poll()
    assert registry.entries["scale-1"].present is False
    plug(serial, TOLEDO)
    assert [(c, e.id) for c, e in registry.poll()] == [("added", "scale-1")]


def test_lane_assignment_answers_which_device_serves_a_lane(by_id):
    serial, inputs = by_id
    registry = Registry(config(serial, inputs, devices=[
        {"id": "p1", "kind": "printer", "address": "tcp://10.0.0.5:9100"},
        {"id": "d1", "kind": "drawer", "via": "p1"}],
        lanes={"1": {"printer": "p1", "drawer": "d1"}, "2": {"printer": "p1"}}))
    assert registry.lane_device_id("2", "printer") == "p1"  # lanes may share a printer
    with pytest.raises(UnknownLane, match="no drawer"):
        registry.lane_device_id("2", "drawer")


@pytest.mark.parametrize(("data", "message"), [
    ({"devices": [{"id": "x", "kind": "toaster", "address": "tcp://a:1"}]}, "kind"),
    ({"devices": [{"id": "x", "kind": "scale", "protocol": "bizerba", "address": "/dev/x"}]}, "protocol"),
    ({"devices": [{"id": "x", "kind": "drawer"}]}, "via"),
    ({"devices": [{"id": "x", "kind": "printer"}]}, "address"),
    ({"devices": [{"id": "p", "kind": "printer", "address": "tcp://a:1"}], "lanes": {"1": {"scale": "p"}}},
     "is a printer"),
    ({"lanes": {"1": {"printr": "p"}}}, "printr"),
])
def test_bad_configuration_fails_fast_naming_the_key(data, message):
    with pytest.raises(ConfigError, match=message):
        HubConfig.from_dict(data)


def test_config_loads_from_a_toml_section(tmp_path):
    path = tmp_path / "novapos.toml"
    path.write_text('[hardware]\ndata_dir = "/tmp/x"\n[[hardware.devices]]\nid = "p1"\nkind = "printer"\n'
                    'address = "tcp://10.0.0.5:9100"\n[hardware.lanes.1]\nprinter = "p1"\n')
    config = HubConfig.from_toml(path)
    assert config.lanes["1"].printer == "p1" and config.devices[0].address == "tcp://10.0.0.5:9100"


async def test_hub_starts_a_scanner_that_appears_on_an_assigned_by_id_path(by_id, tmp_path):
    """A scanner plugged into a lane is read without restarting the hub."""
    serial, inputs = by_id
    simulator = PipeScanner()
    hub = HardwareHub(
        config(serial, inputs, data_dir=str(tmp_path / "data"), lanes={"1": {"scanner": f"input:{HONEYWELL}"}}),
        input_opener=simulator.open_device)
    await hub.start()
    try:
        plug(inputs, HONEYWELL)
        await hub.poll()
        devices = {d.id: d for d in await hub.devices()}
        assert devices[f"input:{HONEYWELL}"].lane_id == "1"
        simulator.scan("9780201379624")
        events = []
        async for event in hub.events("1"):
            events.append(event)
            if event.type == "scan":
                break
        assert [e.type for e in events] == ["device_added", "scan"]
        assert events[-1].data["barcode"] == "9780201379624"
    finally:
        await hub.stop()
        simulator.close()
