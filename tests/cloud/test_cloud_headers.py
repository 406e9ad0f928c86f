"""The cloud hub tells browsers the same security policy as the store server, on every answer,
serves its API documentation without a CDN, and cuts off clients that trickle their request."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from litestar.testing import TestClient

from tests.support import BIN, free_port
from webui.security_headers import CONTENT_SECURITY_POLICY


@pytest.fixture
def hq(tmp_path: Path) -> Iterator[TestClient]:
    from cloud.app import create_app
    from cloud.settings import CloudSettings

    settings = CloudSettings(db_url=f"sqlite:///{tmp_path / 'cloud.db'}", keys_dir=str(tmp_path / "keys"))
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield client


@pytest.mark.parametrize("path", ["/hq/", "/hq/hq.js", "/schema/swagger", "/api/v1/me", "/no-such-page", "/healthz",
                                  "/hq/%00x"])
def test_every_cloud_response_carries_the_security_headers(hq, path):
    response = hq.get(path)
    assert response.headers.get_list("content-security-policy") == [CONTENT_SECURITY_POLICY]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["x-frame-options"] == "DENY"


def test_the_hq_dashboard_has_no_inline_script(hq):
    html = hq.get("/hq/").text
    for tag in re.findall(r"<script\b[^>]*>", html):
        assert "src=" in tag, tag
    assert not re.search(r"\son[a-z]+\s*=|\sstyle\s*=", html)


def test_the_cloud_swagger_page_loads_only_same_origin_assets_and_they_answer(hq):
    page = hq.get("/schema/swagger")
    assert page.status_code == 200
    urls = re.findall(r"""(?:src|href)=['"]([^'"]+)['"]""", page.text)
    assert len(urls) >= 4
    for url in urls:
        assert url.startswith("/"), f"{url} is not served by the hub"
        assert hq.get(url).status_code == 200, url


@pytest.mark.slow
def test_novapos_cloud_serve_cuts_off_a_client_trickling_headers(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("NOVAPOS_CLOUD_")}
    log = tmp_path / "cloud.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [str(BIN / "novapos-cloud"), "serve", "--host", "127.0.0.1", "--port", str(port),
             "--db-url", f"sqlite:///{tmp_path / 'cloud.db'}", "--keys-dir", str(tmp_path / "keys"),
             "--header-timeout", "1", "--body-timeout", "2"], stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, log.read_text()[-2000:]
            assert time.monotonic() < deadline, log.read_text()[-2000:]
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)  # poll interval while the hub starts
        answer, closed = b"", False
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.settimeout(0.2)
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
            deadline = time.monotonic() + 10  # a hub without the limit holds the socket for ever
            while not closed and time.monotonic() < deadline:
                try:
                    sock.sendall(b"X-A: b\r\n")
                    data = sock.recv(4096)
                except TimeoutError:
                    continue
                except OSError:
                    closed = True
                    break
                closed = not data
                answer += data
        assert closed, "the hub kept a connection whose headers never ended"
        assert answer.startswith(b"HTTP/1.1 408")
        assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
