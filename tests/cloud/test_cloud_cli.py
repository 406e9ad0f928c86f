"""`novapos-cloud` as an operator meets it: a served demo says where and how to log in; a bad flag
is one clear line and exit status 2, never a traceback."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from conftest import free_port

from cloud import commands
from edge.adapters import inbox
from edge.contracts.envelope import command_stream_name

CLI = [sys.executable, "-m", "cloud.cli"]


@pytest.mark.parametrize(
    ("flags", "mentions"),
    [
        (["--port", "abc"], "--port"),
        (["--port", "70000"], "--port"),
        (["--db-url", "mysql://db/hq"], "--db-url"),
        (["--nats-url", "localhost:4222"], "--nats-url"),
    ],
)
def test_a_bad_flag_value_is_one_clear_line_and_exit_2(flags, mentions, tmp_path):
    r = subprocess.run([*CLI, "serve", *flags], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and mentions in lines[0], r.stderr
    assert "Traceback" not in r.stderr + r.stdout


def test_serve_demo_prints_its_url_and_the_demo_login_and_serves_it(tmp_path: Path):
    port = free_port()
    nats_url = f"nats://127.0.0.1:{free_port()}"  # nothing listens: the API still serves
    proc = subprocess.Popen(
        [
            *CLI,
            "serve",
            "--demo",
            "--nats-url",
            nats_url,
            "--db-url",
            f"sqlite:///{tmp_path / 'hq.db'}",
            "--port",
            str(port),
            "--keys-dir",
            str(tmp_path / "keys"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=tmp_path,
    )
    try:
        assert proc.stdout is not None
        banner = proc.stdout.readline() + proc.stdout.readline()
        assert f"http://127.0.0.1:{port}/hq/" in banner
        assert "hq / novapos-demo" in banner
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the hub never answered /healthz"
            time.sleep(0.1)
        r = httpx.post(
            f"http://127.0.0.1:{port}/api/v1/auth/login", json={"username": "hq", "password": "novapos-demo"}
        )
        assert r.status_code == 200 and r.json()["user"]["tenant_id"] == "demo"
    finally:
        proc.terminate()
        proc.wait(15)


def test_cloud_and_store_agree_on_the_command_stream():
    tenant = "acme.eu west"
    assert commands.command_stream_config(tenant).name == command_stream_name(tenant)
    assert inbox.command_stream_config(tenant).name == command_stream_name(tenant)
    assert commands.command_stream_config(tenant).subjects == inbox.command_stream_config(tenant).subjects
