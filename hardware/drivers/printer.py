"""ESC/POS receipt printer driver (network 9100, USB, serial).

Per job: connect, check status, send, check status again, disconnect. Connecting once per
job (not holding a socket open) survives printers that reboot between jobs, and checking
status *after* the job catches a printer switched off or out of paper mid-job, which
otherwise loses the print silently (python-escpos#253).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from hardware.codecs import escpos
from hardware.codecs.escpos import PrinterStatus
from hardware.errors import DeviceTimeout, DeviceUnavailable, PrinterNotReady
from hardware.transports.base import Transport


class PrinterDriver:
    def __init__(self, device_id: str, transport_factory: Callable[[], Transport],
                 status_timeout: float = 2.0) -> None:
        self.device_id = device_id
        self._transport_factory = transport_factory
        self.status_timeout = status_timeout
        self.lock = asyncio.Lock()
        self.last_status: PrinterStatus | None = None

    async def status(self) -> PrinterStatus:
        async with self.lock:
            transport = await self._connect()
            try:
                return await self._query(transport)
            finally:
                await transport.close()

    async def print_job(self, data: bytes) -> PrinterStatus:
        """Print ``data``; return the status after the job. Raises PrinterNotReady (paper out,
        offline, cover open), DeviceUnavailable or DeviceTimeout when the job did not print."""
        async with self.lock:
            transport = await self._connect()
            try:
                before = await self._query(transport)
                if not before.can_print:
                    raise PrinterNotReady(before.blocking_reason or "offline")
                # ESC @ first: clears half a job left in the buffer by an earlier failure.
                await transport.write(escpos.initialize() + data)
                after = await self._query(transport)
                if not after.can_print:
                    raise PrinterNotReady(after.blocking_reason or "offline")
                return after
            finally:
                await transport.close()

    async def send_raw(self, data: bytes) -> PrinterStatus:
        """Send bytes that are not a receipt (a drawer kick): offline is an error, paper out is not."""
        async with self.lock:
            transport = await self._connect()
            try:
                before = await self._query(transport)
                if not before.online:
                    raise PrinterNotReady("offline")
                await transport.write(data)
                return before
            finally:
                await transport.close()

    async def _connect(self) -> Transport:
        transport = self._transport_factory()
        await transport.open()
        return transport

    async def _query(self, transport: Transport) -> PrinterStatus:
        replies: dict[int, int] = {}
        try:
            for n in (escpos.STATUS_PRINTER, escpos.STATUS_OFFLINE, escpos.STATUS_PAPER):
                await transport.write(escpos.status_query(n))
                replies[n] = (await transport.read_exact(1, self.status_timeout))[0]
        except DeviceTimeout as err:
            # Accepts the connection but never answers: hung firmware, or not ESC/POS at all.
            self.last_status = PrinterStatus(online=False)
            raise DeviceTimeout(f"printer {self.device_id} did not answer a status query") from err
        except DeviceUnavailable:
            self.last_status = PrinterStatus(online=False)
            raise
        status = escpos.combine_status(replies[1], replies[2], replies[4])
        self.last_status = status
        return status
