"""HQ's /metrics wants a metrics token; its signing keys survive a restart; its logs carry no
credential or request body."""

from __future__ import annotations

import stat
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest
from litestar.testing import AsyncTestClient

from cloud.app import create_app
from cloud.auth import AuthService
from cloud.db import CloudDB
from cloud.ingest import Ingestor
from cloud.settings import CloudSettings
from edge.contracts.envelope import EventEnvelope
from tests.support import free_port

CLI = [sys.executable, "-m", "cloud.cli"]


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=60)


async def test_metrics_name_no_tenant_or_store_to_an_anonymous_caller(tmp_path):
    app = create_app(CloudSettings(db_url=f"sqlite:///{tmp_path / 'hq.db'}"))
    async with AsyncTestClient(app=app) as client:
        envelope = EventEnvelope(event_id=str(uuid.uuid4()), tenant_id="acme", store_id="acme-017", seq=1,
                                 type="order.completed", occurred_at="2026-03-02T14:05:00.000Z",
                                 business_day="2026-03-02", payload={"order_id": "o1", "total_cents": 100,
                                                                     "lines": [], "tenders": []})
        await Ingestor(app.state.db).ingest([envelope])
        anonymous = await client.get("/metrics")
        assert anonymous.status_code == 401 and "acme" not in anonymous.text
        bogus = await client.get("/metrics", headers={"Authorization": "Bearer nvm_000000000000_" + "A" * 43})
        assert bogus.status_code == 401

        minted = cli("metrics-token", "--data-dir", str(tmp_path), "--label", "prometheus")
        assert minted.returncode == 0, minted.stderr
        token = minted.stdout.strip()
        scraped = await client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
        assert scraped.status_code == 200 and 'store_id="acme-017"' in scraped.text

        listed = cli("metrics-token", "--data-dir", str(tmp_path), "--list")
        token_id = listed.stdout.split("\t", 1)[0]
        assert "prometheus" in listed.stdout and token not in listed.stdout
        assert cli("metrics-token", "--data-dir", str(tmp_path), "--revoke", token_id).returncode == 0
        assert (await client.get("/metrics", headers={"Authorization": f"Bearer {token}"})).status_code == 401
        again = cli("metrics-token", "--data-dir", str(tmp_path), "--revoke", token_id)
        assert again.returncode == 2 and len(again.stderr.strip().splitlines()) == 1
    stored = tmp_path / "keys" / "metrics-tokens.json"
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600


def test_a_token_survives_a_restart_without_any_keys_flag(tmp_path):
    """Two `novapos-cloud serve` processes one after the other, neither given --keys-dir."""
    first = start_hub(tmp_path, "--demo")
    try:
        login = httpx.post(f"{first.url}/api/v1/auth/login", json={"username": "hq", "password": "novapos-demo"})
        token = login.json()["access_token"]
    finally:
        first.stop()
    second = start_hub(tmp_path, "--demo")
    try:
        me = httpx.get(f"{second.url}/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 200 and me.json()["username"] == "hq"
    finally:
        second.stop()
    keys = tmp_path / "keys"
    assert stat.S_IMODE(keys.stat().st_mode) == 0o700
    assert list(keys.glob("*.pem"))
    assert {stat.S_IMODE(p.stat().st_mode) for p in keys.iterdir()} == {0o600}


def test_the_data_dir_defaults_to_the_database_directory_and_can_be_set():
    assert CloudSettings(db_url="sqlite:////srv/hq/cloud.db").resolved_keys_dir() == Path("/srv/hq/keys")
    assert CloudSettings(data_dir="/var/lib/novapos-cloud").resolved_keys_dir() == Path("/var/lib/novapos-cloud/keys")
    assert CloudSettings(db_url="postgresql://h/db", keys_dir="/k").resolved_keys_dir() == Path("/k")


class Hub:
    def __init__(self, proc: subprocess.Popen, url: str):
        self.proc, self.url = proc, url

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(15)


def start_hub(data: Path, *flags: str) -> Hub:
    port = free_port()
    log = data / "cloud.log"
    with log.open("ab") as out:
        proc = subprocess.Popen([*CLI, "serve", "--db-url", f"sqlite:///{data / 'hq.db'}", "--port", str(port), *flags],
                                stdout=out, stderr=subprocess.STDOUT, cwd=data)
    hub = Hub(proc, f"http://127.0.0.1:{port}")
    deadline = time.monotonic() + 30
    while True:
        assert proc.poll() is None, log.read_text()[-2000:]
        try:
            if httpx.get(f"{hub.url}/healthz", timeout=1).status_code == 200:
                return hub
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, "the hub never answered"
        time.sleep(0.1)


@pytest.fixture
def served_hub(tmp_path: Path):
    hub = start_hub(tmp_path)
    try:
        yield hub.url, tmp_path, tmp_path / "cloud.log"
    finally:
        hub.stop()


async def test_a_login_session_at_hq_leaves_no_credential_or_body_in_the_logs(served_hub):
    url, data, log = served_hub
    password, wrong, marker = f"pw-{uuid.uuid4().hex}", f"wrong-{uuid.uuid4().hex}", f"marker-{uuid.uuid4().hex}"
    db = CloudDB(f"sqlite:///{data / 'hq.db'}")
    await AuthService(db, None).create_user("ana", password, ["hq_analyst"], "acme")  # type: ignore[arg-type]
    await db.close()
    async with httpx.AsyncClient(base_url=url, timeout=10) as c:
        assert (await c.post("/api/v1/auth/login", json={"username": "ana", "password": wrong})).status_code == 401
        pair = (await c.post("/api/v1/auth/login", json={"username": "ana", "password": password})).json()
        bearer = {"Authorization": f"Bearer {pair['access_token']}", "Cookie": f"session={marker}"}
        refreshed = (await c.post("/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]})).json()
        assert (await c.get("/api/v1/me", headers=bearer)).status_code == 200
        assert (await c.patch("/api/v1/hq/policies", json={"note": marker}, headers=bearer)).status_code == 403
        await c.post("/api/v1/auth/logout", json={"refresh_token": refreshed["refresh_token"]})
    logged = log.read_text()
    assert "auth.login" in logged
    for secret in (password, wrong, pair["access_token"], pair["refresh_token"], refreshed["refresh_token"], marker,
                   "Bearer "):
        assert secret not in logged, f"{secret[:12]}... reached the log"
