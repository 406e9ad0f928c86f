"""A real `novapos-edge serve` on loopback cuts off clients that trickle their request, answers
normal clients meanwhile, and refuses requests beyond its connection bound at once."""

from __future__ import annotations

import shutil
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support import EdgeServer, free_port

pytestmark = pytest.mark.slow

HEADER_TIMEOUT_S = 2
BODY_TIMEOUT_S = 3
MAX_CONNECTIONS = 8
SLACK_S = 8  # scheduling on a busy 2-core box; a server without the limit holds the socket for ever


@pytest.fixture(scope="module")
def server(demo_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[EdgeServer]:
    data_dir = tmp_path_factory.mktemp("slow") / "store"
    shutil.copytree(demo_template, data_dir)
    edge = EdgeServer(data_dir, free_port(), extra_env={
        "NOVAPOS_SERVER_HEADER_TIMEOUT_S": str(HEADER_TIMEOUT_S),
        "NOVAPOS_SERVER_BODY_TIMEOUT_S": str(BODY_TIMEOUT_S),
        "NOVAPOS_SERVER_MAX_CONNECTIONS": str(MAX_CONNECTIONS),
    })
    edge.start()
    try:
        yield edge
    finally:
        edge.stop()


def connect(server: EdgeServer) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    sock.settimeout(0.2)
    return sock


def trickle_until_closed(sock: socket.socket, chunks: Iterator[bytes], limit_s: float) -> tuple[bool, bytes]:
    """Send one chunk every 0.2 s (the socket's read timeout paces it) until the server closes
    the connection or `limit_s` passes. Returns (closed by the server, what it answered)."""
    answer = b""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        try:
            sock.sendall(next(chunks))
        except OSError:
            return True, answer
        try:
            data = sock.recv(4096)
        except TimeoutError:
            continue
        except OSError:
            return True, answer
        if not data:
            return True, answer
        answer += data
    return False, answer


def endless(prefix: bytes, unit: bytes) -> Iterator[bytes]:
    yield prefix
    while True:
        yield unit


def test_a_client_trickling_headers_is_answered_408_and_disconnected(server: EdgeServer) -> None:
    with connect(server) as sock:
        closed, answer = trickle_until_closed(sock, endless(b"GET /healthz HTTP/1.1\r\nHost: x\r\n", b"X-A: b\r\n"),
                                              HEADER_TIMEOUT_S + SLACK_S)
    assert closed, "the server kept a connection whose headers never ended"
    assert answer.startswith(b"HTTP/1.1 408")


def test_a_client_trickling_a_body_is_disconnected(server: EdgeServer) -> None:
    head = (b"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 100000\r\n\r\n{")
    with connect(server) as sock:
        closed, answer = trickle_until_closed(sock, endless(head, b" "), BODY_TIMEOUT_S + SLACK_S)
    assert closed, "the server kept a connection whose body never ended"
    assert answer.startswith(b"HTTP/1.1 408")


def test_oversized_headers_are_refused_with_431(server: EdgeServer) -> None:
    with connect(server) as sock:
        closed, answer = trickle_until_closed(
            sock, endless(b"GET /healthz HTTP/1.1\r\nHost: x\r\n", b"X-Pad: " + b"a" * 16_000 + b"\r\n"), SLACK_S)
    assert closed
    assert answer.startswith(b"HTTP/1.1 431")


def test_normal_clients_are_served_while_slow_ones_hang(server: EdgeServer) -> None:
    slow = [connect(server) for _ in range(3)]
    try:
        for sock in slow:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        with httpx.Client(base_url=server.url, timeout=5) as client:  # one kept-alive connection
            assert client.get("/healthz").status_code == 200
            login = client.post("/api/v1/auth/login", json={"username": "cashier", "password": "novapos-demo"})
            assert login.status_code == 200
            assert client.get("/healthz").status_code == 200
    finally:
        for sock in slow:
            sock.close()


def test_connections_beyond_the_bound_get_503_until_the_slow_ones_are_cut(server: EdgeServer) -> None:
    slow = [connect(server) for _ in range(MAX_CONNECTIONS)]
    try:
        for sock in slow:
            sock.sendall(b"GET /healthz HTTP/1.1\r\n")
        with httpx.Client(base_url=server.url, timeout=5) as client:
            assert client.get("/healthz").status_code == 503
        # Once the header deadline has cut the slow ones, the box answers again by itself.
        deadline = time.monotonic() + HEADER_TIMEOUT_S + SLACK_S
        status = 503
        while status == 503 and time.monotonic() < deadline:
            time.sleep(0.1)  # poll interval
            with httpx.Client(base_url=server.url, timeout=5) as client:
                status = client.get("/healthz").status_code
        assert status == 200
    finally:
        for sock in slow:
            sock.close()
