"""HQ security parity with the edge (ARCHITECTURE.md, "Security model"): JWT attacks, refresh
rotation and reuse, key rotation, TOTP, lockout, RBAC coverage of every route, and the
security/ingest metrics."""

from __future__ import annotations

import base64
import json
import time
import uuid
from datetime import UTC, datetime, timedelta

import jwt
import pyotp
import pytest
from conftest import sale
from cryptography.hazmat.primitives import serialization
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from cloud.api.guards import PUBLIC_PREFIXES
from cloud.app import create_app
from cloud.auth import AUDIENCE, ISSUER, AuthService, TokenKeys
from cloud.db import CloudDB
from cloud.ingest import Ingestor
from cloud.schema import refresh_tokens
from cloud.settings import CloudSettings
from edge.contracts.envelope import EventEnvelope
from tests.support import metric_value


@pytest.fixture
async def client(tmp_path):
    """A production-mode hub (admins need TOTP) with an analyst, an admin with TOTP and one without."""
    url = f"sqlite:///{tmp_path / 'hq.db'}"
    app = create_app(CloudSettings(db_url=url, demo=False))
    async with AsyncTestClient(app=app) as c:
        db = CloudDB(url)
        auth = AuthService(db, app.state.token_keys)
        c.totp_secret = pyotp.random_base32()
        await auth.create_user("ana", "analyst-pass-1", ["hq_analyst"], "acme")
        await auth.create_user("ada", "admin-pass-1", ["tenant_admin"], "acme", totp_secret=c.totp_secret)
        await auth.create_user("nomfa", "admin-pass-2", ["tenant_admin"], "acme")
        c.db, c.app = db, app
        c.metrics = {"Authorization": f"Bearer {app.state.metrics_tokens.mint('test')[1]}"}
        yield c
        await db.close()


async def login(client, username="ana", password="analyst-pass-1", totp=None):
    body = {"username": username, "password": password}
    if totp is not None:
        body["totp"] = totp
    return await client.post("/api/v1/auth/login", json=body)


async def me(client, token: str):
    return await client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})


def _claims(**over):
    now = datetime.now(UTC)
    base = {
        "sub": "u1",
        "username": "ana",
        "roles": ["super_admin"],
        "tenant_id": "acme",
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": now,
        "nbf": now,
        "exp": now + timedelta(minutes=5),
        "typ": "access",
    }
    base.update(over)
    return base


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data, default=str).encode()).rstrip(b"=").decode()


# -- JWT attacks -------------------------------------------------------------------------------
@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE"])
async def test_alg_none_in_any_spelling_is_rejected(client, alg):
    claims = {k: int(v.timestamp()) if isinstance(v, datetime) else v for k, v in _claims().items()}
    token = f"{_b64({'alg': alg, 'typ': 'JWT', 'kid': client.app.state.token_keys.kid})}.{_b64(claims)}."
    assert (await me(client, token)).status_code == 401


async def test_hs256_signed_with_the_public_key_is_rejected(client):
    keys = client.app.state.token_keys
    public_pem = (
        keys.keys[keys.kid]
        .private_key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    header = _b64({"alg": "HS256", "typ": "JWT", "kid": keys.kid})
    body = _b64({k: int(v.timestamp()) if isinstance(v, datetime) else v for k, v in _claims().items()})
    import hashlib
    import hmac

    sig = hmac.new(public_pem, f"{header}.{body}".encode(), hashlib.sha256).digest()
    token = f"{header}.{body}.{base64.urlsafe_b64encode(sig).rstrip(b'=').decode()}"
    assert (await me(client, token)).status_code == 401


@pytest.mark.parametrize(
    "override",
    [
        {"exp": datetime.now(UTC) - timedelta(minutes=1)},
        {"aud": "someone-else"},
        {"iss": "https://evil.example"},
        {"nbf": datetime.now(UTC) + timedelta(minutes=10)},
        {"typ": "refresh"},
    ],
    ids=["expired", "wrong-aud", "wrong-iss", "not-yet-valid", "not-an-access-token"],
)
async def test_tokens_signed_by_our_key_but_with_bad_claims_are_rejected(client, override):
    keys = client.app.state.token_keys
    token = jwt.encode(
        _claims(**override), keys.keys[keys.kid].private_key, algorithm="RS256", headers={"kid": keys.kid}
    )
    assert (await me(client, token)).status_code == 401


async def test_a_token_with_an_unknown_kid_is_rejected(client):
    stranger = TokenKeys()
    token = stranger.issue({"sub": "u1", "username": "x", "roles": ["super_admin"], "tenant_id": "acme"}, 300)
    assert (await me(client, token)).status_code == 401


async def test_a_refresh_token_is_not_an_access_token(client):
    pair = (await login(client)).json()
    assert (await me(client, pair["refresh_token"])).status_code == 401
    assert (await me(client, pair["access_token"])).status_code == 200


async def rejected_tokens(client) -> float:
    text = (await client.get("/metrics", headers=client.metrics)).text
    return metric_value(text, "novapos_cloud_security_events_total", event="token_rejected")


async def test_rejected_tokens_are_counted_for_alerting(client):
    before = await rejected_tokens(client)
    assert (await me(client, "not-a-jwt")).status_code == 401
    assert await rejected_tokens(client) - before == 1


# -- refresh rotation ----------------------------------------------------------------------------
async def test_refresh_rotates_and_reuse_revokes_the_whole_family(client):
    reuse_before = metric_value((await client.get("/metrics", headers=client.metrics)).text, "novapos_cloud_security_events_total",
                                event="refresh_reuse")
    first = (await login(client)).json()
    r = await client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert r.status_code == 200
    second = r.json()
    assert second["refresh_token"] != first["refresh_token"]

    reused = await client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert reused.status_code == 401 and reused.json()["type"].endswith("refresh-token-reused")
    # The revocation committed although the request failed: the thief's fresh token is dead too.
    again = await client.post("/api/v1/auth/refresh", json={"refresh_token": second["refresh_token"]})
    assert again.status_code == 401
    reuse = metric_value((await client.get("/metrics", headers=client.metrics)).text, "novapos_cloud_security_events_total",
                         event="refresh_reuse")
    assert reuse - reuse_before == 1


async def test_only_the_sha256_of_a_refresh_token_is_stored(client):
    token = (await login(client)).json()["refresh_token"]
    async with client.db.system(write=False) as conn:
        stored = [r[0] for r in await conn.execute(select(refresh_tokens.c.token_hash))]
    assert token not in stored and len(stored[0]) == 64


async def test_logout_ends_the_session(client):
    token = (await login(client)).json()["refresh_token"]
    assert (await client.post("/api/v1/auth/logout", json={"refresh_token": token})).status_code == 204
    assert (await client.post("/api/v1/auth/refresh", json={"refresh_token": token})).status_code == 401


# -- key rotation --------------------------------------------------------------------------------
async def test_rotation_keeps_the_previous_key_until_its_tokens_expire(client):
    old = (await login(client)).json()["access_token"]
    admin = (await login(client, "ada", "admin-pass-1", pyotp.TOTP(client.totp_secret).now())).json()
    assert "super_admin" not in admin["user"]["roles"]
    keys = client.app.state.token_keys
    old_kid = keys.kid
    new_kid = keys.rotate()
    assert new_kid != old_kid
    jwks = (await client.get("/.well-known/jwks.json")).json()
    assert {k["kid"] for k in jwks["keys"]} == {old_kid, new_kid}
    assert (await me(client, old)).status_code == 200  # still valid: issued before the rotation
    fresh = (await login(client)).json()["access_token"]
    assert jwt.get_unverified_header(fresh)["kid"] == new_kid

    keys.keys[old_kid].retired_at = time.time() - keys.keep_retired_s - 1  # its tokens have expired
    assert (await me(client, old)).status_code == 401
    assert {k["kid"] for k in (await client.get("/.well-known/jwks.json")).json()["keys"]} == {new_kid}


async def test_keys_persist_across_restarts_with_their_rotation_state(tmp_path):
    first = TokenKeys(tmp_path / "keys")
    old_kid = first.kid
    first.rotate()
    again = TokenKeys(tmp_path / "keys")
    assert again.kid == first.kid and again.verification_key(old_kid) is not None


async def test_only_a_super_admin_may_rotate_keys(client):
    token = (await login(client)).json()["access_token"]
    r = await client.post("/api/v1/auth/keys/rotate", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 403


# -- TOTP ----------------------------------------------------------------------------------------
async def test_an_admin_needs_a_totp_code_and_each_code_works_once(client):
    missing = await login(client, "ada", "admin-pass-1")
    assert missing.status_code == 401 and missing.json()["type"].endswith("mfa-required")
    assert (await login(client, "ada", "admin-pass-1", "000000")).status_code == 401
    code = pyotp.TOTP(client.totp_secret).now()
    ok = await login(client, "ada", "admin-pass-1", code)
    assert ok.status_code == 200, ok.text
    replay = await login(client, "ada", "admin-pass-1", code)
    assert replay.status_code == 401 and replay.json()["type"].endswith("mfa-invalid")


async def test_an_admin_without_totp_cannot_log_in_outside_demo_mode(client):
    r = await login(client, "nomfa", "admin-pass-2")
    assert r.status_code == 403 and r.json()["type"].endswith("mfa-enrollment-required")


# -- lockout -------------------------------------------------------------------------------------
async def test_repeated_failures_lock_the_account_even_for_the_right_password(client):
    for _ in range(5):
        assert (await login(client, "ana", "wrong")).status_code == 401
    locked = await login(client, "ana", "analyst-pass-1")
    assert locked.status_code == 429 and int(locked.headers["retry-after"]) >= 1
    assert 'event="lockout"' in (await client.get("/metrics", headers=client.metrics)).text


async def test_an_unknown_user_gets_the_same_answers_as_a_real_one(client):
    real = [await login(client, "ana", "wrong") for _ in range(5)]
    ghost = [await login(client, "ghost", "wrong") for _ in range(5)]
    assert [r.status_code for r in real] == [r.status_code for r in ghost] == [401] * 5
    assert real[0].json() == ghost[0].json()
    assert (await login(client, "ana", "x")).status_code == (await login(client, "ghost", "x")).status_code == 429


async def test_an_unknown_user_costs_the_same_password_work(client, argon2_verifications):
    assert (await login(client, "ana", "wrong")).status_code == 401
    real = list(argon2_verifications)
    argon2_verifications.clear()
    assert (await login(client, "ghost-user", "wrong")).status_code == 401
    # Counted, not timed: one Argon2id verification each, at the same memory and time cost.
    assert len(real) == 1 and argon2_verifications == real
    assert real[0].memory_cost >= 19456 and real[0].time_cost >= 2


# -- RBAC: every route is guarded or deliberately public ---------------------------------------------
async def test_every_route_has_a_guard_or_is_explicitly_public(client):
    unguarded = []
    for route in client.app.routes:
        for handler in getattr(route, "route_handlers", []):
            if handler.http_methods <= {"OPTIONS", "HEAD"} or route.path.startswith(PUBLIC_PREFIXES):
                continue  # Litestar's automatic CORS preflight answers, and the OpenAPI documents
            guards = [g for layer in handler.ownership_layers for g in (layer.guards or [])]
            if not guards and not handler.opt.get("public"):
                unguarded.append(f"{route.path} {sorted(handler.http_methods)}")
    assert unguarded == []


async def test_every_guarded_route_refuses_a_request_without_a_token(client):
    checked = 0
    for route in client.app.routes:
        for handler in getattr(route, "route_handlers", []):
            if (
                handler.opt.get("public")
                or handler.http_methods <= {"OPTIONS", "HEAD"}
                or route.path.startswith(PUBLIC_PREFIXES)
            ):
                continue
            path = route.path.replace("{case_id:str}", "x").replace("{store_id:str}", "x")
            for method in handler.http_methods - {"HEAD", "OPTIONS"}:
                r = await client.request(method, path, json={})
                assert r.status_code == 401, f"{method} {path} answered {r.status_code}"
                checked += 1
    assert checked >= 20


# -- metrics -------------------------------------------------------------------------------------
async def test_metrics_expose_ingest_counters_and_per_store_lag(client):
    ingestor = Ingestor(client.db)
    an_hour_ago = datetime.now(UTC) - timedelta(hours=1)
    envelope = EventEnvelope(
        event_id=str(uuid.uuid4()),
        tenant_id="acme",
        store_id="lagging",
        seq=1,
        type="order.completed",
        occurred_at=an_hour_ago.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        business_day=an_hour_ago.date().isoformat(),
        payload=sale(100),
    )
    before = (await client.get("/metrics", headers=client.metrics)).text
    await ingestor.ingest([envelope, envelope])
    text = (await client.get("/metrics", headers=client.metrics)).text

    def moved(outcome: str) -> float:
        name = "novapos_cloud_ingest_events_total"
        return metric_value(text, name, outcome=outcome) - metric_value(before, name, outcome=outcome)

    assert (moved("new"), moved("duplicate")) == (1, 1)  # the batch carried one event twice
    lag = metric_value(text, "novapos_cloud_ingest_lag_seconds", tenant_id="acme", store_id="lagging")
    assert 3600 <= lag < 3600 + 300  # the sale happened an hour before the hub received it


async def test_metrics_want_a_metrics_token(client):
    assert (await client.get("/metrics")).status_code == 401
    assert (await client.get("/metrics", headers=client.metrics)).status_code == 200


async def test_a_hub_created_before_totp_upgrades_in_place_and_keeps_its_users(tmp_path):
    from cloud.schema import create_schema

    url = f"sqlite:///{tmp_path / 'old.db'}"
    db = CloudDB(url)
    async with db.engine.begin() as conn:  # the previous release's auth tables, with one user
        await conn.exec_driver_sql(
            "CREATE TABLE hq_users (id VARCHAR PRIMARY KEY, username VARCHAR UNIQUE NOT NULL, password_hash VARCHAR "
            "NOT NULL, roles JSON NOT NULL, tenant_id VARCHAR NOT NULL, store_id VARCHAR, failures INTEGER NOT NULL, "
            "locked_until VARCHAR, created_at VARCHAR NOT NULL)"
        )
        await conn.exec_driver_sql(
            "CREATE TABLE hq_refresh_tokens (token_hash VARCHAR PRIMARY KEY, user_id VARCHAR NOT NULL, "
            "expires_at VARCHAR NOT NULL, rotated_at VARCHAR)"
        )
        from cloud.auth import HASHER

        await conn.exec_driver_sql(
            "INSERT INTO hq_users VALUES ('u1', 'old', ?, '[\"hq_analyst\"]', 'acme', NULL, 0, NULL, '2026-01-01')",
            (HASHER.hash("old-pass-1"),),
        )
    await create_schema(db)
    await db.close()
    app = create_app(CloudSettings(db_url=url))
    async with AsyncTestClient(app=app) as c:
        r = await login(c, "old", "old-pass-1")
        assert r.status_code == 200, r.text
        assert (
            await c.post("/api/v1/auth/refresh", json={"refresh_token": r.json()["refresh_token"]})
        ).status_code == 200
