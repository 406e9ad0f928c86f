"""The ``novapos-hardware`` command as a technician runs it (real subprocesses)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys

import pytest

from hardware.cli import to_toml
from hardware.config import HubConfig
from hardware.service import HardwareHub
from hardware.simulators.hosts import socat_available
from tests.support import eventually

CLI = [sys.executable, "-m", "hardware.cli"]


def run(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=30, **kwargs)


@pytest.mark.parametrize("args", [["simulate", "--lanes", "zero"], ["frobnicate"], ["serve", "--port", "99999"],
                                  ["devices", "--config", "a.toml", "--simulate"], []])
def test_bad_arguments_give_one_clear_line_and_exit_2(args):
    result = run(*args)
    assert result.returncode == 2
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


def test_a_bad_config_file_names_the_problem_without_a_traceback(tmp_path):
    path = tmp_path / "novapos.toml"
    path.write_text('[hardware]\n[[hardware.devices]]\nid = "p"\nkind = "toaster"\naddress = "tcp://a:1"\n')
    result = run("devices", "--config", str(path))
    assert result.returncode == 2
    assert "kind" in result.stderr and "toaster" in result.stderr and "Traceback" not in result.stderr


def test_devices_lists_one_of_every_kind_per_lane_as_json_on_a_clean_stdout(tmp_path):
    result = run("devices", "--simulate", "--lanes", "2", "--data-dir", str(tmp_path), "--json")
    assert result.returncode == 0, result.stderr
    items = json.loads(result.stdout)["items"]  # stdout is nothing but the JSON document
    assert len(items) == 12 and {d["status"] for d in items} == {"ok"}


def test_generated_toml_loads_back_into_the_same_config(tmp_path):
    config = {"data_dir": str(tmp_path), "devices": [{"id": "p1", "kind": "printer", "address": "tcp://h:9100"}],
              "lanes": {"1": {"printer": "p1"}}, "discovery": {"enabled": False}}
    path = tmp_path / "hw.toml"
    path.write_text(to_toml(config))
    assert HubConfig.from_toml(path) == HubConfig.from_dict(config)


@pytest.mark.parametrize("pty", [False, pytest.param(True, marks=pytest.mark.skipif(
    not socat_available(), reason="socat is not installed; the TCP variant covers the protocol"))])
async def test_simulate_in_one_process_drives_a_hub_in_another(tmp_path, pty):
    """What a technician does on a bench: simulators in one terminal, the hub in another."""
    args = [*CLI, "simulate", "--lanes", "2", "--data-dir", str(tmp_path / "sim"), "--format", "json"]
    process = await asyncio.create_subprocess_exec(*(args + (["--pty"] if pty else [])),
                                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        text = ""
        while True:
            line = await asyncio.wait_for(process.stdout.readline(), 15)
            assert line, (await process.stderr.read()).decode()
            text += line.decode()
            try:
                printed = json.loads(text)
                break
            except json.JSONDecodeError:
                continue
        config = HubConfig.from_dict({**printed["hardware"], "data_dir": str(tmp_path / "hub")})
        async with HardwareHub(config) as hub:
            assert (await hub.print_receipt("1", b"\x1b@bench test\n", "BENCH-1")).status == "printed"
            assert (await hub.read_weight("1")).weight_milli == 1250  # Toledo
            assert (await hub.read_weight("2")).weight_milli == 1250  # Adam
            assert (await hub.terminal_sale("2", "BENCH-2", 100, "EUR")).status == "approved"
            scanner_fifo = next(d.address for d in config.devices if d.id == "scanner-2")

            async def type_barcode() -> bool:
                # Refused (no reader yet) until the hub's scanner driver has the FIFO open; a
                # refused write delivers nothing, so trying again cannot scan twice.
                typed = await asyncio.create_subprocess_exec(*CLI, "scan", scanner_fifo, "96385074",
                                                             stderr=subprocess.DEVNULL)
                return await typed.wait() == 0

            await eventually(type_barcode, within=15, interval=0.05, what="the hub to open the scanner FIFO")

            async def first_scan():
                async for event in hub.events("2"):
                    if event.type == "scan":
                        return event

            assert (await asyncio.wait_for(first_scan(), 10)).data["barcode"] == "96385074"
    finally:
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 10) == 0
    assert "scanner-lane1.fifo" not in os.listdir(tmp_path / "sim")  # cleaned up on exit


async def test_serve_answers_a_remote_hub_and_stops_cleanly_on_sigterm(tmp_path):
    import socket

    from hardware.client import RemoteHardwareHub

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = await asyncio.create_subprocess_exec(
        *CLI, "serve", "--simulate", "--lanes", "1", "--port", str(port), "--data-dir", str(tmp_path),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, "NOVAPOS_HARDWARE_TOKEN": "t0k"})
    try:
        async with RemoteHardwareHub(f"http://127.0.0.1:{port}", token="t0k") as remote:

            async def devices_once_serving():
                with contextlib.suppress(Exception):  # not listening yet
                    return await remote.devices()

            devices = await eventually(devices_once_serving, within=10, interval=0.1, what="the hub to serve")
            assert sorted(d.kind for d in devices) == ["display", "drawer", "printer", "scale", "scanner", "terminal"]
            assert (await remote.test_action("printer-1", "test_print")).ok
    finally:
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 10) == 0
    assert (await process.stdout.read()) == b""
