"""TCP transport (network printers on 9100, terminals and simulators on any port)."""

from __future__ import annotations

import asyncio

from hardware.errors import DeviceTimeout, DeviceUnavailable
from hardware.transports.base import Transport


class TcpTransport(Transport):
    def __init__(self, host: str, port: int, connect_timeout: float = 3.0) -> None:
        self.host = host
        self.port = port
        self.connect_timeout = connect_timeout
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    def __repr__(self) -> str:
        return f"TcpTransport({self.host}:{self.port})"

    async def open(self) -> None:
        try:
            self._reader, self._writer = await asyncio.wait_for(
                asyncio.open_connection(self.host, self.port), self.connect_timeout
            )
        except (OSError, TimeoutError) as err:
            raise DeviceUnavailable(f"cannot connect to {self.host}:{self.port}: {err}") from err

    async def write(self, data: bytes) -> None:
        if self._writer is None:
            raise DeviceUnavailable("transport not open")
        try:
            self._writer.write(data)
            await self._writer.drain()
        except OSError as err:
            raise DeviceUnavailable(f"write to {self.host}:{self.port} failed: {err}") from err

    async def read(self, max_bytes: int = 4096, wait_s: float = 1.0) -> bytes:
        if self._reader is None:
            raise DeviceUnavailable("transport not open")
        try:
            data = await asyncio.wait_for(self._reader.read(max_bytes), wait_s)
        except TimeoutError as err:
            raise DeviceTimeout(f"{self.host}:{self.port} sent nothing within {wait_s}s") from err
        except OSError as err:
            raise DeviceUnavailable(f"read from {self.host}:{self.port} failed: {err}") from err
        if not data:
            raise DeviceUnavailable(f"{self.host}:{self.port} closed the connection")
        return data

    async def close(self) -> None:
        writer, self._writer, self._reader = self._writer, None, None
        if writer is not None:
            writer.close()
            try:
                await writer.wait_closed()
            except OSError:
                pass  # the peer is already gone; nothing left to flush
