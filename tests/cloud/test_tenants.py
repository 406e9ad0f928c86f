"""Tenant onboarding and HQ policies as an operator and a tenant admin meet them: the CLI, the
platform API, who may reach what, duplicate and weak input refused, every change audited."""

from __future__ import annotations

import subprocess
import sys

import pyotp
import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from cloud.app import create_app
from cloud.auth import AuthService
from cloud.db import CloudDB
from cloud.schema import commands, hq_audit, tenants, users
from cloud.settings import CloudSettings

CLI = [sys.executable, "-m", "cloud.cli"]
STRONG = "correct-horse-battery-9"


def cli(*args: str, stdin: str | None = "", db_url: str) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args, "--db-url", db_url], input=stdin, capture_output=True, text=True,
                          timeout=60, stdin=None if stdin is not None else subprocess.DEVNULL)


async def rows(db_url: str, table, *where):
    db = CloudDB(db_url)
    try:
        async with db.system(write=False) as conn:
            return (await conn.execute(select(table).where(*where))).all()
    finally:
        await db.close()


# -- the CLI --------------------------------------------------------------------------------------
async def test_tenant_create_makes_a_tenant_whose_admin_logs_in_with_the_printed_totp(tmp_path):
    url = f"sqlite:///{tmp_path / 'hq.db'}"
    r = cli("tenant", "create", "acme", "--admin", "alice", "--name", "Acme Retail", stdin=STRONG + "\n", db_url=url)
    assert r.returncode == 0, r.stderr
    assert "created tenant acme" in r.stdout and STRONG not in r.stdout + r.stderr
    uri = next(line.split(": ", 1)[1] for line in r.stdout.splitlines() if "otpauth://" in line)
    app = create_app(CloudSettings(db_url=url, data_dir=str(tmp_path)))
    async with AsyncTestClient(app=app) as client:
        code = pyotp.parse_uri(uri).now()
        login = await client.post("/api/v1/auth/login", json={"username": "alice", "password": STRONG, "totp": code})
        assert login.status_code == 200, login.text
        assert login.json()["user"]["tenant_id"] == "acme" and login.json()["user"]["roles"] == ["tenant_admin"]
        token = {"Authorization": f"Bearer {login.json()['access_token']}"}
        policy = (await client.get("/api/v1/hq/policies", headers=token)).json()["items"][0]
        assert policy["version"] == 1 and policy["policy"]["discount_supervisor_over_bps"] == 2000
    queued = await rows(url, commands, commands.c.tenant_id == "acme", commands.c.type == "policy.set")
    assert len(queued) == 1  # the template goes to the tenant's stores like any later change


@pytest.mark.parametrize(("password", "says"), [("short", "at least 12"), ("aaaaaaaaaaaaaaaa", "repeated"),
                                                ("alice-is-the-admin", "username")])
def test_a_weak_password_is_one_clear_line_and_creates_nothing(tmp_path, password, says):
    url = f"sqlite:///{tmp_path / 'hq.db'}"
    r = cli("tenant", "create", "acme", "--admin", "alice", stdin=password + "\n", db_url=url)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and says in r.stderr, r.stderr
    assert "Traceback" not in r.stderr and password not in r.stderr
    assert not (tmp_path / "hq.db").exists()  # refused before anything was opened or written


def test_a_bad_tenant_id_is_refused_before_any_password_is_asked_for(tmp_path):
    r = cli("tenant", "create", "Acme.EU", "--admin", "alice", stdin=None, db_url=f"sqlite:///{tmp_path / 'hq.db'}")
    assert r.returncode == 2 and "tenant_id" in r.stderr and "standard input" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and not (tmp_path / "hq.db").exists()


def test_a_closed_or_empty_stdin_is_one_clear_line_not_a_traceback(tmp_path):
    url = f"sqlite:///{tmp_path / 'hq.db'}"
    r = cli("tenant", "create", "acme", "--admin", "alice", stdin=None, db_url=url)
    assert r.returncode == 2 and "standard input" in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


async def test_a_duplicate_tenant_or_username_is_refused_and_changes_nothing(tmp_path):
    url = f"sqlite:///{tmp_path / 'hq.db'}"
    assert cli("tenant", "create", "acme", "--admin", "alice", stdin=STRONG + "\n", db_url=url).returncode == 0
    again = cli("tenant", "create", "acme", "--admin", "bob", stdin=STRONG + "\n", db_url=url)
    assert again.returncode == 2 and "already exists" in again.stderr and "Traceback" not in again.stderr
    taken = cli("tenant", "create", "globex", "--admin", "alice", stdin=STRONG + "\n", db_url=url)
    assert taken.returncode == 2 and "taken" in taken.stderr
    assert [r.id for r in await rows(url, tenants)] == ["acme"]
    assert [r.username for r in await rows(url, users)] == ["alice"]
    listed = cli("tenant", "list", db_url=url)
    assert listed.returncode == 0 and listed.stdout.startswith("acme\t")


# -- the platform API -----------------------------------------------------------------------------
@pytest.fixture
async def hub(tmp_path):
    """A production-mode hub with a platform operator and demo's tenant admin, both with TOTP."""
    url = f"sqlite:///{tmp_path / 'hq.db'}"
    app = create_app(CloudSettings(db_url=url, data_dir=str(tmp_path)))
    async with AsyncTestClient(app=app) as client:
        db = CloudDB(url)
        auth = AuthService(db, app.state.token_keys)
        secrets = {"ops": pyotp.random_base32(), "demo-admin": pyotp.random_base32()}
        await auth.create_user("ops", STRONG, ["platform_admin"], "platform", totp_secret=secrets["ops"])
        await auth.create_user("demo-admin", STRONG, ["tenant_admin"], "demo", totp_secret=secrets["demo-admin"])
        await auth.create_user("demo-analyst", STRONG, ["hq_analyst"], "demo")

        async def as_user(username: str) -> dict[str, str]:
            body = {"username": username, "password": STRONG}
            if username in secrets:
                body["totp"] = pyotp.TOTP(secrets[username]).now()
            r = await client.post("/api/v1/auth/login", json=body)
            assert r.status_code == 200, r.text
            return {"Authorization": f"Bearer {r.json()['access_token']}"}

        client.as_user, client.db, client.url = as_user, db, url
        yield client
        await db.close()


def new_tenant(tenant_id="globex", admin="gina", password=STRONG, name="Globex"):
    return {"tenant_id": tenant_id, "name": name, "admin_username": admin, "admin_password": password}


async def test_a_platform_admin_onboards_a_tenant_and_sees_it_listed_and_audited(hub):
    ops = await hub.as_user("ops")
    r = await hub.post("/api/v1/platform/tenants", json=new_tenant(), headers=ops)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["admin"]["username"] == "gina" and body["admin"]["otpauth_uri"].startswith("otpauth://")
    assert STRONG not in r.text
    listed = (await hub.get("/api/v1/platform/tenants", headers=ops)).json()["items"]
    assert [t["id"] for t in listed] == ["globex"] and listed[0]["users"] == 1
    trail = await rows(hub.url, hq_audit, hq_audit.c.action == "tenant.created")
    assert trail[0].tenant_id == "globex" and trail[0].actor == "ops" and "admin_password" not in str(trail[0].after)

    duplicate = await hub.post("/api/v1/platform/tenants", json=new_tenant(admin="gina2"), headers=ops)
    assert duplicate.status_code == 409 and duplicate.json()["type"].endswith("/already-exists")
    bad = await hub.post("/api/v1/platform/tenants", json=new_tenant("Bad.Tenant", password="short"), headers=ops)
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json()["errors"]} == {"tenant_id", "admin_password"}
    assert len((await hub.get("/api/v1/platform/tenants", headers=ops)).json()["items"]) == 1


async def test_a_tenant_admin_never_reaches_the_platform_routes(hub):
    admin = await hub.as_user("demo-admin")
    assert (await hub.get("/api/v1/platform/tenants", headers=admin)).status_code == 403
    assert (await hub.post("/api/v1/platform/tenants", json=new_tenant(), headers=admin)).status_code == 403
    assert (await hub.post("/api/v1/platform/tenants", json=new_tenant())).status_code == 401


async def test_a_platform_admin_sees_tenants_but_not_their_sales_or_policies(hub):
    ops = await hub.as_user("ops")
    for path in ("/api/v1/hq/sales/summary", "/api/v1/hq/stores", "/api/v1/hq/policies"):
        assert (await hub.get(path, headers=ops)).status_code == 403, path
    assert (await hub.get("/api/v1/hq/sales/summary", headers=ops | {"X-Tenant-ID": "demo"})).status_code == 403


# -- policies -------------------------------------------------------------------------------------
async def test_a_tenant_admin_edits_a_policy_which_is_versioned_audited_and_sent_down(hub):
    admin = await hub.as_user("demo-admin")
    r = await hub.patch("/api/v1/hq/policies", json={"discount_supervisor_over_bps": 1000,
                                                     "return_window_days": 14}, headers=admin)
    assert r.status_code == 200, r.text
    first = r.json()
    assert first["policy"]["discount_supervisor_over_bps"] == 1000 and first["policy"]["reservation_ttl_s"] == 900
    r = await hub.patch("/api/v1/hq/policies", json={"restocking_fee_bps": 1500}, headers=admin | {
        "If-Match": f'"{first["version"]}"'})
    assert r.status_code == 200 and r.json()["version"] > first["version"]
    assert r.json()["policy"]["return_window_days"] == 14  # PATCH keeps what it was not sent

    stale = await hub.patch("/api/v1/hq/policies", json={"return_window_days": 60},
                            headers=admin | {"If-Match": f'"{first["version"]}"'})
    assert stale.status_code == 412

    history = (await hub.get("/api/v1/hq/policies/history", headers=admin)).json()["items"]
    assert [h["action"] for h in history] == ["policy.changed", "policy.changed"]
    assert history[0]["before"]["policy"]["restocking_fee_bps"] == 0
    assert history[0]["after"]["policy"]["restocking_fee_bps"] == 1500 and history[0]["actor"] == "demo-admin"
    sent = await rows(hub.url, commands, commands.c.tenant_id == "demo", commands.c.type == "policy.set")
    assert sorted(c.version for c in sent) == [first["version"], r.json()["version"]]
    assert sent[-1].payload["restocking_fee_bps"] == 1500 or sent[0].payload["restocking_fee_bps"] == 1500

    replaced = await hub.put("/api/v1/hq/policies", json={"reservation_ttl_s": 600}, headers=admin)
    assert replaced.json()["policy"]["return_window_days"] == 30  # PUT: what is not sent is the default


@pytest.mark.parametrize(("change", "field"), [
    ({"discount_supervisor_over_bps": 10_001}, "discount_supervisor_over_bps"),
    ({"return_window_days": -1}, "return_window_days"),
    ({"reservation_ttl_s": 10}, "reservation_ttl_s"),
    ({"rounding": "up"}, "rounding"),
    ({"payout_supervisor_over_cents": 10**12}, "payout_supervisor_over_cents"),
    ({"discount_threshold": 5}, "discount_threshold"),
    ({"manager_mfa_required": "no"}, "manager_mfa_required"),
])
async def test_an_out_of_bounds_or_unknown_policy_field_is_refused_and_changes_nothing(hub, change, field):
    admin = await hub.as_user("demo-admin")
    before = (await hub.get("/api/v1/hq/policies", headers=admin)).json()["items"][0]
    r = await hub.patch("/api/v1/hq/policies", json=change, headers=admin)
    assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in r.json()["errors"]] == [field]
    assert (await hub.get("/api/v1/hq/policies", headers=admin)).json()["items"][0] == before
    assert await rows(hub.url, commands, commands.c.type == "policy.set") == []


async def test_fees_in_both_bps_and_cents_are_refused(hub):
    admin = await hub.as_user("demo-admin")
    r = await hub.patch("/api/v1/hq/policies", json={"restocking_fee_bps": 100, "restocking_fee_cents": 100},
                        headers=admin)
    assert r.status_code == 422 and "not both" in r.json()["detail"]


async def test_an_analyst_reads_policies_but_cannot_change_them_nor_send_one_as_a_raw_command(hub):
    analyst, admin = await hub.as_user("demo-analyst"), await hub.as_user("demo-admin")
    assert (await hub.get("/api/v1/hq/policies", headers=analyst)).status_code == 200
    assert (await hub.patch("/api/v1/hq/policies", json={"return_window_days": 1}, headers=analyst)).status_code \
        == 403
    raw = await hub.post("/api/v1/hq/commands", json={"type": "policy.set", "payload": {"return_window_days": 1}},
                         headers=admin)
    assert raw.status_code == 400  # unvalidated, unaudited policies never reach the stores


async def test_onboarding_and_policy_edits_hold_under_row_level_security(cloud_db):
    """Same code on Postgres (RLS with FORCE) as on SQLite: the tenant's rows land in its scope."""
    from cloud import policies
    from cloud.clock import now_iso
    from cloud.tenants import NewTenant, create_tenant

    await create_tenant(cloud_db, NewTenant("initech", "Initech", "peter", STRONG), actor="ops")
    changed = await cloud_db.write(policies.change, "initech", {"return_window_days": 7}, replace=False,
                                   actor="peter", now=now_iso(), tenant_id="initech")
    assert changed["version"] == 2
    async with cloud_db.tenant("initech", write=False) as conn:
        assert (await policies.get(conn, "initech"))["policy"]["return_window_days"] == 7
    async with cloud_db.tenant("other", write=False) as conn:
        assert (await policies.get(conn, "other"))["version"] == 0  # nothing of initech's is visible


async def test_concurrent_policy_edits_each_get_their_own_version(cloud_db):
    """Two admins saving at once: every edit is a distinct version, so no store mistakes one for
    a stale copy of the other."""
    import asyncio

    from cloud import policies
    from cloud.clock import now_iso
    from cloud.tenants import NewTenant, create_tenant

    await create_tenant(cloud_db, NewTenant("umbrella", "Umbrella", "alice", STRONG), actor="ops")
    changes = [cloud_db.write(policies.change, "umbrella", {"return_window_days": days}, replace=False,
                              actor="alice", now=now_iso(), tenant_id="umbrella") for days in range(1, 7)]
    versions = [c["version"] for c in await asyncio.gather(*changes)]
    assert sorted(versions) == list(range(2, 8))
    async with cloud_db.tenant("umbrella", write=False) as conn:
        sent = (await conn.execute(select(commands.c.version).where(commands.c.type == "policy.set"))).scalars().all()
    assert sorted(sent) == list(range(1, 8))


async def test_tenant_hooks_run_after_the_commit_and_a_failing_one_is_reported(hub):
    """Where the tenant's NATS account is created: after its rows exist; a failure is reported,
    not hidden, and the tenant stays (a retry of the hook, not of the onboarding, is the fix)."""
    from cloud import tenants

    seen: list[str] = []

    async def record_account(tenant_id: str) -> None:
        seen.append(tenant_id)

    async def broken_account(tenant_id: str) -> None:
        raise RuntimeError("account server unreachable")

    tenants.on_tenant_created[:] = [record_account, broken_account]
    try:
        ops = await hub.as_user("ops")
        r = await hub.post("/api/v1/platform/tenants", json=new_tenant(), headers=ops)
    finally:
        tenants.on_tenant_created[:] = []
    assert r.status_code == 201 and seen == ["globex"]
    assert r.json()["setup_incomplete"] == ["broken_account"]
    assert [t["id"] for t in (await hub.get("/api/v1/platform/tenants", headers=ops)).json()["items"]] == ["globex"]
