"""Partner credentials against a real hub over HTTP: OAuth2 client credentials (secret and
private_key_jwt), scopes, revocation, API keys with rotation overlap, and the wall between HQ
user tokens and partner tokens."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.cloud.partner_support import PartnerHub, admin_headers, bearer, client_token, register_app
from tests.support import wait_until


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PartnerHub]:
    server = PartnerHub(tmp_path_factory.mktemp("partner-oauth"), {"NOVAPOS_CLOUD_PARTNER_KEY_OVERLAP_S": "3"})
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def admin(hub: PartnerHub) -> dict[str, str]:
    return admin_headers(hub.url)


def test_a_client_gets_a_scoped_token_and_calls_within_its_scope(hub: PartnerHub, admin: dict[str, str]):
    app = register_app(hub.url, admin, ["catalog:read", "inventory:read"])
    r = client_token(hub.url, app)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token_type"] == "Bearer" and 0 < body["expires_in"] <= 3600
    assert set(body["scope"].split()) == {"catalog:read", "inventory:read"}
    assert r.headers["cache-control"] == "no-store"

    call = httpx.get(f"{hub.url}/api/v1/partner/inventory", headers=bearer(body["access_token"]))
    assert call.status_code == 200, call.text
    assert call.json() == {"items": []}
    assert 'q=' in call.headers["ratelimit-policy"] and call.headers["ratelimit"].startswith('"')


def test_a_call_outside_the_scopes_is_refused_naming_the_missing_scope(hub: PartnerHub, admin: dict[str, str]):
    app = register_app(hub.url, admin, ["catalog:read"])
    token = client_token(hub.url, app).json()["access_token"]
    r = httpx.post(f"{hub.url}/api/v1/partner/orders", headers={**bearer(token), "Idempotency-Key": "k1"},
                   json={"order_id": "web-1", "lines": [{"sku": "SKU-1", "quantity": 1}]})
    assert r.status_code == 403
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["missing_scope"] == "orders:write" and "orders:write" in r.json()["detail"]


def test_a_token_narrowed_to_one_scope_carries_only_that_one(hub: PartnerHub, admin: dict[str, str]):
    app = register_app(hub.url, admin, ["catalog:read", "orders:read"])
    r = client_token(hub.url, app, scope="orders:read")
    assert r.json()["scope"] == "orders:read"
    token = r.json()["access_token"]
    assert httpx.get(f"{hub.url}/api/v1/partner/orders", headers=bearer(token)).status_code == 200
    assert httpx.get(f"{hub.url}/api/v1/partner/catalog", headers=bearer(token)).status_code == 403


def test_a_scope_the_app_was_not_granted_gets_no_token(hub: PartnerHub, admin: dict[str, str]):
    app = register_app(hub.url, admin, ["catalog:read"])
    r = client_token(hub.url, app, scope="catalog:read orders:write")
    assert r.status_code == 400 and r.json()["error"] == "invalid_scope"


def test_a_wrong_secret_or_unknown_client_gets_no_token(hub: PartnerHub, admin: dict[str, str]):
    app = register_app(hub.url, admin, ["catalog:read"])
    r = client_token(hub.url, {**app, "client_secret": "ncs_wrong"})
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"
    r = client_token(hub.url, {"client_id": "app_nobody", "client_secret": "x"})
    assert r.status_code == 401
    r = httpx.post(f"{hub.url}/oauth/token", data={"grant_type": "password", "username": "a", "password": "b"},
                   auth=(app["client_id"], app["client_secret"]))
    assert r.status_code == 400 and r.json()["error"] == "unsupported_grant_type"


def test_hq_user_tokens_and_partner_tokens_each_work_only_on_their_own_api(hub: PartnerHub, admin: dict[str, str]):
    app = register_app(hub.url, admin, ["catalog:read"])
    partner_token = client_token(hub.url, app).json()["access_token"]
    assert httpx.get(f"{hub.url}/api/v1/partner/catalog", headers=admin).status_code == 401
    assert httpx.get(f"{hub.url}/api/v1/hq/stores", headers=bearer(partner_token)).status_code == 401
    assert httpx.get(f"{hub.url}/api/v1/partner-admin/apps", headers=bearer(partner_token)).status_code == 401


def test_revoking_the_app_refuses_its_token_on_the_next_request(hub: PartnerHub, admin: dict[str, str]):
    app = register_app(hub.url, admin, ["catalog:read"])
    token = client_token(hub.url, app).json()["access_token"]
    assert httpx.get(f"{hub.url}/api/v1/partner/catalog", headers=bearer(token)).status_code == 200
    r = httpx.post(f"{hub.url}/api/v1/partner-admin/apps/{app['app_id']}/revoke", headers=admin)
    assert r.status_code == 200 and r.json()["status"] == "revoked"
    refused = httpx.get(f"{hub.url}/api/v1/partner/catalog", headers=bearer(token))
    assert refused.status_code == 401 and refused.headers["content-type"].startswith("application/problem+json")
    assert client_token(hub.url, app).status_code == 401


def test_revoking_tokens_keeps_the_app_but_refuses_older_tokens(hub: PartnerHub, admin: dict[str, str]):
    app = register_app(hub.url, admin, ["catalog:read"])
    old = client_token(hub.url, app).json()["access_token"]
    time.sleep(1.1)  # token times have one-second resolution; the revocation must be strictly later
    r = httpx.post(f"{hub.url}/api/v1/partner-admin/apps/{app['app_id']}/revoke-tokens", headers=admin)
    assert r.status_code == 200
    assert httpx.get(f"{hub.url}/api/v1/partner/catalog", headers=bearer(old)).status_code == 401
    time.sleep(1.1)
    new = client_token(hub.url, app).json()["access_token"]
    assert httpx.get(f"{hub.url}/api/v1/partner/catalog", headers=bearer(new)).status_code == 200


def test_an_api_key_is_shown_once_rotated_with_overlap_and_revoked_at_once(hub: PartnerHub, admin: dict[str, str]):
    app = register_app(hub.url, admin, ["catalog:read"])
    base = f"{hub.url}/api/v1/partner-admin/apps/{app['app_id']}"
    issued = httpx.post(f"{base}/keys", headers=admin).json()
    old_key = issued["api_key"]
    assert old_key.startswith("npk_" + issued["key_id"] + "_")
    listed = httpx.get(base, headers=admin).json()
    assert old_key not in str(listed) and listed["keys"][0]["key_id"] == issued["key_id"]
    assert httpx.get(f"{hub.url}/api/v1/partner/catalog", headers={"X-API-Key": old_key}).status_code == 200

    rotated = httpx.post(f"{base}/keys/{issued['key_id']}/rotate", headers=admin)
    assert rotated.status_code == 201, rotated.text
    new_key = rotated.json()["api_key"]
    # During the overlap window both keys work; after it, only the new one.
    assert httpx.get(f"{hub.url}/api/v1/partner/catalog", headers={"X-API-Key": old_key}).status_code == 200
    assert httpx.get(f"{hub.url}/api/v1/partner/catalog", headers=bearer(new_key)).status_code == 200
    wait_until(lambda: httpx.get(f"{hub.url}/api/v1/partner/catalog", headers={"X-API-Key": old_key}).status_code
               == 401, timeout=15, interval=0.25, what="the rotated key to expire after its overlap")
    assert httpx.get(f"{hub.url}/api/v1/partner/catalog", headers={"X-API-Key": new_key}).status_code == 200

    revoked = httpx.post(f"{base}/keys/{rotated.json()['key_id']}/revoke", headers=admin)
    assert revoked.status_code == 200
    assert httpx.get(f"{hub.url}/api/v1/partner/catalog", headers={"X-API-Key": new_key}).status_code == 401


def test_private_key_jwt_authenticates_and_an_assertion_works_only_once(hub: PartnerHub, admin: dict[str, str]):
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = jwt.algorithms.RSAAlgorithm.to_jwk(private.public_key(), as_dict=True)
    app = register_app(hub.url, admin, ["inventory:read"], jwks={"keys": [{**public, "kid": "k1", "use": "sig",
                                                                            "alg": "RS256"}]})
    now = int(time.time())
    assertion = jwt.encode({"iss": app["client_id"], "sub": app["client_id"], "aud": f"{hub.url}/oauth/token",
                            "iat": now, "exp": now + 60, "jti": str(uuid.uuid4())}, private, algorithm="RS256",
                           headers={"kid": "k1"})
    form = {"grant_type": "client_credentials", "client_id": app["client_id"],
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": assertion}
    r = httpx.post(f"{hub.url}/oauth/token", data=form)
    assert r.status_code == 200, r.text
    assert httpx.get(f"{hub.url}/api/v1/partner/inventory", headers=bearer(r.json()["access_token"])).status_code == 200
    again = httpx.post(f"{hub.url}/oauth/token", data=form)
    assert again.status_code == 401 and again.json()["error"] == "invalid_client"

    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode({"iss": app["client_id"], "sub": app["client_id"], "aud": f"{hub.url}/oauth/token",
                         "iat": now, "exp": now + 60, "jti": str(uuid.uuid4())}, other, algorithm="RS256",
                        headers={"kid": "k1"})
    refused = httpx.post(f"{hub.url}/oauth/token", data={**form, "client_assertion": forged})
    assert refused.status_code in (400, 401) and refused.json()["error"] == "invalid_client"  # RFC 6749 §5.2


def test_bad_registrations_are_refused_and_change_nothing(hub: PartnerHub, admin: dict[str, str]):
    before = httpx.get(f"{hub.url}/api/v1/partner-admin/apps", headers=admin).json()["items"]
    for body in ({"name": "x", "contact": "y", "scopes": ["everything:write"]},
                 {"name": "x", "contact": "y", "scopes": ["catalog:read"], "allowed_ips": ["not-a-range"]},
                 {"name": "x", "contact": "y", "scopes": []},
                 {"name": "x", "contact": "y", "scopes": ["catalog:read"], "jwks": {"keys": [{"kty": "RSA", "d": "x"}]}}):
        r = httpx.post(f"{hub.url}/api/v1/partner-admin/apps", headers=admin, json=body)
        assert r.status_code in (400, 422), r.text
        assert r.headers["content-type"].startswith("application/problem+json")
    assert httpx.get(f"{hub.url}/api/v1/partner-admin/apps", headers=admin).json()["items"] == before


def test_an_app_limited_to_other_addresses_is_refused(hub: PartnerHub, admin: dict[str, str]):
    app = register_app(hub.url, admin, ["catalog:read"], allowed_ips=["203.0.113.0/24"])
    token = client_token(hub.url, app).json()["access_token"]
    r = httpx.get(f"{hub.url}/api/v1/partner/catalog", headers=bearer(token))
    assert r.status_code == 401 and "address" in r.json()["detail"]


def test_no_secret_reaches_the_log(hub: PartnerHub, admin: dict[str, str]):
    app = register_app(hub.url, admin, ["catalog:read"])
    key = httpx.post(f"{hub.url}/api/v1/partner-admin/apps/{app['app_id']}/keys", headers=admin).json()["api_key"]
    token = client_token(hub.url, app).json()["access_token"]
    httpx.get(f"{hub.url}/api/v1/partner/catalog", headers={"X-API-Key": key})
    log = Path(hub.log).read_text()
    for secret in (app["client_secret"], key, token):
        assert secret not in log
