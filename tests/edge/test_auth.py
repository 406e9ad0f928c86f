"""Logins, lockout, MFA, lane PINs, refresh rotation and token attacks, against the real app."""

from __future__ import annotations

import base64
import json
import time

import jwt
import pyotp
import pytest
from cryptography.hazmat.primitives import serialization

from tests.support import DEMO_PASSWORD, login, metric_value, metrics_headers


def _login(client, username, password=DEMO_PASSWORD, **extra):
    return client.post("/api/v1/auth/login", json={"username": username, "password": password, **extra})


def test_login_returns_the_contract_shape(client):
    body = _login(client, "manager").json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 900
    assert body["user"]["username"] == "manager"
    assert body["user"]["tenant_id"] == "demo" and body["user"]["store_id"] == "demo-001"
    assert set(body["user"]["roles"]) == {"store_manager", "supervisor"}
    assert body["refresh_token"] and body["access_token"]


def test_unknown_user_and_wrong_password_get_the_same_answer_and_the_same_password_work(client,
                                                                                       argon2_verifications):
    known = _login(client, "manager", "wrong-password")
    known_work = list(argon2_verifications)
    argon2_verifications.clear()
    unknown = _login(client, "nobody-here", "wrong-password")
    assert known.status_code == unknown.status_code == 401
    strip = lambda r: {k: v for k, v in r.json().items() if k != "request_id"}  # noqa: E731
    assert strip(known) == strip(unknown)
    # One Argon2id verification each, at the same cost: an unknown user cannot be told apart by
    # how long the answer takes.
    assert len(known_work) == 1 and argon2_verifications == known_work
    assert known_work[0].memory_cost >= 19456 and known_work[0].time_cost >= 2


def test_repeated_failures_lock_the_account_with_backoff_and_it_is_audited(client, as_user):
    lockouts_before = metric_value(client.get("/metrics", headers=metrics_headers(client)).text, "novapos_security_events_total", event="lockout")
    for _ in range(5):
        assert _login(client, "cashier", "nope-nope").status_code == 401
    locked = _login(client, "cashier")  # even the right password is refused while locked
    assert locked.status_code == 429
    assert int(locked.headers["retry-after"]) >= 1
    audit = client.get("/api/v1/audit?action=auth.lockout", headers=as_user("manager")).json()["items"]
    assert audit and audit[0]["entity_id"] == "cashier"
    lockouts = metric_value(client.get("/metrics", headers=metrics_headers(client)).text, "novapos_security_events_total", event="lockout")
    assert lockouts - lockouts_before == 1


def test_unknown_users_are_locked_out_the_same_way(client):
    for _ in range(5):
        _login(client, "ghost", "x")
    assert _login(client, "ghost", "x").status_code == 429


def test_lockout_is_scoped_per_account(client):
    for _ in range(5):
        _login(client, "cashier", "nope-nope")
    assert _login(client, "cashier").status_code == 429  # the right password, refused: locked
    assert _login(client, "manager").status_code == 200


def _enroll(client, headers):
    enroll = client.post("/api/v1/auth/mfa/enroll", headers=headers)
    assert enroll.status_code == 200
    secret = enroll.json()["secret"]
    assert enroll.json()["otpauth_uri"].startswith("otpauth://totp/")
    code = pyotp.TOTP(secret).now()
    assert client.post("/api/v1/auth/mfa/confirm", json={"code": code}, headers=headers).status_code == 204
    return secret, code


def test_totp_is_required_after_enrolment_and_a_code_is_single_use(client):
    secret, used_code = _enroll(client, login(client, "manager"))
    no_code = _login(client, "manager")
    assert no_code.status_code == 401 and no_code.json()["type"].endswith("/mfa-required")
    # The code used to confirm enrolment cannot be replayed within its step.
    assert _login(client, "manager", totp=used_code).status_code == 401
    next_code = pyotp.TOTP(secret).at(time.time() + 30)
    assert _login(client, "manager", totp=next_code).status_code == 200
    assert _login(client, "manager", totp=next_code).status_code == 401  # reuse


def test_require_mfa_outside_demo_makes_managers_enrol_before_anything_else(tmp_path):
    from litestar.testing import TestClient

    from edge.adapters.security import passwords
    from edge.bootstrap import create_app
    from edge.service import users
    from edge.service.ports import Actor
    from edge.settings import load_settings

    settings = load_settings(environ={"NOVAPOS_DATA_DIR": str(tmp_path), "NOVAPOS_STORE_TENANT_ID": "acme",
                                      "NOVAPOS_STORE_STORE_ID": "s1"})
    app = create_app(settings)
    with TestClient(app) as client:
        services = app.state.services
        hashed = passwords.hash_secret("correct horse battery")
        services.uow.run_sync(Actor.system("acme", "s1"), lambda u: users.add_user(
            u, username="boss", password_hash=hashed, roles=["store_manager"], store_id="s1"))
        body = _login(client, "boss", "correct horse battery").json()
        assert body["mfa_enrollment_required"] is True
        headers = {"Authorization": f"Bearer {body['access_token']}"}
        refused = client.get("/api/v1/products", headers=headers)
        assert refused.status_code == 403 and "two-factor" in refused.json()["detail"]
        secret, _ = _enroll(client, headers)
        code = pyotp.TOTP(secret).at(time.time() + 30)
        full = _login(client, "boss", "correct horse battery", totp=code).json()
        ok = client.get("/api/v1/products", headers={"Authorization": f"Bearer {full['access_token']}"})
        assert ok.status_code == 200


def test_cashier_pin_login_is_bound_to_the_lane(client):
    response = client.post("/api/v1/auth/pin", json={"lane_id": "2", "pin": "1234"})
    assert response.status_code == 200
    claims = jwt.decode(response.json()["access_token"], options={"verify_signature": False})
    assert claims["lane_id"] == "2" and claims["roles"] == ["cashier"]
    assert client.post("/api/v1/auth/pin", json={"lane_id": "2", "pin": "9999"}).status_code == 401
    assert client.post("/api/v1/auth/pin", json={"lane_id": "99", "pin": "1234"}).status_code == 401


def test_refresh_rotates_and_reuse_revokes_the_whole_family(client):
    first = _login(client, "manager").json()["refresh_token"]
    second = client.post("/api/v1/auth/refresh", json={"refresh_token": first})
    assert second.status_code == 200
    second_token = second.json()["refresh_token"]
    assert second_token != first
    reuse = client.post("/api/v1/auth/refresh", json={"refresh_token": first})
    assert reuse.status_code == 401 and reuse.json()["type"].endswith("/refresh-token-reused")
    # The thief's reuse also killed the legitimate holder's newer token.
    assert client.post("/api/v1/auth/refresh", json={"refresh_token": second_token}).status_code == 401


def test_logout_revokes_the_refresh_token(client):
    token = _login(client, "manager").json()["refresh_token"]
    assert client.post("/api/v1/auth/logout", json={"refresh_token": token}).status_code == 204
    assert client.post("/api/v1/auth/refresh", json={"refresh_token": token}).status_code == 401


def test_password_hash_with_old_parameters_is_upgraded_at_login(client):
    from argon2 import PasswordHasher

    services = client.app.state.services
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(DEMO_PASSWORD)
    services.db.write_sync(lambda c: c.exec_driver_sql("UPDATE users SET password_hash=? WHERE username='tech'",
                                                       (weak,)))
    assert _login(client, "tech").status_code == 200
    stored = services.db.read_sync(lambda c: c.exec_driver_sql(
        "SELECT password_hash FROM users WHERE username='tech'").scalar())
    assert "m=19456,t=2,p=1" in stored


# -- token attacks ------------------------------------------------------------------------------
def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def _claims(client) -> dict:
    token = login(client, "admin")["Authorization"].split()[1]
    return jwt.decode(token, options={"verify_signature": False})


def _get(client, token):
    return client.get("/api/v1/products?limit=1", headers={"Authorization": f"Bearer {token}"})


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE"])
def test_alg_none_is_rejected_in_any_case(client, alg):
    claims = _claims(client)
    kid = client.get("/.well-known/jwks.json").json()["keys"][0]["kid"]
    token = f"{_b64({'alg': alg, 'typ': 'JWT', 'kid': kid})}.{_b64(claims)}."
    assert _get(client, token).status_code == 401


def test_hs256_signed_with_our_public_key_is_rejected(client):
    services = client.app.state.services
    key = services.keys.active()
    pem = key.public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    import hashlib
    import hmac

    header = _b64({"alg": "HS256", "typ": "JWT", "kid": key.kid})
    body = _b64(_claims(client))
    sig = hmac.new(pem, f"{header}.{body}".encode(), hashlib.sha256).digest()
    token = f"{header}.{body}.{base64.urlsafe_b64encode(sig).decode().rstrip('=')}"
    assert _get(client, token).status_code == 401


def _signed(client, **changes):
    services = client.app.state.services
    key = services.keys.active()
    claims = {**_claims(client), **changes}
    headers = {"kid": changes.pop("_kid", key.kid)} if "_kid" not in changes else {"kid": changes["_kid"]}
    claims.pop("_kid", None)
    return jwt.encode(claims, key.private_key, algorithm="RS256", headers=headers)


def test_expired_token_is_rejected(client):
    now = int(time.time())
    assert _get(client, _signed(client, exp=now - 10, iat=now - 1000, nbf=now - 1000)).status_code == 401


@pytest.mark.parametrize("claim,value", [("aud", "someone-else"), ("iss", "evil-issuer")])
def test_wrong_audience_or_issuer_is_rejected(client, claim, value):
    assert _get(client, _signed(client, **{claim: value})).status_code == 401


def test_unknown_kid_is_rejected(client):
    assert _get(client, _signed(client, _kid="not-a-key")).status_code == 401


def test_a_valid_signed_token_passes_so_the_attack_tests_mean_something(client):
    assert _get(client, _signed(client)).status_code == 200


def test_refresh_token_cannot_be_used_as_access_token(client):
    refresh = _login(client, "admin").json()["refresh_token"]
    assert _get(client, refresh).status_code == 401
    assert _get(client, _signed(client, typ="refresh")).status_code == 401


def test_key_rotation_keeps_old_tokens_valid_and_publishes_both_keys(client):
    services = client.app.state.services
    old_token = login(client, "admin")["Authorization"].split()[1]
    services.keys.rotate()
    kids = {k["kid"] for k in client.get("/.well-known/jwks.json").json()["keys"]}
    assert len(kids) == 2
    assert _get(client, old_token).status_code == 200
    new_token = login(client, "admin")["Authorization"].split()[1]
    assert jwt.get_unverified_header(new_token)["kid"] != jwt.get_unverified_header(old_token)["kid"]
    assert _get(client, new_token).status_code == 200


def test_keys_rotate_cli_keeps_the_previous_key(demo_dir):
    import subprocess
    import sys
    from pathlib import Path

    exe = Path(sys.executable).parent / "novapos-edge"
    before = json.loads((demo_dir / "keys" / "keys.json").read_text())
    result = subprocess.run([str(exe), "keys", "rotate", "--data-dir", str(demo_dir), "--demo"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    after = json.loads((demo_dir / "keys" / "keys.json").read_text())
    assert after["active"] != before["active"]
    assert before["active"] in after["keys"] and after["keys"][before["active"]]["retired_at"]
