"""RemoteHardwareHub against ``novapos-hardware serve`` (uvicorn on a random 127.0.0.1 port)."""

from __future__ import annotations

import asyncio
import contextlib
import socket

import pytest
import uvicorn

from hardware.client import RemoteHardwareHub
from hardware.codecs.escpos import render_text_receipt
from hardware.errors import HardwareError, UnknownDevice, UnknownLane, UnsupportedAction
from hardware.server import create_app
from hardware.service import HardwareHub
from tests.support import eventually


@contextlib.asynccontextmanager
async def serving(app):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on", timeout_graceful_shutdown=1))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    await eventually(lambda: server.started, what="uvicorn to start")  # it offers no event to await
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 5)


@pytest.fixture
async def remote(tmp_path):
    hub = await HardwareHub.simulated(lanes=2, data_dir=tmp_path)
    async with serving(create_app(hub, token="s3cret")) as url:
        client = RemoteHardwareHub(url, token="s3cret")
        try:
            yield hub, client
        finally:
            await client.stop()
    await hub.stop()


async def test_devices_over_http_match_the_in_process_hub(remote):
    hub, client = remote
    assert await client.devices() == await hub.devices()


async def test_print_drawer_scale_terminal_display_and_tests_over_http(remote):
    hub, client = remote
    job = await client.print_receipt("1", render_text_receipt("Remote", ["ok"]), "ORD-R1")
    assert job.status == "printed"
    assert [j.id for j in await client.jobs(5)] == [job.id]
    assert (await client.kick_drawer("1")).ok
    assert (await client.read_weight("2")).weight_milli == 1250
    sale = await client.terminal_sale("1", "ORD-R1", 990, "EUR")
    assert (sale.status, sale.last4) == ("approved", "4242")
    assert (await client.terminal_last("1", "ORD-R1")).status == "approved"
    assert (await client.terminal_void("1", "ORD-R1")).status == "voided"
    assert (await client.terminal_refund("1", "RET-R1", 100, "EUR")).status == "refunded"
    assert (await client.show_on_display("2", "Hello", "there")).ok
    assert (await client.test_action("terminal-2", "terminal_diagnostics")).ok
    printed = await eventually(lambda: hub.simulators.lane(1).printer.texts, what="the receipt on paper")
    assert "Remote" in printed[0]


async def test_failed_print_and_reprint_over_http(remote):
    hub, client = remote
    hub.simulators.lane(2).printer.set_paper("out")
    job = await client.print_receipt("2", b"receipt\n", "ORD-R2")
    assert (job.status, job.reason) == ("failed", "paper_out")
    hub.simulators.lane(2).printer.set_paper("ok")
    assert (await client.reprint(job.id)).status == "printed"


async def test_caller_errors_keep_their_type_across_the_wire(remote):
    _, client = remote
    with pytest.raises(UnknownLane):
        await client.read_weight("7")
    with pytest.raises(UnknownDevice):
        await client.test_action("nope", "test_print")
    with pytest.raises(UnsupportedAction):
        await client.test_action("printer-1", "scale_read")


async def test_lane_events_stream_with_replay_from_a_sequence_number(remote):
    hub, client = remote
    hub.simulators.lane(1).scan("111")
    hub.simulators.lane(1).scan("222")
    await eventually(lambda: hub.bus.last_seq("1") == 2, what="both scans published")

    async def first(since: int, count: int, out: list) -> list:
        async for event in client.events("1", since):
            out.append(event)
            if len(out) == count:
                break
        return out

    both = await asyncio.wait_for(first(0, 2, []), 3)
    assert [e.data["barcode"] for e in both] == ["111", "222"]
    received: list = []
    replay = asyncio.create_task(first(both[0].seq, 2, received))
    # Once the replayed event has arrived, the stream is live: the next scan is not history.
    await eventually(lambda: len(received) == 1, what="the replayed scan")
    hub.simulators.lane(1).scan("333")
    events = await asyncio.wait_for(replay, 3)
    assert [(e.seq, e.data["barcode"]) for e in events] == [(2, "222"), (3, "333")]


async def test_a_wrong_token_is_refused(remote):
    _, client = remote
    url = str(client._http.base_url).removesuffix("/api/v1")
    async with RemoteHardwareHub(url, token="wrong") as intruder:
        with pytest.raises(HardwareError):
            await intruder.devices()
