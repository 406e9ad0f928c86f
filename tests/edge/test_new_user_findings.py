"""What a new technician or manager runs into first: each answer is one clear line, and
nothing is changed by a command that could not do its job."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from litestar.testing import TestClient

from tests.support import metrics_headers

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[2]
STORE = {"NOVAPOS_STORE_TENANT_ID": "acme", "NOVAPOS_STORE_STORE_ID": "store-017"}


def run(tool: str, *args: str, env: dict[str, str] | None = None, stdin: str | None = None,
        devnull_stdin: bool = False, timeout: float = 120) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("NOVAPOS_")}
    return subprocess.run([str(BIN / tool), *args], capture_output=True, text=True, timeout=timeout,
                          input=stdin, stdin=subprocess.DEVNULL if devnull_stdin else None,
                          env={**clean, **(env or {})}, cwd=ROOT)


def one_line(result: subprocess.CompletedProcess) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


# -- novapos-edge user add ------------------------------------------------------------------------
def test_user_add_without_a_terminal_says_to_pipe_the_password_and_creates_nothing(tmp_path):
    result = run("novapos-edge", "user", "add", "erin", "--role", "cashier", "--data-dir", str(tmp_path / "d"),
                 env=STORE, devnull_stdin=True)
    assert result.returncode == 2
    assert "--password-stdin" in one_line(result)
    assert not (tmp_path / "d" / "store.db").exists()


def test_user_add_without_a_configured_store_refuses_and_creates_nothing(tmp_path):
    result = run("novapos-edge", "user", "add", "erin", "--role", "cashier", "--password-stdin",
                 "--data-dir", str(tmp_path / "d"), stdin="long-enough-password\n")
    assert result.returncode == 2
    line = one_line(result)
    assert "no store is configured" in line and "--config" in line
    assert not (tmp_path / "d" / "store.db").exists()


def test_user_add_uses_the_configured_store_so_the_user_can_sign_in(tmp_path):
    data = tmp_path / "d"
    config = tmp_path / "novapos.toml"
    config.write_text(f'[store]\ntenant_id = "acme"\nstore_id = "store-017"\n[storage]\ndata_dir = "{data}"\n')
    added = run("novapos-edge", "user", "add", "erin", "--role", "cashier", "--password-stdin",
                "--config", str(config), stdin="long-enough-password\n")
    assert added.returncode == 0, added.stderr

    from edge.bootstrap import create_app
    from edge.settings import load_settings

    with TestClient(create_app(load_settings(config, environ={})), raise_server_exceptions=False) as client:
        response = client.post("/api/v1/auth/login", json={"username": "erin", "password": "long-enough-password"})
    assert response.status_code == 200, response.text
    assert response.json()["user"]["tenant_id"] == "acme" and response.json()["user"]["store_id"] == "store-017"


# -- novapos-edge serve and --config ---------------------------------------------------------------
def test_serve_on_a_busy_port_fails_at_once_without_touching_the_store(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run("novapos-edge", "serve", "--demo", "--data-dir", str(tmp_path / "d"), "--host", "127.0.0.1",
                     "--port", str(port))
    assert result.returncode == 2
    line = one_line(result)
    assert f"127.0.0.1:{port}" in line and "--port" in line
    assert not (tmp_path / "d" / "store.db").exists()  # no migration, no demo seed, no devices
    assert "hardware.started" not in result.stdout + result.stderr


def test_a_config_directory_is_named_as_such(tmp_path):
    result = run("novapos-edge", "check-config", "--config", str(tmp_path))
    assert result.returncode == 2
    line = one_line(result)
    assert "is a directory" in line and "TOML file" in line and "--data-dir" not in line


def test_check_config_hides_secrets_and_prints_the_values_in_effect(tmp_path):
    config = tmp_path / "novapos.toml"
    config.write_text('[store]\ntenant_id = "acme"\nstore_id = "store-017"\n'
                      '[server]\nport = 8001\n'
                      '[sync]\nnats_url = "nats://store017:hunter2-secret@hub.example:4222"\n'
                      '[hardware]\nmode = "remote"\nurl = "http://127.0.0.1:8765"\ntoken = "tok-3f9a-secret"\n')
    result = run("novapos-edge", "check-config", "--config", str(config), "--port", "8003",
                 env={"NOVAPOS_PORT": "8002", "NOVAPOS_DATA_DIR": "relative-data"})
    assert result.returncode == 0, result.stderr
    import json

    shown = json.loads(result.stdout)
    assert "tok-3f9a-secret" not in result.stdout and "hunter2-secret" not in result.stdout
    assert shown["hardware"]["token"] == "(set, hidden)"
    assert shown["sync"]["nats_url"] == "nats://(set, hidden)@hub.example:4222"
    assert shown["server"]["port"] == 8003  # the flag beats the environment, which beats the file
    assert shown["storage"]["data_dir"] == str(ROOT / "relative-data")  # resolved, as the server will use it


# -- HTTP answers --------------------------------------------------------------------------------
def test_no_response_repeats_its_charset(client, as_user):
    manager = as_user("manager")
    order = client.post("/api/v1/orders", headers={**as_user("cashier"), "Idempotency-Key": "charset-order-0001"},
                        json={"lane_id": "1", "lines": [{"barcode": "2000000000053", "quantity": 1}],
                              "tenders": [{"method": "cash", "amount_cents": 100000}]})
    assert order.status_code == 201, order.text
    order_id = order.json()["id"]
    paths = ["/metrics", "/api/v1/inventory/export.csv", "/api/v1/orders/export.csv",
             f"/api/v1/orders/{order_id}/receipt?format=html", f"/api/v1/orders/{order_id}/receipt?format=text"]
    for path in paths:
        response = client.get(path, headers=metrics_headers(client) if path == "/metrics" else manager)
        assert response.status_code == 200, (path, response.text)
        content_type = response.headers["content-type"]
        assert content_type.count("charset") == 1, (path, content_type)


def test_a_test_print_says_what_happened(client, as_user):
    response = client.post("/api/v1/devices/printer-1/actions/test_print", headers=as_user("tech"))
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["ok"] is True
    assert answer["detail"].startswith("test page printed on ") and not answer["detail"].endswith(" ")


# -- novapos-hardware and novapos-provision ---------------------------------------------------------
def test_hardware_devices_says_when_it_falls_back_to_simulators(tmp_path):
    result = run("novapos-hardware", "devices", "--lanes", "1", "--data-dir", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "simulated devices" in result.stderr and "--config" in result.stderr
    assert "printer" in result.stdout
    quiet = run("novapos-hardware", "devices", "--simulate", "--lanes", "1", "--data-dir", str(tmp_path))
    assert quiet.returncode == 0 and "simulated devices" not in quiet.stderr


@pytest.mark.skipif(Path("/etc/novapos/novapos.toml").exists(), reason="this machine is a provisioned box")
def test_doctor_fails_an_unprovisioned_box_and_changes_nothing(tmp_path):
    data = tmp_path / "var-lib-novapos"
    result = run("novapos-provision", "doctor", "--data-dir", str(data))
    assert result.returncode == 1
    assert "FAIL  configuration" in result.stdout and "novapos-provision init" in result.stdout
    assert "FAIL  data directory" in result.stdout
    assert not data.exists()


async def test_the_cloud_metrics_do_not_repeat_their_charset(tmp_path):
    from litestar.testing import AsyncTestClient

    from cloud.app import create_app
    from cloud.settings import CloudSettings

    app = create_app(CloudSettings(db_url=f"sqlite:///{tmp_path / 'hq.db'}", keys_dir=str(tmp_path / "keys")))
    async with AsyncTestClient(app=app) as client:
        scrape = {"Authorization": f"Bearer {app.state.metrics_tokens.mint('test')[1]}"}
        response = await client.get("/metrics", headers=scrape)
    assert response.status_code == 200
    assert response.headers["content-type"].count("charset") == 1, response.headers["content-type"]
