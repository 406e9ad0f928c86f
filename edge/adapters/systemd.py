"""systemd readiness and watchdog (sd_notify protocol: a datagram to $NOTIFY_SOCKET).

Under `Type=notify` the unit is "started" only once the database is migrated and the server is
ready; with `WatchdogSec=` the loop pings at half the interval, so a wedged event loop is
restarted by systemd. Outside systemd (no NOTIFY_SOCKET) every call does nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from typing import Any


def notify(message: str) -> bool:
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):  # abstract namespace socket
        address = "\0" + address[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        try:
            sock.connect(address)
            sock.sendall(message.encode())
        except OSError:
            return False
    return True


async def _watchdog(interval_s: float) -> None:
    while True:
        notify("WATCHDOG=1")
        await asyncio.sleep(interval_s)


async def start_systemd(services: Any) -> None:
    notify("READY=1\nSTATUS=serving")
    usec = os.environ.get("WATCHDOG_USEC")
    if usec and usec.isdigit():
        services.extras["watchdog"] = asyncio.create_task(_watchdog(int(usec) / 2_000_000), name="watchdog")


async def stop_systemd(services: Any) -> None:
    notify("STOPPING=1")
    task = services.extras.pop("watchdog", None)
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
