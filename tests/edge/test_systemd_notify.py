"""The server tells systemd it is ready, and pings the watchdog."""

from __future__ import annotations

import socket

import httpx

from tests.support import EdgeServer, free_port


def test_ready_and_watchdog_notifications_reach_the_notify_socket(demo_dir, tmp_path):
    path = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.settimeout(20)
    server = EdgeServer(demo_dir, free_port(), extra_env={"NOTIFY_SOCKET": str(path), "WATCHDOG_USEC": "400000"})
    server.start()
    try:
        messages = [sock.recv(1024).decode() for _ in range(3)]
        assert messages[0].startswith("READY=1")
        assert "WATCHDOG=1" in messages[1:]
        assert httpx.get(f"{server.url}/healthz").status_code == 200
    finally:
        server.stop()
        sock.close()
