"""Shared fixtures for the hardware hub tests: simulators on real 127.0.0.1 sockets."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from hardware.simulators.hosts import TcpDeviceServer
from hardware.simulators.printer import PrinterModel
from hardware.simulators.scale import AdamScaleModel, ToledoScaleModel
from hardware.simulators.terminal import TerminalModel

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def fixture_bytes():
    def read(relative: str) -> bytes:
        return (FIXTURES / relative).read_bytes()

    return read


async def _serve(model: object) -> AsyncIterator[TcpDeviceServer]:
    server = await TcpDeviceServer(model).start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def printer_server() -> AsyncIterator[TcpDeviceServer]:
    async for server in _serve(PrinterModel()):
        yield server


@pytest.fixture
async def toledo_server() -> AsyncIterator[TcpDeviceServer]:
    async for server in _serve(ToledoScaleModel(1234)):
        yield server


@pytest.fixture
async def adam_server() -> AsyncIterator[TcpDeviceServer]:
    async for server in _serve(AdamScaleModel(750)):
        yield server


@pytest.fixture
async def terminal_server() -> AsyncIterator[TcpDeviceServer]:
    async for server in _serve(TerminalModel()):
        yield server
