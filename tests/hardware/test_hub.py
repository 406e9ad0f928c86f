"""HardwareHub end to end against a simulated store on real sockets and FIFOs."""

from __future__ import annotations

import asyncio

import pytest

from hardware.codecs.escpos import render_text_receipt
from hardware.errors import UnknownDevice, UnknownLane, UnsupportedAction
from hardware.journal import JobJournal
from hardware.service import HardwareHub
from tests.support import eventually

RECEIPT = render_text_receipt("NovaPOS", ["2 x Bread   4,00", "TOTAL       4,00"])


@pytest.fixture
async def hub(tmp_path):
    hub = await HardwareHub.simulated(lanes=3, data_dir=tmp_path, print_wait_s=3.0,
                                      discovery={"enabled": False, "poll_interval_s": 0.05})
    try:
        yield hub
    finally:
        await hub.stop()


async def collect(hub: HardwareHub, lane: str, since: int = 0, until_type: str | None = None, count: int = 100,
                  within: float = 2.0) -> list:
    events = []

    async def run() -> None:
        async for event in hub.events(lane, since):
            events.append(event)
            if event.type == until_type or len(events) >= count:
                return

    try:
        await asyncio.wait_for(run(), within)
    except TimeoutError:
        pass
    return events


async def test_every_lane_gets_one_device_of_every_kind(hub):
    devices = await hub.devices()
    assert len(devices) == 18
    for lane in ("1", "2", "3"):
        kinds = sorted(d.kind for d in devices if d.lane_id == lane)
        assert kinds == ["display", "drawer", "printer", "scale", "scanner", "terminal"]
    assert {d.status for d in devices} == {"ok"}


async def test_a_receipt_prints_on_its_lanes_printer_only(hub):
    job = await hub.print_receipt("2", RECEIPT, ref="ORD-100")
    assert job.status == "printed"
    printed = await eventually(lambda: hub.simulators.lane(2).printer.texts, what="the job on lane 2's printer")
    assert "TOTAL       4,00" in printed[0]
    assert hub.simulators.lane(1).printer.jobs == []


async def test_paper_out_fails_the_job_without_raising_and_the_reprint_prints_it(hub):
    printer = hub.simulators.lane(1).printer
    printer.set_paper("out")
    job = await hub.print_receipt("1", RECEIPT, ref="ORD-101")
    assert (job.status, job.reason) == ("failed", "paper_out")
    events = await collect(hub, "1", until_type="printer_failed")
    assert [e.type for e in events if e.type in ("paper_out", "printer_failed")] == ["paper_out", "printer_failed"]
    assert {d.id: d.status for d in await hub.devices()}["printer-1"] == "paper_out"

    printer.set_paper("ok")
    again = await hub.reprint(job.id)
    assert (again.status, again.reprint_of, again.ref) == ("printed", job.id, "ORD-101")
    printed = await eventually(lambda: printer.texts, what="the reprint on paper")
    assert "TOTAL       4,00" in printed[-1]


async def test_printer_switched_off_mid_job_is_reported_and_can_be_reprinted(hub):
    printer = hub.simulators.lane(3).printer
    printer.power_off_after_bytes = 30
    job = await hub.print_receipt("3", RECEIPT, ref="ORD-102")
    assert job.status == "failed" and job.reason in ("offline", "no_answer")
    assert printer.jobs == []
    printer.power_on()
    reprinted = await hub.reprint(job.id)
    assert reprinted.status == "printed"
    await eventually(lambda: len(printer.jobs) == 1, what="the reprint on paper")
    assert [j.ref for j in await hub.jobs(10)].count("ORD-102") == 2


async def test_a_printer_that_never_answers_does_not_block_the_sale_beyond_the_wait(tmp_path):
    hub = await HardwareHub.simulated(lanes=1, data_dir=tmp_path, print_wait_s=0.2, printer_status_timeout_s=1.0)
    try:
        hub.simulators.lane(1).printer.mute = True
        job = await hub.print_receipt("1", RECEIPT, ref="ORD-103")
        assert job.status in ("queued", "printing")  # returned while the printer still hangs

        async def settled():
            latest = (await hub.jobs(1))[0]
            return latest if latest.status not in ("queued", "printing") else None

        final = await eventually(settled, what="the hung job to be given up")
        assert (final.id, final.status, final.reason) == (job.id, "failed", "no_answer")
    finally:
        await hub.stop()


async def test_a_job_cut_off_by_power_loss_is_reported_at_next_start(tmp_path):
    journal = JobJournal(tmp_path / "print-jobs.sqlite3")
    stranded = journal.add("2", "printer-2", "ORD-104", RECEIPT)
    journal.mark(stranded.id, "printing")
    journal.close()  # the box lost power here

    hub = await HardwareHub.simulated(lanes=2, data_dir=tmp_path)
    try:
        events = await collect(hub, "2", until_type="printer_failed", within=0.5)
        assert events[0].type == "printer_failed" and events[0].data["reason"] == "interrupted"
        job = next(j for j in await hub.jobs() if j.id == stranded.id)
        assert (job.status, job.reason) == ("failed", "interrupted")
        assert (await hub.reprint(stranded.id)).status == "printed"
    finally:
        await hub.stop()


async def test_cash_drawer_kick_goes_through_the_lanes_printer(hub):
    result = await hub.kick_drawer("1")
    assert result.ok
    await eventually(lambda: hub.simulators.lane(1).printer.drawer_kicks == 1, what="the drawer pulse")
    assert hub.simulators.lane(1).printer.jobs == []  # a kick is not a receipt


async def test_drawer_still_opens_when_the_printer_is_out_of_paper(hub):
    hub.simulators.lane(1).printer.set_paper("out")
    assert (await hub.kick_drawer("1")).ok


async def test_stable_weight_is_returned_and_published_to_the_lane(hub):
    hub.simulators.lane(2).scale.place(2345)
    reading = await hub.read_weight("2")
    assert (reading.status, reading.weight_milli) == ("stable", 2345)
    events = await collect(hub, "2", until_type="weight", within=0.5)
    assert events[-1].data["weight_milli"] == 2345


async def test_scale_over_capacity_is_a_distinct_result_and_publishes_no_weight(hub):
    hub.simulators.lane(1).scale.over_capacity = True
    reading = await hub.read_weight("1")
    assert (reading.status, reading.weight_milli) == ("over_capacity", None)
    assert [e for e in await collect(hub, "1", within=0.2) if e.type == "weight"] == []


async def test_scan_reaches_its_lane_with_a_number_and_replays_after_reconnect(hub):
    hub.simulators.lane(3).scan("5901234123457")
    first = await collect(hub, "3", until_type="scan")
    assert first[-1].data["barcode"] == "5901234123457"
    seen = first[-1].seq
    hub.simulators.lane(3).scan("4006381333931")  # while the lane is "disconnected"
    await eventually(lambda: hub.bus.last_seq("3") > seen, what="the hub to publish the missed scan")
    replay = await collect(hub, "3", since=seen, until_type="scan")
    assert [e.data["barcode"] for e in replay if e.type == "scan"] == ["4006381333931"]
    assert replay[0].seq == seen + 1


async def test_scanner_unplugged_is_reported_and_removed_then_comes_back(hub):
    lane = hub.simulators.lane(1)
    lane.unplug_scanner()
    events = await collect(hub, "1", until_type="device_removed")
    assert "device_removed" in [e.type for e in events]
    assert {d.id: d.status for d in await hub.devices()}["scanner-1"] == "unplugged"
    lane.replug_scanner()
    events = await collect(hub, "1", since=events[-1].seq, until_type="device_added")
    assert events[-1].data["device_id"] == "scanner-1"
    lane.scan("123")  # the simulator holds the new FIFO open, so the keys wait there for the hub
    assert (await collect(hub, "1", since=events[-1].seq, until_type="scan"))[-1].data["barcode"] == "123"


async def test_card_sale_with_prompts_on_the_lane(hub):
    result = await hub.terminal_sale("1", "ORD-105", 12_000, "EUR")
    assert (result.status, result.approved_cents, result.last4) == ("approved", 12_000, "4242")
    prompts = [e.data["text"] for e in await collect(hub, "1", within=0.3) if e.type == "terminal_prompt"]
    assert prompts == ["INSERT CARD", "SIGNATURE REQUIRED"]


async def test_lost_terminal_reply_charges_exactly_once_and_is_reversed(tmp_path):
    hub = await HardwareHub.simulated(lanes=1, data_dir=tmp_path, terminal_reply_timeout_s=0.4)
    try:
        terminal = hub.simulators.lane(1).terminal
        terminal.inject("drop_reply")
        result = await hub.terminal_sale("1", "ORD-106", 4_200, "EUR")
        assert (result.status, result.charged) == ("reversed", False)
        assert terminal.sale_frames["ORD-106"] == 1
        assert terminal.charged_total("ORD-106") == 0
        assert (await hub.terminal_last("1", "ORD-106")).status == "voided"
    finally:
        await hub.stop()


async def test_refund_void_and_last_through_the_hub(hub):
    await hub.terminal_sale("2", "ORD-107", 1_000, "EUR")
    assert (await hub.terminal_void("2", "ORD-107")).status == "voided"
    assert (await hub.terminal_refund("2", "RET-1", 500, "EUR")).status == "refunded"
    assert (await hub.terminal_last("2", "nothing")).status == "not_found"


async def test_customer_display_shows_the_lines(hub):
    assert (await hub.show_on_display("2", "Bread x2", "EUR 4,00")).ok
    display = hub.simulators.lane(2).display
    await eventually(lambda: [line.rstrip() for line in display.lines] == ["Bread x2", "EUR 4,00"],
                     what="both lines on the customer display")


@pytest.mark.parametrize(("device_id", "action"), [
    ("printer-1", "test_print"), ("drawer-2", "drawer_kick"), ("scale-3", "scale_read"),
    ("terminal-1", "terminal_diagnostics"), ("display-1", "display_test")])
async def test_technician_test_actions_succeed_on_healthy_devices(hub, device_id, action):
    result = await hub.test_action(device_id, action)
    assert result.ok, result.detail


async def test_test_print_produces_a_readable_page(hub):
    await hub.test_action("printer-2", "test_print")
    printed = await eventually(lambda: hub.simulators.lane(2).printer.texts, what="the test page")
    assert "NovaPOS test print" in printed[0]
    assert "€" in printed[0]


async def test_caller_mistakes_raise_clear_errors(hub):
    with pytest.raises(UnsupportedAction, match="scale_read"):
        await hub.test_action("printer-1", "scale_read")
    with pytest.raises(UnknownDevice):
        await hub.test_action("nope", "test_print")
    with pytest.raises(UnknownLane):
        await hub.read_weight("9")


async def test_printing_on_a_lane_without_printer_fails_the_job_instead_of_raising(hub):
    job = await hub.print_receipt("9", RECEIPT, ref="ORD-108")
    assert (job.status, job.reason) == ("failed", "no_printer")


async def test_a_usb_printer_without_pyusb_fails_its_job_with_a_reason_instead_of_crashing(tmp_path):
    from hardware.config import HubConfig
    from hardware.transports.usb import usb_available

    if usb_available():
        pytest.skip("pyusb is installed here; this checks the missing-pyusb path")
    config = HubConfig.from_dict({"data_dir": str(tmp_path), "discovery": {"enabled": False},
                                  "devices": [{"id": "usb-printer", "kind": "printer", "address": "usb://04b8:0202"}],
                                  "lanes": {"1": {"printer": "usb-printer"}}})
    async with HardwareHub(config) as hub:
        assert {d.id: d.status for d in await hub.devices()}["usb-printer"] == "offline"
        job = await hub.print_receipt("1", RECEIPT, "ORD-USB")
        assert (job.status, job.reason) == ("failed", "offline")


async def test_paper_running_low_is_noticed_between_sales(tmp_path):
    hub = await HardwareHub.simulated(lanes=1, data_dir=tmp_path, printer_status_every_s=0.1,
                                      discovery={"enabled": False, "poll_interval_s": 0.05})
    try:
        hub.simulators.lane(1).printer.set_paper("low")
        events = await collect(hub, "1", until_type="paper_low", within=2.0)
        assert events[-1].type == "paper_low"
        assert {d.id: d.status for d in await hub.devices()}["printer-1"] == "paper_low"
    finally:
        await hub.stop()
