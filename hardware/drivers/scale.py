"""Serial scale drivers: Mettler Toledo 8217 (``W``) and Adam (``P``).

A reading in motion is retried until it settles or ``settle_timeout`` passes, because a
cashier puts the bag down and presses the button in the same movement. Over capacity and
under zero are returned at once: waiting will not fix them.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from hardware.codecs import scale as codec
from hardware.codecs.scale import ScaleReading
from hardware.errors import DeviceError, DeviceTimeout, FrameError
from hardware.transports.base import Transport


class ScaleDriver:
    protocol = "toledo"

    def __init__(self, device_id: str, transport_factory: Callable[[], Transport], unit: str = "kg",
                 reply_timeout: float = 1.0, settle_timeout: float = 2.0, retry_every: float = 0.1) -> None:
        self.device_id = device_id
        self._transport_factory = transport_factory
        self.unit = unit
        self.reply_timeout = reply_timeout
        self.settle_timeout = settle_timeout
        self.retry_every = retry_every
        self.lock = asyncio.Lock()
        self._transport: Transport | None = None
        self.last_reading: ScaleReading | None = None

    async def read_weight(self) -> ScaleReading:
        async with self.lock:
            deadline = time.monotonic() + self.settle_timeout
            while True:
                reading = await self._read_once()
                if reading.status != "motion" or time.monotonic() >= deadline:
                    self.last_reading = reading
                    return reading
                await asyncio.sleep(self.retry_every)

    async def close(self) -> None:
        transport, self._transport = self._transport, None
        if transport is not None:
            await transport.close()

    async def _read_once(self) -> ScaleReading:
        # The serial port stays open between readings; any error reopens it next time.
        if self._transport is None:
            transport = self._transport_factory()
            await transport.open()
            self._transport = transport
        try:
            return await self._exchange(self._transport)
        except DeviceTimeout:
            return await self._on_silence()
        except (DeviceError, FrameError):
            await self.close()
            raise

    async def _on_silence(self) -> ScaleReading:
        return ScaleReading(status="no_reply", unit=self.unit)

    async def _exchange(self, transport: Transport) -> ScaleReading:
        await transport.discard_input()  # a late reply to an earlier request is stale now
        await transport.write(codec.TOLEDO_REQUEST)
        head = await transport.read_exact(2, self.reply_timeout)
        if head[:1] != b"\x02":
            raise FrameError(f"Toledo reply must start with STX, got {head!r}")
        if head[1:2] == b"?":
            frame = head + await transport.read_exact(2, self.reply_timeout)
        else:
            frame = head + await transport.read_until(b"\r", self.reply_timeout)
        return codec.decode_toledo(frame, self.unit)


class AdamScaleDriver(ScaleDriver):
    protocol = "adam"

    def __init__(self, *args: object, silent_means_unchanged: bool = True, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.silent_means_unchanged = silent_means_unchanged

    async def _exchange(self, transport: Transport) -> ScaleReading:
        await transport.discard_input()
        await transport.write(codec.ADAM_REQUEST)
        return codec.decode_adam(await transport.read_until(b"\n", self.reply_timeout))

    async def _on_silence(self) -> ScaleReading:
        # Adam scales in "print on change" mode say nothing when the weight is unchanged.
        if self.silent_means_unchanged and self.last_reading is not None and self.last_reading.is_stable:
            return self.last_reading
        return ScaleReading(status="no_reply", unit=self.unit)
