"""Tenant isolation and the one idempotency mechanism."""

from __future__ import annotations

import asyncio
import threading

import pytest

from edge.service import catalog, commands
from edge.service.ports import AccessClaims, Actor
from tests.support import eventually, metric_value, metrics_headers


def _other_tenant_headers(client, roles=("store_manager",)):
    services = client.app.state.services
    services.uow.run_sync(Actor.system("other", "other-001"), lambda u: u.stores.ensure(
        tenant_name="Other", store_id="other-001", store_name="Other", timezone="UTC", day_start_hour=0,
        currency="USD", lanes=1, require_mfa=False, now=u.now))
    token = services.security.issue_access(AccessClaims(sub="other-user", username="other", tenant_id="other",
                                                        store_id="other-001", roles=tuple(roles)))
    return {"Authorization": f"Bearer {token}"}


def test_another_tenants_product_is_not_found(client, as_user):
    product = client.get("/api/v1/products?limit=1", headers=as_user("manager")).json()["items"][0]
    other = _other_tenant_headers(client)
    assert client.get(f"/api/v1/products/{product['id']}", headers=other).status_code == 404
    assert client.patch(f"/api/v1/products/{product['id']}", json={"name": "x"}, headers=other).status_code == 404
    assert client.get("/api/v1/products", headers=other).json()["items"] == []
    assert client.get(f"/api/v1/products?barcode={product['barcodes'][0]}", headers=other).json()["items"] == []


def test_a_mismatched_x_tenant_id_header_is_forbidden_and_counted(client, as_user):
    headers = as_user("manager") | {"X-Tenant-ID": "other"}
    counted_before = metric_value(client.get("/metrics", headers=metrics_headers(client)).text, "novapos_security_events_total", event="cross_tenant")
    response = client.get("/api/v1/products", headers=headers)
    assert response.status_code == 403
    counted = metric_value(client.get("/metrics", headers=metrics_headers(client)).text, "novapos_security_events_total", event="cross_tenant")
    assert counted - counted_before == 1
    assert client.get("/api/v1/products", headers=as_user("manager") | {"X-Tenant-ID": "demo"}).status_code == 200


def test_audit_is_scoped_to_the_tenant(client, as_user):
    client.post("/api/v1/products", json={"sku": "A-1", "name": "a", "price_cents": 1, "tax_category": "standard"},
                headers=as_user("manager"))
    other = _other_tenant_headers(client)
    assert client.get("/api/v1/audit", headers=other).json()["items"] == []


# -- idempotency ------------------------------------------------------------------------------
def _override_url(client, headers):
    product = client.get("/api/v1/products?limit=1", headers=headers).json()["items"][0]
    return f"/api/v1/products/{product['id']}/price-overrides"


def _count_overrides(client):
    return client.app.state.services.db.read_sync(
        lambda c: c.exec_driver_sql("SELECT count(*) FROM price_overrides").scalar())


def test_a_replay_returns_the_stored_response_and_creates_nothing(client, as_user):
    headers = as_user("manager") | {"Idempotency-Key": "replay-key-0001"}
    url = _override_url(client, headers)
    first = client.post(url, json={"price_cents": 123}, headers=headers)
    again = client.post(url, content=b'{ "price_cents" : 123 }', headers=headers | {"Content-Type": "application/json"})
    assert first.status_code == again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert again.json() == first.json()
    assert _count_overrides(client) == 1


def test_the_same_key_with_a_different_body_is_422(client, as_user):
    headers = as_user("manager") | {"Idempotency-Key": "replay-key-0002"}
    url = _override_url(client, headers)
    client.post(url, json={"price_cents": 123}, headers=headers)
    different = client.post(url, json={"price_cents": 999}, headers=headers)
    assert different.status_code == 422 and different.json()["type"].endswith("/idempotency-key-reused")
    assert _count_overrides(client) == 1


@pytest.mark.parametrize("key", [None, "short", "has spaces in it", "x" * 200])
def test_a_missing_or_malformed_key_is_400(client, as_user, key):
    headers = as_user("manager") | ({"Idempotency-Key": key} if key else {})
    response = client.post(_override_url(client, headers), json={"price_cents": 1}, headers=headers)
    assert response.status_code == 400
    assert _count_overrides(client) == 0


def test_keys_are_scoped_so_two_tenants_never_collide(client, as_user):
    other = _other_tenant_headers(client, roles=("store_manager",))
    services = client.app.state.services
    # The other tenant gets its own product to act on.
    other_actor = Actor(tenant_id="other", store_id="other-001", user_id="other-user", username="other",
                        roles=("store_manager",))
    services.uow.run_sync(other_actor, lambda u: catalog.upsert_tax_category(
        u, commands.TaxCategoryFields(code="standard", rate_bp=0)))
    created = client.post("/api/v1/products", json={"sku": "O-1", "name": "o", "price_cents": 5,
                                                    "tax_category": "standard"}, headers=other).json()
    key = {"Idempotency-Key": "shared-key-0001"}
    mine = client.post(_override_url(client, as_user("manager")), json={"price_cents": 1},
                       headers=as_user("manager") | key)
    theirs = client.post(f"/api/v1/products/{created['id']}/price-overrides", json={"price_cents": 1},
                         headers=other | key)
    assert mine.status_code == theirs.status_code == 201
    assert "idempotent-replayed" not in theirs.headers
    assert mine.json()["product_id"] != theirs.json()["product_id"]


class _Request:
    """Just enough of a Litestar request for the idempotency layer."""

    method = "POST"

    def __init__(self, key, body=b'{"a":1}'):
        self.headers = {"idempotency-key": key}
        self.scope = {"path_template": "/test"}
        self._body = body

    async def body(self):
        return self._body


async def test_concurrent_requests_with_the_same_key_run_once_and_the_rest_get_409(demo_dir):
    from edge.adapters.migrations import migrate
    from edge.bootstrap import build_services
    from edge.domain.errors import Conflict
    from tests.support import demo_settings

    settings = demo_settings(demo_dir)
    migrate(settings.db_path)
    services = build_services(settings)
    services.db.start()
    runs = []
    release = threading.Event()

    def slow_handler(uow):
        runs.append(1)
        release.wait(10)  # holds the request, as a slow card authorisation would
        return {"ok": True}

    actor = Actor(tenant_id="demo", store_id="demo-001", user_id="u1", username="m", roles=("store_manager",))
    try:
        requests = [asyncio.ensure_future(services.idempotency.run(_Request("concurrent-key-1"), actor, slow_handler))
                    for _ in range(5)]
        # The four that arrive while the first is still running are answered without waiting for it.
        await eventually(lambda: sum(r.done() for r in requests) == 4, what="four requests refused")
        assert not requests[0].done()
        release.set()
        results = await asyncio.gather(*requests, return_exceptions=True)
    finally:
        release.set()
        await services.db.close()
    ok = [r for r in results if not isinstance(r, Exception)]
    conflicts = [r for r in results if isinstance(r, Conflict)]
    assert len(runs) == 1
    assert len(ok) == 1 and ok[0].status_code == 201
    assert len(conflicts) == 4 and {c.code for c in conflicts} == {"idempotency-in-progress"}
