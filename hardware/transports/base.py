"""The byte transport every driver talks through.

A driver never knows whether its bytes go over TCP, a serial port or memory; that is what
lets one driver be tested against an in-memory peer, a TCP simulator and a PTY.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod

from hardware.errors import DeviceTimeout


class Transport(ABC):
    """open / write / read / close, all async. ``read`` returns at least one byte or raises."""

    @abstractmethod
    async def open(self) -> None: ...

    @abstractmethod
    async def write(self, data: bytes) -> None: ...

    @abstractmethod
    async def read(self, max_bytes: int = 4096, wait_s: float = 1.0) -> bytes:
        """Return 1..max_bytes bytes; raise DeviceTimeout if nothing came in ``wait_s`` s."""

    @abstractmethod
    async def close(self) -> None: ...

    async def read_until(self, terminator: bytes, wait_s: float = 1.0, max_bytes: int = 4096) -> bytes:
        """Read until ``terminator`` (included) or raise DeviceTimeout; extra bytes are kept."""
        deadline = time.monotonic() + wait_s
        buffer = self._pushback
        while terminator not in buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or len(buffer) > max_bytes:
                self._pushback = buffer
                raise DeviceTimeout(f"no {terminator!r} within {wait_s}s (got {bytes(buffer)!r})")
            try:
                buffer += await self.read(max_bytes, remaining)
            except DeviceTimeout:
                self._pushback = buffer
                raise
        end = buffer.index(terminator) + len(terminator)
        self._pushback = buffer[end:]
        return bytes(buffer[:end])

    async def read_exact(self, size: int, wait_s: float = 1.0) -> bytes:
        deadline = time.monotonic() + wait_s
        buffer = self._pushback
        while len(buffer) < size:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self._pushback = buffer
                raise DeviceTimeout(f"expected {size} bytes within {wait_s}s, got {len(buffer)}")
            try:
                buffer += await self.read(size - len(buffer), remaining)
            except DeviceTimeout:
                self._pushback = buffer
                raise
        self._pushback = buffer[size:]
        return bytes(buffer[:size])

    def drain_pushback(self) -> bytes:
        """Bytes already read but not consumed (e.g. a frame that arrived behind an ACK)."""
        data, self._pushback = bytes(self._pushback), bytearray()
        return data

    async def discard_input(self, quiet_s: float = 0.01) -> bytes:
        """Throw away anything already received: a late answer to an earlier request must
        never be taken for the answer to the next one."""
        stale = self.drain_pushback()
        while True:
            try:
                stale += await self.read(4096, quiet_s)
            except DeviceTimeout:
                return stale

    @property
    def _pushback(self) -> bytearray:
        # Lazily per instance, so subclasses need not call a base __init__.
        return self.__dict__.setdefault("_pushback_buffer", bytearray())

    @_pushback.setter
    def _pushback(self, value: bytearray) -> None:
        self.__dict__["_pushback_buffer"] = bytearray(value)

    async def __aenter__(self) -> Transport:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


