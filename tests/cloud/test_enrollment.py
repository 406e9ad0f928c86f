"""Store enrollment end to end: `novapos-cloud serve` as a process in accounts mode, a real
nats-server hub, and the technician's real CLI (`novapos-provision enroll`)."""

from __future__ import annotations

import asyncio
import hashlib
import sqlite3
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import nats
import pytest
from conftest import EdgeStore, free_port, sale, wait_until

from cloud import cli as cloud_cli
from cloud.auth import AuthService
from edge.adapters.relay import Relay, RelayConfig
from edge.settings import load_settings
from provisioning import cli as provision

pytestmark = pytest.mark.slow


class Cloud:
    def __init__(self, url: str, db_path: Path):
        self.url = url
        self.db_path = db_path
        self.http = httpx.Client(base_url=url, timeout=10)

    def login(self, username: str, password: str) -> dict[str, str]:
        r = self.http.post("/api/v1/auth/login", json={"username": username, "password": password})
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['access_token']}"}

    def mint(self, headers: dict[str, str], store: str) -> str:
        r = self.http.post(f"/api/v1/hq/stores/{store}/enrollment-tokens", headers=headers)
        assert r.status_code == 201, r.text
        assert r.json()["expires_at"] > time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
        return r.json()["token"]

    def sales_total(self, headers: dict[str, str]) -> int:
        r = self.http.get("/api/v1/hq/sales/summary", headers=headers)
        return sum(i["gross_cents"] for i in r.json()["items"])


@pytest.fixture
async def cloud(accounts_hub, tmp_path):
    await AuthService(accounts_hub.db, None).create_user("acme-admin", "acme-pass-1", ["tenant_admin"], "acme")
    port = free_port()
    db_path = tmp_path / "cloud.db"
    args = [str(Path(sys.executable).parent / "novapos-cloud"), "serve", "--demo", "--port", str(port),
            "--db-url", f"sqlite:///{db_path}", "--nats-url", accounts_hub.url,
            "--nats-auth-dir", str(accounts_hub.auth_dir), "--nats-pid-file", str(accounts_hub.pid_file),
            "--keys-dir", str(tmp_path / "keys")]
    log = (tmp_path / "cloud.log").open("wb")
    proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path)  # noqa: ASYNC220 - it outlives the test
    c = Cloud(f"http://127.0.0.1:{port}", db_path)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, (tmp_path / "cloud.log").read_text()[-2000:]
            try:
                if c.http.get("/readyz").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "novapos-cloud did not become ready"
            await asyncio.sleep(0.1)
        c.demo = c.login("hq", "novapos-demo")
        c.acme = c.login("acme-admin", "acme-pass-1")
        yield c
    finally:
        proc.terminate()
        proc.wait(10)
        c.http.close()


def enroll(capsys, box: Path, hq: str, token: str) -> tuple[int, str, str]:
    code = provision.main(["enroll", "--hq", hq, "--token", token, "--config", str(box / "etc" / "novapos.toml"),
                           "--data-dir", str(box / "data")])
    out, err = capsys.readouterr()
    return code, out, err


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def box_relay(box: Path, name: str):
    settings = load_settings(box / "etc" / "novapos.toml", environ={})
    store = EdgeStore(box / f"{name}.db", settings.store.tenant_id, settings.store.store_id)
    relay = Relay(store.db, RelayConfig(nats_url=settings.sync.nats_url, tenant_id=settings.store.tenant_id,
                                        store_id=settings.store.store_id, manage_stream=settings.sync.manage_stream,
                                        credentials=settings.sync.credentials or None, reconnect_wait_s=0.2,
                                        idle_poll_s=0.05))
    await relay.start()
    return store, relay


async def test_a_box_enrolls_with_a_token_and_replicates_with_its_own_credentials(cloud, capsys, tmp_path):
    # HQ's policy as the box should start with it: a 14-day return window.
    changed = cloud.http.patch("/api/v1/hq/policies", json={"return_window_days": 14}, headers=cloud.demo)
    assert changed.status_code == 200, changed.text
    token = cloud.mint(cloud.demo, "demo-001")
    box = tmp_path / "box1"

    code, out, err = enroll(capsys, box, cloud.url, token)

    assert code == 0, err
    assert "enrolled as store demo-001 of tenant demo" in out
    assert "systemd is not running here" in out  # said, and the enrollment still succeeded
    etc = box / "etc"
    assert mode(etc / "nats") == 0o700 and mode(etc / "nats" / "store.nk") == 0o600
    assert (etc / "nats" / "store.nk").read_text().startswith("SU")
    assert mode(etc / "novapos.toml") == 0o640 and mode(etc / "hq-jwks.json") == 0o644
    assert '"return_window_days": 14' in (etc / "policies.json").read_text()
    assert cloud.http.get("/.well-known/jwks.json").json()["keys"][0]["kid"] in (etc / "hq-jwks.json").read_text()
    settings = load_settings(etc / "novapos.toml", environ={})
    assert (settings.store.tenant_id, settings.store.store_id) == ("demo", "demo-001")
    assert settings.sync.credentials == str(etc / "nats" / "store.nk") and not settings.sync.manage_stream
    assert token not in (etc / "novapos.toml").read_text()
    with sqlite3.connect(cloud.db_path) as db:  # only the token's hash is kept, now spent
        rows = db.execute("SELECT token_hash, claimed_at FROM enrollment_tokens").fetchall()
    assert rows == [(hashlib.sha256(token.encode()).hexdigest(), rows[0][1])] and rows[0][1]

    store, relay = await box_relay(box, "box1")
    try:
        await store.emit([("order.completed", sale(1234))])
        await wait_until(lambda: _total(cloud, cloud.demo, 1234), what="the enrolled box's sale at HQ")
    finally:
        await relay.stop()
        await store.close()


async def test_a_token_works_once_expires_and_is_unknown_elsewhere(cloud, capsys, tmp_path):
    token = cloud.mint(cloud.demo, "demo-001")
    assert enroll(capsys, tmp_path / "box1", cloud.url, token)[0] == 0

    code, _, err = enroll(capsys, tmp_path / "box2", cloud.url, token)
    assert code == 2 and "already used" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "box2" / "etc" / "novapos.toml").exists()  # nothing half-written

    code, _, err = enroll(capsys, tmp_path / "box2", cloud.url, "npe_never-issued-by-this-hq")
    assert code == 2 and "not known to HQ" in err and "401" in err

    stale = cloud.mint(cloud.demo, "demo-001")
    with sqlite3.connect(cloud.db_path) as db:
        db.execute("UPDATE enrollment_tokens SET expires_at = '2000-01-01T00:00:00Z' WHERE token_hash = ?",
                   (hashlib.sha256(stale.encode()).hexdigest(),))
    code, _, err = enroll(capsys, tmp_path / "box2", cloud.url, stale)
    assert code == 2 and "expired" in err and len(err.strip().splitlines()) == 1

    code, _, err = enroll(capsys, tmp_path / "box2", "http://127.0.0.1:9", token)
    assert code == 2 and "cannot reach HQ" in err


async def test_a_token_for_another_tenants_store_is_refused(cloud, capsys, tmp_path):
    cloud.mint(cloud.demo, "demo-001")  # demo-001 is demo's
    r = cloud.http.post("/api/v1/hq/stores/demo-001/enrollment-tokens", headers=cloud.acme)
    assert r.status_code == 409 and r.headers["content-type"].startswith("application/problem+json")

    code = await asyncio.to_thread(cloud_cli.main, ["enroll-token", "--tenant", "acme", "--store", "demo-001",
                                                    "--db-url", f"sqlite:///{cloud.db_path}"])
    _, err = capsys.readouterr()
    assert code == 2 and "registered to another tenant" in err and len(err.strip().splitlines()) == 1
    with sqlite3.connect(cloud.db_path) as db:
        assert db.execute("SELECT tenant_id FROM store_owners WHERE store_id = 'demo-001'").fetchall() == [("demo",)]
        assert db.execute("SELECT count(*) FROM enrollment_tokens WHERE tenant_id = 'acme'").fetchone() == (0,)

    code = await asyncio.to_thread(cloud_cli.main, ["enroll-token", "--tenant", "acme", "--store", "acme-001",
                                                    "--db-url", f"sqlite:///{cloud.db_path}"])
    out, _ = capsys.readouterr()
    assert code == 0
    token = next(line for line in out.splitlines() if line.startswith("npe_"))
    code, out, err = enroll(capsys, tmp_path / "box", cloud.url, token)
    assert code == 0 and "store acme-001 of tenant acme" in out


async def test_enrolling_a_replacement_box_cuts_the_old_box_off(cloud, capsys, tmp_path, accounts_hub):
    old_box, new_box = tmp_path / "old", tmp_path / "new"
    assert enroll(capsys, old_box, cloud.url, cloud.mint(cloud.demo, "demo-001"))[0] == 0
    old_seed = tmp_path / "old-seed.nk"
    old_seed.write_bytes((old_box / "etc" / "nats" / "store.nk").read_bytes())
    old_store, old_relay = await box_relay(old_box, "old")
    await old_store.emit([("order.completed", sale(100))])
    await wait_until(lambda: _total(cloud, cloud.demo, 100), what="the old box replicating")

    code, out, _ = enroll(capsys, new_box, cloud.url, cloud.mint(cloud.demo, "demo-001"))
    assert code == 0 and "revoked the NATS credentials" in out

    await wait_until(lambda: _refused(accounts_hub.url, old_seed), what="the hub refusing the old box's user")
    await wait_until(lambda: _is_down(old_relay), what="the old box's live connection cut")
    await old_store.emit([("order.completed", sale(5000))])
    new_store, new_relay = await box_relay(new_box, "new")
    try:
        await new_store.emit([("order.completed", sale(20))])
        await wait_until(lambda: _total(cloud, cloud.demo, 120), what="the new box replicating")
        assert await old_store.pending() == 1  # the old box's sale cannot leave its outbox
        assert cloud.sales_total(cloud.demo) == 120
    finally:
        for relay, store in ((old_relay, old_store), (new_relay, new_store)):
            await relay.stop()
            await store.close()


async def _total(cloud: Cloud, headers, cents: int) -> bool:
    return cloud.sales_total(headers) == cents


async def _refused(url: str, seed: Path) -> bool:
    try:
        nc = await nats.connect(url, nkeys_seed=str(seed), allow_reconnect=False, connect_timeout=2,
                                max_reconnect_attempts=0)
    except Exception as exc:
        return "authorization" in str(exc).lower()
    await nc.close()
    return False


async def _is_down(relay: Relay) -> bool:
    return relay.link == "down"



async def test_without_accounts_mode_a_box_still_enrolls_but_gets_no_credentials(tmp_path):
    from litestar.testing import AsyncTestClient

    from cloud.app import create_app
    from cloud.settings import CloudSettings

    app = create_app(CloudSettings(db_url=f"sqlite:///{tmp_path / 'hq.db'}", demo=True,
                                   nats_public_url="nats://hub.example:4222"))
    async with AsyncTestClient(app=app) as client:
        r = await client.post("/api/v1/auth/login", json={"username": "hq", "password": "novapos-demo"})
        headers = {"Authorization": f"Bearer {r.json()['access_token']}"}
        token = (await client.post("/api/v1/hq/stores/demo-009/enrollment-tokens", headers=headers)).json()["token"]
        answer = (await client.post("/api/v1/enroll", json={"token": token})).json()
        assert (answer["tenant_id"], answer["store_id"]) == ("demo", "demo-009")
        assert answer["nats"]["credentials"] is None and answer["nats"]["url"] == "nats://hub.example:4222"
        assert answer["jwks"]["keys"] and answer["policies"]["sales"]["version"] == 0  # the defaults, not sent yet
        bad = await client.post("/api/v1/enroll", json={"token": "x" * 500})
        assert bad.status_code == 400 and bad.headers["content-type"].startswith("application/problem+json")
