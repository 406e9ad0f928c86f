"""Put a device model on a real wire: a TCP port, or one end of a socat PTY pair.

A model is any object with ``receive(bytes) -> bytes`` (and optionally
``connection_closed()`` and ``powered_off``), so the same model serves the in-memory
transport in unit tests and real sockets in integration tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import subprocess
import tempfile
import termios
import tty
from typing import Any

import structlog

log = structlog.get_logger()


class TcpDeviceServer:
    """One model behind one TCP port on 127.0.0.1 (port 0 picks a free one)."""

    def __init__(self, model: Any, host: str = "127.0.0.1", port: int = 0) -> None:
        self.model = model
        self.host = host
        self.port = port
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.StreamWriter] = set()

    @property
    def url(self) -> str:
        return f"tcp://{self.host}:{self.port}"

    @property
    def socket_url(self) -> str:
        """The same port as a pyserial URL, for serial drivers (scales, displays)."""
        return f"socket://{self.host}:{self.port}"

    async def start(self) -> TcpDeviceServer:
        self._server = await asyncio.start_server(self._serve, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for writer in list(self._connections):
                writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 1.0)
            self._server = None

    def drop_connections(self) -> None:
        for writer in list(self._connections):
            writer.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._connections.add(writer)
        try:
            while not getattr(self.model, "powered_off", False):
                data = await reader.read(4096)
                if not data:
                    break
                reply = self.model.receive(data)
                if getattr(self.model, "powered_off", False):
                    break  # switched off mid-job: the socket just dies
                if reply:
                    writer.write(reply)
                    await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            self._connections.discard(writer)
            if hasattr(self.model, "connection_closed"):
                self.model.connection_closed()
            writer.close()


def socat_available() -> bool:
    return shutil.which("socat") is not None


class PtyDeviceHost:
    """Start ``socat pty,raw,echo=0 pty,raw,echo=0``; the model answers on one end and the
    driver opens ``device_path``, the other end, like a USB-serial adapter."""

    def __init__(self, model: Any, directory: str | None = None) -> None:
        self.model = model
        self._dir = directory or tempfile.mkdtemp(prefix="novapos-pty-")
        self.device_path = os.path.join(self._dir, "device")
        self._model_path = os.path.join(self._dir, "model")
        self._process: asyncio.subprocess.Process | None = None
        self._fd: int | None = None

    async def start(self) -> PtyDeviceHost:
        socat = shutil.which("socat")
        if socat is None:
            raise RuntimeError("socat is not installed")
        os.makedirs(self._dir, exist_ok=True)
        self._process = await asyncio.create_subprocess_exec(
            socat, f"pty,raw,echo=0,link={self.device_path}", f"pty,raw,echo=0,link={self._model_path}",
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        for _ in range(100):
            if self._links_exist():
                break
            await asyncio.sleep(0.02)
        else:
            await self.stop()
            raise RuntimeError("socat did not create the PTY pair")
        self._fd = os.open(self._model_path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        tty.setraw(self._fd, termios.TCSANOW)
        asyncio.get_running_loop().add_reader(self._fd, self._on_readable)
        return self

    def _links_exist(self) -> bool:
        return os.path.exists(self.device_path) and os.path.exists(self._model_path)

    def _on_readable(self) -> None:
        assert self._fd is not None
        try:
            data = os.read(self._fd, 4096)
        except BlockingIOError:
            return
        except OSError:
            return
        reply = self.model.receive(data) if data else b""
        if reply:
            os.write(self._fd, reply)

    async def stop(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(Exception):
                asyncio.get_running_loop().remove_reader(self._fd)
            os.close(self._fd)
            self._fd = None
        if self._process is not None and self._process.returncode is None:
            self._process.terminate()
            try:
                await asyncio.wait_for(self._process.wait(), 2)
            except TimeoutError:
                self._process.kill()
                await self._process.wait()
        self._process = None
