"""A partner's e-commerce pickup order end to end, every part real: a nats-server, the cloud hub
and store servers as processes, and the partner's own webhook receiver verifying each delivery
with the `standardwebhooks` library. The partner posts the order with an OAuth2 client-credentials
token, HQ allocates it, the store accepts (or rejects, and HQ re-routes it), the lane hands it
over, and the partner hears every step as a signed `bopis.*` webhook and reads the same story
from `GET /api/v1/partner/orders/{id}`."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.cloud.partner_support import PartnerHub, admin_headers, bearer, client_token, register_app
from tests.cloud.test_bopis_e2e import LONG, a_product, hand_over, hq_on_hand, step
from tests.cloud.test_webhooks_out import Receiver
from tests.support import login, wait_until

SCOPES = ["orders:write", "orders:read", "webhooks:manage"]


@pytest.fixture
def hub(tmp_path: Path, nats_server) -> Iterator[PartnerHub]:
    directory = tmp_path / "hub"
    directory.mkdir()
    server = PartnerHub(directory, {"NOVAPOS_CLOUD_PARTNER_ALLOW_PRIVATE_WEBHOOKS": "1",
                                    "NOVAPOS_CLOUD_PARTNER_WEBHOOK_POLL_S": "0.2"})
    server.start(["--nats-url", nats_server.url])
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    r.thread.start()
    yield r
    r.server.shutdown()
    r.server.server_close()


class Partner:
    """The web shop: an app registered by the tenant's admin, calling with a bearer token."""

    def __init__(self, hub: PartnerHub, receiver: Receiver, types: list[str]):
        self.hub = hub
        app = register_app(hub.url, admin_headers(hub.url), SCOPES)
        token = client_token(hub.url, app, " ".join(SCOPES))
        assert token.status_code == 200, token.text
        self.headers = bearer(token.json()["access_token"])
        endpoint = self.call("POST", "/webhooks", json={"url": receiver.url, "event_types": types})
        assert endpoint.status_code == 201, endpoint.text
        receiver.secrets = [endpoint.json()["secret"]]
        self.receiver = receiver

    def call(self, method: str, path: str, *, key: bool = False, **kwargs: Any) -> httpx.Response:
        headers = self.headers | ({"Idempotency-Key": uuid.uuid4().hex} if key else {})
        return httpx.request(method, f"{self.hub.url}/api/v1/partner{path}", headers=headers, timeout=30, **kwargs)

    def place(self, order_id: str, sku: str, quantity: int) -> dict[str, Any]:
        r = self.call("POST", "/orders", key=True, json={"order_id": order_id,
                                                         "lines": [{"sku": sku, "quantity": quantity}],
                                                         "prepaid": True})
        assert r.status_code == 201, r.text
        return r.json()

    def order(self, order_id: str) -> dict[str, Any]:
        r = self.call("GET", f"/orders/{order_id}")
        assert r.status_code == 200, r.text
        return r.json()

    def events(self, order_id: str) -> list[dict[str, Any]]:
        """Verified deliveries for the order, put in order by `sequence` (delivery order is not promised)."""
        seen: dict[str, dict[str, Any]] = {}
        for hit in list(self.receiver.received):
            if hit["verified"] == [True]:
                body = json.loads(hit["body"])
                if body["data"]["order_id"] == order_id:
                    seen[hit["headers"]["webhook-id"]] = body  # at least once: one per webhook-id
        return sorted(seen.values(), key=lambda b: b["data"]["sequence"])

    def types(self, order_id: str) -> list[str]:
        return [e["type"] for e in self.events(order_id)]

    def wait_for_types(self, order_id: str, expected: list[str]) -> None:
        """Until the order's deliveries, put in order by `sequence`, are `expected`. Deliveries come
        in any order (sent concurrently, or one retried), so seeing the last type is not enough:
        the one before it may still be on its way."""
        try:
            wait_until(lambda: self.types(order_id) == expected, timeout=LONG)
        except AssertionError:
            raise AssertionError(f"the partner saw {self.types(order_id)} for {order_id}, "
                                 f"not {expected}") from None


def test_the_partner_posts_a_pickup_order_the_lane_hands_it_over_and_the_partner_is_told_completed(
        hub, store_a, receiver):
    partner = Partner(hub, receiver, ["bopis.*"])
    with httpx.Client(base_url=store_a.url, timeout=10) as edge, httpx.Client(base_url=hub.url, timeout=10) as hq:
        admin = login(hq, "hq")
        sku = a_product(edge, login(edge, "manager"))["sku"]
        on_hand = wait_until(lambda: hq_on_hand(hq, admin, sku, "demo-001"), timeout=LONG,
                             what="HQ to know the store's stock")

        placed = partner.place("SHOP-5001", sku, 2)
        assert (placed["status"], placed["store_id"]) == ("reserved", "demo-001")

        sale = hand_over(edge, "SHOP-5001")

        partner.wait_for_types("SHOP-5001", ["bopis.accepted", "bopis.picked", "bopis.ready", "bopis.completed"])
        completed = partner.events("SHOP-5001")[-1]["data"]
        assert completed["status"] == "completed" and completed["store_id"] == "demo-001"
        assert (completed["reference"], completed["sale_order_id"], completed["total_cents"]) == (
            "SHOP-5001", sale["id"], sale["total_cents"])
        assert completed["at"] and completed["event_id"] == "bopis:SHOP-5001:7"

        order = partner.order("SHOP-5001")
        assert order["status"] == "completed"
        assert [h["status"] for h in order["history"]] == [
            "placed", "reserved", "received", "accepted", "picked", "ready", "completed"]

        # A completed order cannot be withdrawn any more.
        late = partner.call("POST", "/orders/SHOP-5001/cancel", key=True, json={"reason": "changed my mind"})
        assert late.status_code == 409 and late.json()["type"].endswith("/bopis-not-cancellable"), late.text

        # HQ's figures are the store's sale: stock down by two, one order of the sale's amount.
        wait_until(lambda: hq_on_hand(hq, admin, sku, "demo-001") == on_hand - 2, timeout=LONG,
                   what="HQ's stock to follow the pickup")
        summary = wait_until(lambda: hq.get("/api/v1/hq/sales/summary", headers=admin).json()["items"],
                             timeout=LONG, what="HQ to count the sale")
        assert summary == [{"store_id": "demo-001", "orders": 1, "gross_cents": sale["total_cents"]}]


def test_a_store_rejects_hq_reroutes_and_the_partner_sees_why_then_cancels(hub, store_a, store_b, receiver):
    partner = Partner(hub, receiver, ["bopis.rejected", "bopis.rerouted", "bopis.cancelled"])
    stores = {"demo-001": store_a, "demo-002": store_b}
    with httpx.Client(base_url=hub.url, timeout=10) as hq:
        admin = login(hq, "hq")
        with httpx.Client(base_url=store_a.url, timeout=10) as edge:
            sku = a_product(edge, login(edge, "manager"))["sku"]
        for store_id in stores:
            wait_until(lambda s=store_id: hq_on_hand(hq, admin, sku, s), timeout=LONG,
                       what=f"HQ to know {store_id}'s stock")

        first = partner.place("SHOP-6002", sku, 1)["store_id"]
        second = next(s for s in stores if s != first)
        with httpx.Client(base_url=stores[first].url, timeout=10) as edge:
            manager = login(edge, "manager")
            wait_until(lambda: edge.get("/api/v1/pickups/SHOP-6002", headers=manager).status_code == 200,
                       timeout=LONG, what="the first store to receive the order")
            assert step(edge, manager, "SHOP-6002", "reject", {"reason": "damaged box"})["status"] == "rejected"

        partner.wait_for_types("SHOP-6002", ["bopis.rejected", "bopis.rerouted"])
        rejected, rerouted = (e["data"] for e in partner.events("SHOP-6002"))
        assert (rejected["store_id"], rejected["reason"]) == (first, "damaged box")
        assert (rerouted["store_id"], rerouted["previous_store_id"]) == (second, first)

        order = partner.order("SHOP-6002")
        assert order["store_id"] == second and order["status"] in ("reserved", "received")  # the store may have it
        assert ("rejected", first, "damaged box") in [(h["status"], h["store_id"], h["reason"])
                                                      for h in order["history"]]

        # The shopper gives up: the partner withdraws it, the second store is told to let go of it.
        with httpx.Client(base_url=stores[second].url, timeout=10) as edge:
            manager = login(edge, "manager")
            wait_until(lambda: edge.get("/api/v1/pickups/SHOP-6002", headers=manager).status_code == 200,
                       timeout=LONG, what="the second store to receive the order")
            cancelled = partner.call("POST", "/orders/SHOP-6002/cancel", key=True, json={"reason": "shopper left"})
            assert cancelled.status_code == 200, cancelled.text
            assert cancelled.json()["status"] == "cancelled"
            wait_until(lambda: edge.get("/api/v1/pickups/SHOP-6002", headers=manager).json()["status"]
                       == "cancelled", timeout=LONG, what="the second store to release the order")

        partner.wait_for_types("SHOP-6002", ["bopis.rejected", "bopis.rerouted", "bopis.cancelled"])
        assert partner.events("SHOP-6002")[-1]["data"]["reason"] == "shopper left"
        unknown = partner.call("POST", "/orders/NOPE-1/cancel", key=True, json={})
        assert unknown.status_code == 404, unknown.text
