"""Outgoing webhooks from a real hub to a local receiver that verifies them with the
`standardwebhooks` library: retries after 500s, rejected forgeries and stale deliveries,
replay from HQ, dead letters, secret rotation, and SSRF refusals."""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from cloud import webhooks
from tests.cloud.partner_support import PartnerHub, admin_headers, register_app
from tests.support import free_port, wait_until


class _EndpointServer(ThreadingHTTPServer):
    # A listen backlog like a real endpoint's: two workers send up to 14 deliveries at once, and
    # socketserver's default of 5 let a loaded machine drop a connection now and then.
    request_queue_size = 128
    daemon_threads = True


class Receiver:
    """A partner's endpoint: answers from a script (default 200) and verifies every delivery."""

    def __init__(self) -> None:
        self.port = free_port()
        self.secrets: list[str] = []
        self.script: list[int] = []
        self.received: list[dict[str, Any]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                headers = {k.lower(): v for k, v in self.headers.items()}
                verified = [receiver.verifies(s, body, headers) for s in receiver.secrets]
                status = receiver.script.pop(0) if receiver.script else 200
                if not any(verified):
                    status = 400
                receiver.received.append({"headers": headers, "body": body, "verified": verified, "status": status})
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = _EndpointServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @staticmethod
    def verifies(secret: str, body: bytes, headers: dict[str, str]) -> bool:
        try:
            Webhook(secret).verify(body, headers)
            return True
        except WebhookVerificationError:
            return False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def post(self, body: bytes, headers: dict[str, str]) -> int:
        return httpx.post(self.url, content=body, headers=headers).status_code


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    r.thread.start()
    yield r
    r.server.shutdown()
    r.server.server_close()


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PartnerHub]:
    server = PartnerHub(tmp_path_factory.mktemp("webhooks"), {
        "NOVAPOS_CLOUD_PARTNER_ALLOW_PRIVATE_WEBHOOKS": "1",
        "NOVAPOS_CLOUD_PARTNER_WEBHOOK_POLL_S": "0.2",
        "NOVAPOS_CLOUD_PARTNER_WEBHOOK_BACKOFF_BASE_S": "0.2",
        "NOVAPOS_CLOUD_PARTNER_WEBHOOK_BACKOFF_CAP_S": "0.5",
        "NOVAPOS_CLOUD_PARTNER_WEBHOOK_MAX_AGE_S": "6",
        "NOVAPOS_CLOUD_PARTNER_BREAKER_FAILURES": "100",
        "NOVAPOS_CLOUD_PARTNER_USAGE_FLUSH_S": "0.2",
    })
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def admin(hub: PartnerHub) -> dict[str, str]:
    return admin_headers(hub.url)


def subscribe(hub: PartnerHub, admin: dict[str, str], url: str, types: list[str]) -> dict[str, Any]:
    app = register_app(hub.url, admin, ["orders:read"])
    r = httpx.post(f"{hub.url}/api/v1/partner-admin/apps/{app['app_id']}/webhooks", headers=admin,
                   json={"url": url, "event_types": types})
    assert r.status_code == 201, r.text
    return r.json()


def store_sale(hub: PartnerHub, *, total_cents: int = 1250, tenant: str = "demo") -> str:
    """An `order.completed` from a store, ingested into the hub's database as NATS ingest would."""
    from cloud.db import CloudDB
    from cloud.ingest import Ingestor
    from edge.contracts.envelope import EventEnvelope

    order_id = "ord-" + uuid.uuid4().hex[:8]
    now = datetime.now(UTC)
    env = EventEnvelope(event_id=str(uuid.uuid4()), tenant_id=tenant, store_id="store-1", seq=1, type="order.completed",
                        occurred_at=now.strftime("%Y-%m-%dT%H:%M:%S.000Z"), business_day=now.strftime("%Y-%m-%d"),
                        payload={"order_id": order_id, "total_cents": total_cents, "currency": "EUR",
                                 "lines": [{"sku": "SKU-1", "quantity": 1, "total_cents": total_cents}],
                                 "tenders": [{"method": "card", "amount_cents": total_cents}]})

    async def ingest() -> None:
        db = CloudDB(hub.db_url)
        try:
            await Ingestor(db).ingest([env])
        finally:
            await db.close()

    asyncio.run(ingest())
    return order_id


def deliveries(hub: PartnerHub, admin: dict[str, str], endpoint_id: str) -> list[dict[str, Any]]:
    r = httpx.get(f"{hub.url}/api/v1/partner-admin/deliveries", params={"endpoint_id": endpoint_id}, headers=admin)
    assert r.status_code == 200, r.text
    return r.json()["items"]


def test_a_delivery_refused_twice_is_retried_then_arrives_signed(hub, admin, receiver):
    endpoint = subscribe(hub, admin, receiver.url, ["order.completed"])
    receiver.secrets = [endpoint["secret"]]
    receiver.script = [500, 500]
    order_id = store_sale(hub, total_cents=1250)

    wait_until(lambda: len(receiver.received) >= 3, timeout=30, what="three attempts")
    first, last = receiver.received[0], receiver.received[2]
    assert [r["status"] for r in receiver.received[:3]] == [500, 500, 200]
    assert all(r["verified"] == [True] for r in receiver.received[:3])
    assert len({r["headers"]["webhook-id"] for r in receiver.received[:3]}) == 1  # one id across retries
    payload = json.loads(last["body"])
    assert payload["type"] == "order.completed"
    assert payload["data"]["order_id"] == order_id and payload["data"]["total_cents"] == 1250
    assert first["headers"]["webhook-signature"].startswith("v1,")

    item = wait_until(lambda: next((d for d in deliveries(hub, admin, endpoint["endpoint_id"])
                                    if d["status"] == "delivered"), None), timeout=10, what="delivered status")
    assert item["attempts"] == 3 and item["last_status_code"] == 200
    log = httpx.get(f"{hub.url}/api/v1/partner-admin/deliveries/{item['delivery_id']}/attempts", headers=admin).json()
    assert [a["status_code"] for a in log["items"]] == [500, 500, 200]
    assert [a["attempt_no"] for a in log["items"]] == [1, 2, 3]
    assert all(a["latency_ms"] > 0 for a in log["items"])


def test_a_forged_or_stale_delivery_is_rejected_by_the_receiver(hub, admin, receiver):
    endpoint = subscribe(hub, admin, receiver.url, ["order.completed"])
    receiver.secrets = [endpoint["secret"]]
    store_sale(hub)
    wait_until(lambda: receiver.received, timeout=30, what="a delivery")
    genuine = receiver.received[0]
    assert genuine["status"] == 200
    headers = {k: v for k, v in genuine["headers"].items() if k.startswith("webhook-") or k == "content-type"}

    tampered = genuine["body"].replace(b'"total_cents":', b'"total_cents":9')
    assert receiver.post(tampered, headers) == 400
    wrong_key = webhooks.sign([webhooks.new_secret()], headers["webhook-id"], datetime.now(UTC),
                              genuine["body"].decode())
    assert receiver.post(genuine["body"], {**headers, "webhook-signature": wrong_key}) == 400
    stale_at = datetime.now(UTC) - timedelta(minutes=10)
    stale = webhooks.sign([endpoint["secret"]], headers["webhook-id"], stale_at, genuine["body"].decode())
    assert receiver.post(genuine["body"], {**headers, "webhook-timestamp": str(int(stale_at.timestamp())),
                                           "webhook-signature": stale}) == 400
    assert receiver.post(genuine["body"], headers) == 200  # the genuine one still verifies


def test_hq_replays_one_delivery_and_a_time_range(hub, admin, receiver):
    endpoint = subscribe(hub, admin, receiver.url, ["order.*", "order.completed"])
    receiver.secrets = [endpoint["secret"]]
    store_sale(hub)
    store_sale(hub)
    wait_until(lambda: len(receiver.received) >= 2, timeout=30, what="two deliveries")
    items = wait_until(lambda: [d for d in deliveries(hub, admin, endpoint["endpoint_id"])
                                if d["status"] == "delivered"] if len(deliveries(hub, admin, endpoint["endpoint_id"]))
                       == 2 else None, timeout=10, what="both delivered")
    one = items[0]["delivery_id"]
    r = httpx.post(f"{hub.url}/api/v1/partner-admin/deliveries/{one}/replay", headers=admin)
    assert r.status_code == 202 and r.json() == {"replayed": 1}
    wait_until(lambda: len(receiver.received) >= 3, timeout=30, what="the replayed delivery")
    assert receiver.received[2]["headers"]["webhook-id"] == one and receiver.received[2]["verified"] == [True]

    since = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    until = (datetime.now(UTC) + timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    r = httpx.post(f"{hub.url}/api/v1/partner-admin/replay", headers=admin,
                   json={"since": since, "until": until, "endpoint_id": endpoint["endpoint_id"]})
    assert r.status_code == 202 and r.json() == {"replayed": 2}
    wait_until(lambda: len(receiver.received) >= 5, timeout=30, what="the replayed range")
    assert {r["headers"]["webhook-id"] for r in receiver.received[3:5]} == {d["delivery_id"] for d in items}

    bad = httpx.post(f"{hub.url}/api/v1/partner-admin/replay", headers=admin, json={"since": until, "until": since})
    assert bad.status_code == 422 and bad.headers["content-type"].startswith("application/problem+json")
    missing = httpx.post(f"{hub.url}/api/v1/partner-admin/deliveries/msg_nope/replay", headers=admin)
    assert missing.status_code == 404


def test_a_delivery_that_never_succeeds_goes_to_the_dead_letters(hub, admin, receiver):
    endpoint = subscribe(hub, admin, receiver.url, ["order.completed"])
    receiver.secrets = [endpoint["secret"]]
    receiver.script = [503] * 1000
    store_sale(hub)
    dead = wait_until(lambda: next((d for d in deliveries(hub, admin, endpoint["endpoint_id"])
                                    if d["status"] == "dead"), None), timeout=40, what="a dead letter")
    assert dead["attempts"] >= 2 and dead["last_status_code"] == 503
    health = httpx.get(f"{hub.url}/api/v1/partner-admin/health", headers=admin).json()["items"]
    assert next(h for h in health if h["app_id"] == endpoint["app_id"])["dead"] == 1


def test_during_a_secret_rotation_both_secrets_sign(hub, admin, receiver):
    endpoint = subscribe(hub, admin, receiver.url, ["order.completed"])
    old = endpoint["secret"]
    r = httpx.post(f"{hub.url}/api/v1/partner-admin/webhooks/{endpoint['endpoint_id']}/rotate-secret", headers=admin)
    assert r.status_code == 200
    new = r.json()["secret"]
    assert new != old and r.json()["previous_secret_until"]
    receiver.secrets = [old, new]
    store_sale(hub)
    wait_until(lambda: receiver.received, timeout=30, what="a delivery")
    assert receiver.received[0]["verified"] == [True, True]
    assert len(receiver.received[0]["headers"]["webhook-signature"].split(" ")) == 2


def test_events_nobody_subscribed_to_are_not_sent(hub, admin, receiver):
    endpoint = subscribe(hub, admin, receiver.url, ["inventory.low_stock"])
    receiver.secrets = [endpoint["secret"]]
    store_sale(hub)
    assert deliveries(hub, admin, endpoint["endpoint_id"]) == []


@pytest.mark.parametrize("url", ["http://127.0.0.1/x", "https://127.0.0.1/x", "https://10.0.0.8/hook",
                                 "https://169.254.169.254/latest/meta-data", "https://[::1]/x", "https://localhost/x",
                                 "ftp://example.com/x", "https://user:pw@example.com/x", "not a url"])
def test_private_loopback_and_link_local_endpoints_are_refused(url: str):
    with pytest.raises(webhooks.UnsafeEndpoint):
        webhooks.check_url(url, allow_private=False)


def test_the_test_switch_allows_a_loopback_receiver_but_still_wants_http():
    webhooks.check_url("http://127.0.0.1:9000/hooks", allow_private=True)
    with pytest.raises(webhooks.UnsafeEndpoint):
        webhooks.check_url("file:///etc/passwd", allow_private=True)


def test_webhook_secrets_are_encrypted_at_rest(tmp_path: Path):
    box = webhooks.SecretBox(tmp_path / "keys")
    secret = webhooks.new_secret()
    sealed = box.seal(secret)
    assert secret not in sealed and box.open(sealed) == secret
    assert (tmp_path / "keys" / webhooks.KEY_FILE).stat().st_mode & 0o077 == 0


async def test_two_senders_on_one_database_never_send_the_same_attempt(cloud_db, receiver, tmp_path: Path):
    """Two hub instances' workers claim with FOR UPDATE SKIP LOCKED (Postgres): each delivery is
    sent once, however their passes interleave."""
    from cloud.partner_settings import PartnerSettings
    from cloud.projections import dialect_insert
    from cloud.schema import tenants
    from cloud.webhook_worker import WebhookWorker

    async with cloud_db.system() as conn:
        await conn.execute(dialect_insert(conn, tenants).values(id="acme", name="Acme", created_at="2026-01-01T00:00:00Z")
                           .on_conflict_do_nothing(index_elements=["id"]))
    box = webhooks.SecretBox(tmp_path / "keys")
    endpoint = await cloud_db.write(webhooks.subscribe, "acme", "app_1", receiver.url, ["order.completed"], box,
                                    tenant_id="acme")
    receiver.secrets = [endpoint["secret"]]
    for i in range(30):
        await cloud_db.write(webhooks.enqueue, "acme", "order.completed", {"order_id": f"o-{i}"}, f"evt-{i}",
                             tenant_id="acme")
    settings = PartnerSettings(allow_private_webhooks=True, webhook_batch=7)
    first, second = WebhookWorker(cloud_db, settings, box), WebhookWorker(cloud_db, settings, box)
    try:
        for _ in range(20):
            await asyncio.gather(first.run_once(), second.run_once())
            if len(receiver.received) >= 30:
                break
    finally:
        await first.client.aclose()
        await second.client.aclose()
    ids = [r["headers"]["webhook-id"] for r in receiver.received]
    assert len(ids) == 30 and len(set(ids)) == 30
    assert all(r["verified"] == [True] for r in receiver.received)
