"""Serial transport through pyserial.

Accepts device paths and pyserial URLs (``socket://host:port``, ``loop://``), because a
simulator on TCP is the most reliable stand-in for a scale in CI. Port settings are
injectable: a Toledo wants 9600 7E1, but a PTY from socat rejects 7-bit and parity
(termios error 22), so tests run the same driver at 8N1.
"""

from __future__ import annotations

import asyncio
import time

import msgspec
import serial

from hardware.errors import ConfigError, DeviceTimeout, DeviceUnavailable, DeviceUnplugged
from hardware.transports.base import Transport

_PARITY = {"N": serial.PARITY_NONE, "E": serial.PARITY_EVEN, "O": serial.PARITY_ODD}


class PortSettings(msgspec.Struct, frozen=True):
    baudrate: int = 9600
    bytesize: int = 8
    parity: str = "N"
    stopbits: int = 1

    @classmethod
    def parse(cls, text: str) -> PortSettings:
        """``"9600 7E1"`` -> PortSettings(9600, 7, "E", 1)."""
        try:
            baud, frame = text.split()
            return cls(int(baud), int(frame[0]), frame[1].upper(), int(frame[2]))
        except (ValueError, IndexError) as err:
            raise ConfigError(f"port settings {text!r} are not like '9600 7E1'") from err

    def __str__(self) -> str:
        return f"{self.baudrate} {self.bytesize}{self.parity}{self.stopbits}"


class SerialTransport(Transport):
    # Short pyserial timeout: reads run in a worker thread and poll the deadline.
    _POLL_S = 0.05

    def __init__(self, url: str, settings: PortSettings | None = None) -> None:
        self.url = url
        self.settings = settings or PortSettings()
        self._port: serial.SerialBase | None = None

    def __repr__(self) -> str:
        return f"SerialTransport({self.url}, {self.settings})"

    async def open(self) -> None:
        def _open() -> serial.SerialBase:
            port = serial.serial_for_url(self.url, do_not_open=True)
            port.baudrate = self.settings.baudrate
            port.bytesize = self.settings.bytesize
            port.parity = _PARITY[self.settings.parity]
            port.stopbits = self.settings.stopbits
            port.timeout = self._POLL_S
            port.write_timeout = 2.0
            port.open()
            return port

        try:
            self._port = await asyncio.to_thread(_open)
        except (serial.SerialException, OSError, ValueError) as err:
            raise DeviceUnavailable(f"cannot open {self.url} at {self.settings}: {err}") from err

    async def write(self, data: bytes) -> None:
        port = self._require_port()
        try:
            await asyncio.to_thread(port.write, data)
        except (serial.SerialException, OSError) as err:
            raise _translate(err, self.url) from err

    async def read(self, max_bytes: int = 4096, wait_s: float = 1.0) -> bytes:
        port = self._require_port()
        deadline = time.monotonic() + wait_s
        while True:
            try:
                data = await asyncio.to_thread(port.read, max(1, min(max_bytes, port.in_waiting or 1)))
            except (serial.SerialException, OSError) as err:
                raise _translate(err, self.url) from err
            if data:
                return data
            if time.monotonic() >= deadline:
                raise DeviceTimeout(f"{self.url} sent nothing within {wait_s}s")

    async def close(self) -> None:
        port, self._port = self._port, None
        if port is not None:
            await asyncio.to_thread(port.close)

    def _require_port(self) -> serial.SerialBase:
        if self._port is None:
            raise DeviceUnavailable("transport not open")
        return self._port


def _translate(err: Exception, url: str) -> Exception:
    if getattr(err, "errno", None) == 19 or "device reports readiness" in str(err):
        # pyserial's way of saying the USB adapter was pulled out.
        return DeviceUnplugged(f"{url} went away: {err}")
    return DeviceUnavailable(f"{url}: {err}")
