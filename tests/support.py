"""Test helpers shared by every suite: ports, logins, a real server process, condition polling,
a clock that moves when told, and metric readings."""

from __future__ import annotations

import asyncio
import inspect
import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import httpx
from litestar.testing import TestClient

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
DEMO_PASSWORD = "novapos-demo"

T = TypeVar("T")


_HANDED_OUT: set[int] = set()
_PORTS = random.Random()  # its own state: a test seeding `random` must not replay ports


def _ephemeral_range() -> tuple[int, int]:
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999


def free_port() -> int:
    """A loopback port nobody listens on, never one this test process was given before.

    It is drawn below the kernel's ephemeral range: a port from `bind(0)` lies inside it, and
    between this check and the server's own bind any outgoing connection (a browser, an HTTP
    client, a NATS reconnect) may be given the same port as its local end, and the server then
    fails with "address already in use". Below the range only an explicit bind can take it."""
    low, _ = _ephemeral_range()
    top = max(low - 1, 20000)
    while True:
        port = _PORTS.randint(10000, top)
        if port in _HANDED_OUT:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _HANDED_OUT.add(port)
        return port


def demo_settings(data_dir: Path, **env: str):
    from edge.settings import load_settings

    return load_settings(environ={"NOVAPOS_DATA_DIR": str(data_dir), "NOVAPOS_DEMO": "1", **env})


def login(client: TestClient | httpx.Client, username: str, password: str = DEMO_PASSWORD) -> dict[str, str]:
    response = client.post("/api/v1/auth/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def wait_ready(proc: subprocess.Popen[bytes], url: str, log: Path, *, timeout: float = 30) -> None:
    """Until the server process answers `/readyz` with 200; its log's tail if it exits or never does."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    stop_process(proc)
    raise RuntimeError(f"server did not become ready: {log.read_text()[-2000:]}")


def stop_process(proc: subprocess.Popen[bytes] | None) -> None:
    """SIGTERM and wait, then SIGKILL if it will not stop."""
    if proc is not None and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class CloudServer:
    """A real `novapos-cloud serve` on a random loopback port (API and dashboard, no NATS), with its
    SQLite file and keys in `directory`; it can be stopped and started again on the same port,
    database and keys."""

    def __init__(self, directory: Path, *, demo: bool = True):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = directory / "cloud.log"
        self.db_url = f"sqlite:///{directory / 'cloud.db'}"
        self.keys_dir = directory / "keys"
        self.args = [str(BIN / "novapos-cloud"), "serve", *(["--demo"] if demo else []), "--host", "127.0.0.1",
                     "--port", str(self.port), "--db-url", self.db_url, "--keys-dir", str(self.keys_dir)]
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, extra: list[str] | None = None, *, timeout: float = 60) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("NOVAPOS_CLOUD_")}
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen([*self.args, *(extra or [])], stdout=log, stderr=subprocess.STDOUT,
                                         env=env, cwd=ROOT)
        wait_ready(self.proc, self.url, self.log, timeout=timeout)

    def stop(self) -> None:
        stop_process(self.proc)
        self.proc = None


class EdgeServer:
    """A real `novapos-edge serve` process, for kill -9 and restart tests."""

    def __init__(self, data_dir: Path, port: int, extra_env: dict[str, str] | None = None):
        self.data_dir = data_dir
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.env = {**os.environ, **(extra_env or {})}
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = data_dir.parent / f"server-{port}.log"

    def start(self, timeout: float = 30) -> None:
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [str(BIN / "novapos-edge"), "serve", "--demo", "--data-dir", str(self.data_dir), "--host",
                 "127.0.0.1", "--port", str(self.port)],
                stdout=log, stderr=subprocess.STDOUT, env=self.env, cwd=ROOT,
            )
        wait_ready(self.proc, self.url, self.log, timeout=timeout)

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        stop_process(self.proc)




def wait_until(predicate: Callable[[], T], *, timeout: float = 10.0, interval: float = 0.02, what: str = "") -> T:
    """Poll `predicate` until it returns something truthy, and return that value.

    Tests wait for a condition they can name, never for a fixed time: a fixed sleep is either
    too short on a busy machine or wasted on an idle one.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what or predicate}")
        time.sleep(interval)


async def eventually(predicate: Callable[[], T | Awaitable[T]], *, within: float = 10.0, interval: float = 0.02,
                     what: str = "") -> T:
    """`wait_until` for async tests: the predicate may be a plain function or a coroutine function."""
    deadline = time.monotonic() + within
    while True:
        value = predicate()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value  # type: ignore[return-value]
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {within:g} s waiting for {what or predicate}")
        await asyncio.sleep(interval)


class FakeClock:
    """A UTC clock that moves only when told: call it for the time, `advance()` to move it."""

    def __init__(self, start: datetime | None = None):
        self._now = start or datetime.now(UTC)

    def __call__(self) -> datetime:
        return self._now

    def advance(self, seconds: float) -> None:
        self._now += timedelta(seconds=seconds)


def metric_value(exposition: str, name: str, **labels: str) -> float:
    """One sample of a Prometheus text exposition (0 when absent), so a test can compare a
    counter before and after what it does instead of finding a label some other test set."""
    from prometheus_client.parser import text_string_to_metric_families

    for family in text_string_to_metric_families(exposition):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return sample.value
    return 0.0
def metrics_headers(client: TestClient) -> dict[str, str]:
    """A scrape token for /metrics of an in-process edge app, as `novapos-edge token metrics` mints."""
    from edge.api.routes.health import metrics_tokens

    _, token = metrics_tokens(client.app.state.services).mint("test")
    return {"Authorization": f"Bearer {token}"}
