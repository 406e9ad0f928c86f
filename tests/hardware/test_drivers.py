"""Drivers against the simulators over real sockets, PTYs and pipes."""

from __future__ import annotations

import asyncio

import pytest

from hardware.codecs.escpos import render_text_receipt
from hardware.drivers.display import DisplayDriver
from hardware.drivers.printer import PrinterDriver
from hardware.drivers.scale import AdamScaleDriver, ScaleDriver
from hardware.drivers.scanner import ScannerDriver
from hardware.drivers.terminal import TerminalDriver
from hardware.errors import DeviceTimeout, DeviceUnavailable, PrinterNotReady
from hardware.simulators.display import DisplayModel
from hardware.simulators.hosts import PtyDeviceHost, TcpDeviceServer, socat_available
from hardware.simulators.scale import AdamScaleModel, ToledoScaleModel
from hardware.simulators.scanner import PipeScanner
from hardware.simulators.terminal import TerminalModel
from hardware.transports import MemoryTransport, PortSettings, SerialTransport, TcpTransport
from tests.support import eventually

RECEIPT = render_text_receipt("NovaPOS", ["1 x Milk  1,20", "TOTAL     1,20"])


def printer_for(server: TcpDeviceServer, status_timeout: float = 0.5) -> PrinterDriver:
    return PrinterDriver("printer-1", lambda: TcpTransport("127.0.0.1", server.port), status_timeout)


# --- printer -----------------------------------------------------------------------------------


async def test_a_receipt_sent_over_9100_comes_out_as_readable_text(printer_server):
    status = await printer_for(printer_server).print_job(RECEIPT)
    assert status.paper == "ok"
    printed = await eventually(lambda: printer_server.model.texts, what="the receipt on paper")
    assert "TOTAL     1,20" in printed[0]


async def test_paper_low_still_prints_and_reports_low(printer_server):
    printer_server.model.set_paper("low")
    status = await printer_for(printer_server).print_job(RECEIPT)
    assert status.paper == "low"
    await eventually(lambda: len(printer_server.model.jobs) == 1, what="the receipt on paper")


async def test_paper_out_is_detected_before_sending_so_nothing_is_lost_on_the_wire(printer_server):
    printer_server.model.set_paper("out")
    with pytest.raises(PrinterNotReady) as caught:
        await printer_for(printer_server).print_job(RECEIPT)
    assert caught.value.reason == "paper_out"
    assert printer_server.model.jobs == []


async def test_printer_switched_off_mid_job_is_an_error_not_a_silent_loss(printer_server):
    printer_server.model.power_off_after_bytes = 40
    with pytest.raises((DeviceUnavailable, DeviceTimeout)):
        await printer_for(printer_server).print_job(RECEIPT)
    # The printer has taken the connection's end: the half job is lost, not printed.
    await eventually(lambda: printer_server.model.lost_jobs, what="the printer to drop the half job")
    assert printer_server.model.jobs == []


async def test_printer_that_accepts_but_never_answers_times_out(printer_server):
    printer_server.model.mute = True
    with pytest.raises(DeviceTimeout):
        await printer_for(printer_server, status_timeout=0.2).print_job(RECEIPT)


async def test_closed_printer_port_is_unavailable():
    server = await TcpDeviceServer(object()).start()
    port = server.port
    await server.stop()
    driver = PrinterDriver("gone", lambda: TcpTransport("127.0.0.1", port))
    with pytest.raises(DeviceUnavailable):
        await driver.status()


async def test_two_jobs_at_once_never_interleave_on_one_printer(printer_server):
    driver = printer_for(printer_server)
    first = render_text_receipt("FIRST", ["a" * 30] * 20)
    second = render_text_receipt("SECOND", ["b" * 30] * 20)
    await asyncio.gather(driver.print_job(first), driver.print_job(second))
    texts = await eventually(lambda: len(printer_server.model.texts) == 2 and printer_server.model.texts,
                             what="both jobs on paper")
    assert all(("a" * 30 in t) != ("b" * 30 in t) for t in texts)


# --- scales ------------------------------------------------------------------------------------


async def test_toledo_over_socket_url_reads_a_stable_weight(toledo_server):
    scale = ScaleDriver("scale-1", lambda: SerialTransport(toledo_server.socket_url))
    reading = await scale.read_weight()
    await scale.close()
    assert (reading.status, reading.weight_milli, reading.unit) == ("stable", 1234, "kg")


async def test_toledo_waits_for_motion_to_settle(toledo_server):
    model: ToledoScaleModel = toledo_server.model
    model.place(980, motion=True)
    scale = ScaleDriver("scale-1", lambda: SerialTransport(toledo_server.socket_url), settle_timeout=2.0)
    asyncio.get_running_loop().call_later(0.3, model.place, 1005)
    reading = await scale.read_weight()
    await scale.close()
    assert (reading.status, reading.weight_milli) == ("stable", 1005)


async def test_toledo_motion_that_never_settles_is_reported_as_motion_without_a_weight(toledo_server):
    toledo_server.model.place(400, motion=True)
    scale = ScaleDriver("scale-1", lambda: SerialTransport(toledo_server.socket_url), settle_timeout=0.3)
    reading = await scale.read_weight()
    await scale.close()
    assert (reading.status, reading.weight_milli) == ("motion", None)


async def test_over_capacity_and_under_zero_are_returned_at_once(toledo_server):
    scale = ScaleDriver("scale-1", lambda: SerialTransport(toledo_server.socket_url), settle_timeout=5)
    toledo_server.model.over_capacity = True
    assert (await scale.read_weight()).status == "over_capacity"
    toledo_server.model.place(-20)
    assert (await scale.read_weight()).status == "under_zero"
    await scale.close()


async def test_adam_over_socket_url_reads_and_repeats_last_weight_when_silent(adam_server):
    adam_server.model.silent_when_unchanged = True
    scale = AdamScaleDriver("scale-2", lambda: SerialTransport(adam_server.socket_url), reply_timeout=0.3)
    first = await scale.read_weight()
    second = await scale.read_weight()  # the scale says nothing: unchanged
    await scale.close()
    assert first.weight_milli == second.weight_milli == 750


@pytest.mark.skipif(not socat_available(), reason="socat is not installed; socket:// tests cover the protocol")
async def test_toledo_over_a_socat_pty_at_injected_8n1_settings():
    host = await PtyDeviceHost(ToledoScaleModel(2750)).start()
    try:
        scale = ScaleDriver("scale-pty", lambda: SerialTransport(host.device_path, PortSettings(9600, 8, "N", 1)))
        reading = await scale.read_weight()
        await scale.close()
    finally:
        await host.stop()
    assert (reading.status, reading.weight_milli) == ("stable", 2750)


@pytest.mark.skipif(not socat_available(), reason="socat is not installed; socket:// tests cover the protocol")
async def test_adam_over_a_socat_pty():
    host = await PtyDeviceHost(AdamScaleModel(1500)).start()
    try:
        scale = AdamScaleDriver("adam-pty", lambda: SerialTransport(host.device_path, PortSettings(4800, 8, "N", 1)))
        reading = await scale.read_weight()
        await scale.close()
    finally:
        await host.stop()
    assert reading.weight_milli == 1500


def test_port_settings_parse_the_way_technicians_write_them():
    assert PortSettings.parse("9600 7E1") == PortSettings(9600, 7, "E", 1)


# --- payment terminal ------------------------------------------------------------------------


def terminal_for(model: TerminalModel, prompts: list | None = None, **kwargs) -> TerminalDriver:
    kwargs.setdefault("reply_timeout", 0.4)
    return TerminalDriver("term-1", lambda: MemoryTransport(model),
                          on_prompt=(lambda ref, text: prompts.append(text)) if prompts is not None else None,
                          **kwargs)


async def test_sale_over_tcp_is_approved_with_prompts_and_masked_card(terminal_server):
    prompts: list[str] = []
    driver = TerminalDriver("term-1", lambda: TcpTransport("127.0.0.1", terminal_server.port),
                            on_prompt=lambda ref, text: prompts.append(text))
    result = await driver.sale("ORD-7", 15_000, "EUR")
    assert (result.status, result.approved_cents, result.last4, result.brand) == ("approved", 15_000, "4242", "VISA")
    assert result.auth_code and result.charged is True
    assert prompts == ["INSERT CARD", "SIGNATURE REQUIRED"]


@pytest.mark.parametrize(("fault", "status", "approved"), [("decline", "declined", 0), ("partial", "partial", 500)])
async def test_decline_and_partial_are_distinct_outcomes(fault, status, approved):
    model = TerminalModel()
    model.inject(fault)
    result = await terminal_for(model).sale("ORD-1", 1000, "EUR")
    assert (result.status, result.approved_cents) == (status, approved)


async def test_reply_lost_after_approval_is_reversed_and_the_sale_is_sent_exactly_once():
    model = TerminalModel()
    model.inject("drop_reply")
    result = await terminal_for(model).sale("ORD-9", 2500, "EUR")
    assert result.status == "reversed" and result.charged is False
    assert model.sale_frames["ORD-9"] == 1
    assert model.charged_total("ORD-9") == 0
    assert [f[0] for f in model.received] == ["SALE", "LAST", "VOID"]


async def test_reply_lost_can_be_recovered_by_last_instead_of_reversed():
    model = TerminalModel()
    model.inject("drop_reply")
    result = await terminal_for(model, lost_reply="recover").sale("ORD-10", 2500, "EUR")
    assert (result.status, result.approved_cents, result.charged) == ("approved", 2500, True)
    assert model.sale_frames["ORD-10"] == 1 and model.charged_total("ORD-10") == 2500


async def test_customer_walking_away_is_a_timeout_with_nothing_charged():
    model = TerminalModel()
    model.inject("timeout")
    result = await terminal_for(model).sale("ORD-11", 999, "EUR")
    assert (result.status, result.charged) == ("timeout", False)
    assert model.sale_frames["ORD-11"] == 1 and "ORD-11" not in model.charges


async def test_a_nak_is_retransmitted_and_the_sale_still_charges_once():
    model = TerminalModel()
    model.inject("nak", times=2)
    result = await terminal_for(model).sale("ORD-12", 700, "EUR")
    assert result.status == "approved"
    assert model.sale_frames["ORD-12"] == 1


async def test_four_naks_give_up_without_charging():
    model = TerminalModel()
    model.inject("nak", times=4)
    result = await terminal_for(model).sale("ORD-13", 700, "EUR")
    assert (result.status, result.charged) == ("unavailable", False)
    assert model.charges == {}


async def test_unreachable_terminal_sends_nothing():
    driver = TerminalDriver("term-x", lambda: MemoryTransport(fail_open=True))
    result = await driver.sale("ORD-14", 700, "EUR")
    assert (result.status, result.charged) == ("unavailable", False)


async def test_void_refund_last_and_diagnostics():
    model = TerminalModel()
    driver = terminal_for(model)
    await driver.sale("ORD-20", 1200, "EUR")
    assert (await driver.last("ORD-20")).status == "approved"
    assert (await driver.void("ORD-20")).status == "voided"
    assert (await driver.last("ORD-20")).status == "voided"
    assert (await driver.refund("ORD-21", 300, "EUR")).status == "refunded"
    assert (await driver.last("nope")).status == "not_found"
    assert (await driver.diagnostics()).status == "ok"


# --- scanner -----------------------------------------------------------------------------------


async def test_scans_arrive_through_evdevs_own_reader_and_unplug_is_reported():
    simulator = PipeScanner("de")
    scans: list[str] = []
    statuses: list[str] = []
    driver = ScannerDriver("scanner-1", simulator.path, scans.append, statuses.append, layout="de",
                           opener=simulator.open_device, reopen_every=0.05)
    await driver.start()
    try:
        await eventually(lambda: statuses == ["ok"])
        simulator.scan("4006381333931")
        simulator.scan("Zz-Yy")
        await eventually(lambda: len(scans) == 2)
        simulator.unplug()
        await eventually(lambda: statuses[-1] == "unplugged")
        simulator.replug()
        await eventually(lambda: statuses[-1] == "ok")
        simulator.scan("123")
        await eventually(lambda: len(scans) == 3)
    finally:
        await driver.stop()
    assert scans == ["4006381333931", "Zz-Yy", "123"]
    assert statuses == ["ok", "unplugged", "ok"]


async def test_the_scanner_is_grabbed_so_keys_do_not_reach_other_windows():
    simulator = PipeScanner()
    opened = []

    def opener(path):
        device = simulator.open_device(path)
        opened.append(device)
        return device

    driver = ScannerDriver("scanner-1", simulator.path, lambda _: None, lambda _: None, opener=opener)
    await driver.start()
    await eventually(lambda: opened and opened[0].grabbed)
    await driver.stop()
    simulator.close()


# --- display -------------------------------------------------------------------------------------


async def test_display_over_socket_url_shows_both_lines():
    server = await TcpDeviceServer(DisplayModel()).start()
    try:
        display = DisplayDriver("display-1", lambda: SerialTransport(server.socket_url))
        await display.show("Milk", "EUR 1,20")
        await display.show("TOTAL", "EUR 3,40")
        await eventually(lambda: server.model.lines[0].startswith("TOTAL"))
        await display.close()
    finally:
        await server.stop()
    assert server.model.lines == ["TOTAL".ljust(20), "EUR 3,40".ljust(20)]


async def test_a_serial_receipt_printer_works_through_the_same_driver(printer_server):
    driver = PrinterDriver("serial-printer", lambda: SerialTransport(printer_server.socket_url))
    await driver.print_job(RECEIPT)
    printed = await eventually(lambda: printer_server.model.texts, what="the receipt on paper")
    assert "TOTAL     1,20" in printed[0]


async def test_a_late_scale_reply_is_never_taken_for_the_next_reading():
    model = ToledoScaleModel(1000)
    transport = MemoryTransport(model)
    scale = ScaleDriver("scale-m", lambda: transport)
    await scale.read_weight()
    transport.feed(b"\x0299.999\r")  # an echo of an old request arriving late
    model.place(1500)
    assert (await scale.read_weight()).weight_milli == 1500
