"""Customer-facing 2x20 pole display (CD5220 command set) over serial or TCP."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from hardware.codecs import display as codec
from hardware.errors import DeviceError
from hardware.transports.base import Transport


class DisplayDriver:
    def __init__(self, device_id: str, transport_factory: Callable[[], Transport]) -> None:
        self.device_id = device_id
        self._transport_factory = transport_factory
        self.lock = asyncio.Lock()
        self._transport: Transport | None = None
        self.lines = ("", "")

    async def show(self, line1: str, line2: str = "") -> None:
        async with self.lock:
            try:
                if self._transport is None:
                    transport = self._transport_factory()
                    await transport.open()
                    await transport.write(codec.initialize())
                    self._transport = transport
                await self._transport.write(codec.show(line1, line2))
                self.lines = (codec.fit(line1).rstrip(), codec.fit(line2).rstrip())
            except DeviceError:
                await self.close()  # reopen on the next call; a display is never worth a retry loop
                raise

    async def close(self) -> None:
        transport, self._transport = self._transport, None
        if transport is not None:
            await transport.close()
