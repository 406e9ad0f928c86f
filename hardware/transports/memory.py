"""In-memory transport for unit tests.

Bytes written go to a ``peer`` (any object with ``receive(bytes) -> bytes``, which is what
every simulator device model offers) and its answer becomes readable. With no peer, tests
queue replies with ``feed`` and inspect ``written``.
"""

from __future__ import annotations

import asyncio
from typing import Protocol

from hardware.errors import DeviceTimeout, DeviceUnavailable
from hardware.transports.base import Transport


class Peer(Protocol):
    def receive(self, data: bytes) -> bytes: ...


class MemoryTransport(Transport):
    def __init__(self, peer: Peer | None = None, fail_open: bool = False) -> None:
        self.peer = peer
        self.fail_open = fail_open
        self.written = bytearray()
        self.is_open = False
        self.opened_count = 0
        self._incoming: asyncio.Queue[bytes] = asyncio.Queue()

    def feed(self, data: bytes) -> None:
        self._incoming.put_nowait(data)

    async def open(self) -> None:
        if self.fail_open:
            raise DeviceUnavailable("memory transport set to refuse connections")
        self.is_open = True
        self.opened_count += 1

    async def write(self, data: bytes) -> None:
        if not self.is_open:
            raise DeviceUnavailable("transport not open")
        self.written += data
        if self.peer is not None:
            reply = self.peer.receive(data)
            if reply:
                self.feed(reply)

    async def read(self, max_bytes: int = 4096, wait_s: float = 1.0) -> bytes:
        if not self.is_open:
            raise DeviceUnavailable("transport not open")
        try:
            data = await asyncio.wait_for(self._incoming.get(), wait_s)
        except TimeoutError as err:
            raise DeviceTimeout(f"memory peer sent nothing within {wait_s}s") from err
        if len(data) > max_bytes:
            self._incoming_put_front(data[max_bytes:])
            data = data[:max_bytes]
        return data

    def _incoming_put_front(self, data: bytes) -> None:
        rest = [data]
        while not self._incoming.empty():
            rest.append(self._incoming.get_nowait())
        for chunk in rest:
            self._incoming.put_nowait(chunk)

    async def close(self) -> None:
        self.is_open = False
