"""Customers at a store linked to HQ over a real nats-server (HQ's rpc side is `FakeHq`):
no plaintext at rest, erasure through the real command inbox, offline sign-up and escrow."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import nats
import pytest

from edge.adapters.inbox import command_stream_config
from edge.adapters.migrations import backup
from edge.contracts import pii
from edge.contracts.envelope import subject_for_command
from edge.contracts.events import Command, encode_command
from tests.cloud.conftest import NatsServer
from tests.edge.customers.conftest import key, unique_person
from tests.edge.customers.fake_hq import FakeHq
from tests.support import EdgeServer, free_port, login, wait_until

FAST = {"NOVAPOS_CUSTOMERS_ESCROW_INTERVAL_S": "0.3", "NOVAPOS_CUSTOMERS_HQ_TIMEOUT_S": "1"}


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[NatsServer]:
    server = NatsServer(tmp_path / "js")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def hq(hub: NatsServer) -> Iterator[FakeHq]:
    fake = FakeHq(hub.url).start()
    yield fake
    fake.stop()


def start_store(demo_dir: Path, hub: NatsServer) -> EdgeServer:
    server = EdgeServer(demo_dir, free_port(), {"NOVAPOS_NATS_URL": hub.url, **FAST})
    server.start()
    return server


@pytest.fixture
def store(demo_dir: Path, hub: NatsServer, hq: FakeHq) -> Iterator[EdgeServer]:
    server = start_store(demo_dir, hub)
    yield server
    server.stop()


def query(db: Path, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


def sign_up(http: httpx.Client, headers: dict[str, str], p: dict[str, str]) -> httpx.Response:
    return http.post("/api/v1/customers", json={"name": p["name"], "email": p["email"], "phone": p["phone"],
                                                "consents": {"marketing": True, "e_receipts": True}},
                     headers={**headers, "Idempotency-Key": key()})


def sell(http: httpx.Client, headers: dict[str, str], customer_id: str) -> dict[str, Any]:
    sku = next(p["sku"] for p in http.get("/api/v1/products?limit=50", headers=headers).json()["items"]
               if not p["sold_by_weight"])
    response = http.post("/api/v1/orders", json={"lane_id": "1", "customer_id": customer_id,
                                                 "lines": [{"sku": sku, "quantity": 2}],
                                                 "tenders": [{"method": "cash", "amount_cents": 100_000}]},
                         headers={**headers, "Idempotency-Key": key()})
    assert response.status_code == 201, response.text
    return response.json()


def hits(roots: list[Path], needles: dict[str, str]) -> list[tuple[str, str]]:
    found = []
    for root in roots:
        for path in [root] if root.is_file() else root.rglob("*"):
            if not path.is_file():
                continue
            data = path.read_bytes()
            found += [(str(path), label) for label, needle in needles.items() if needle.encode() in data]
    return found


def test_no_customer_detail_is_at_rest_in_clear_anywhere_and_the_lane_still_finds_them(
        store: EdgeServer, hub: NatsServer, hq: FakeHq, demo_dir: Path) -> None:
    p = unique_person()
    with httpx.Client(base_url=store.url, timeout=30) as http:
        cashier = login(http, "cashier")
        created = sign_up(http, cashier, p)
        assert created.status_code == 201, created.text
        view = created.json()
        cid = view["customer_id"]
        order = sell(http, cashier, cid)
        assert http.post(f"/api/v1/orders/{order['id']}/receipt/prints", headers=cashier).status_code == 201
        db = demo_dir / "store.db"
        wait_until(lambda: cid in hq.escrowed, what="the data key escrowed to HQ")
        wait_until(lambda: query(db, "SELECT count(*) FROM outbox WHERE sent_at IS NULL")[0][0] == 0,
                   what="every event relayed to JetStream")
        made = backup(db, "test")  # what the store's upgrade backups copy
        assert not list((demo_dir / "backups").glob("keys*"))  # the key cache is never in a backup

        # Not the card code: a random identifier printed on the receipt (as a barcode, so the slip
        # scans like the card), which resolves to nothing once the customer is erased (see the
        # erase test below).
        needles = {"email": p["email"], "phone": p["phone_e164"], "phone as keyed": p["phone"],
                   "name": p["name"]}
        roots = [demo_dir, hub.store_dir, store.log, hub.log_path]
        assert hits(roots, needles) == []
        assert made.exists() and (demo_dir / "keys.sqlite").exists()  # the scan did read both

        for q in (p["email"], p["phone"], view["card_code"]):
            items = http.get("/api/v1/customers", params={"q": q}, headers=cashier).json()["items"]
            assert [i["customer_id"] for i in items] == [cid]
        assert http.get(f"/api/v1/customers/{cid}", headers=cashier).json()["email"] == p["email"]


async def _publish(url: str, command: Command) -> None:
    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        try:
            await js.add_stream(command_stream_config(command.tenant_id))
        except Exception:  # the store's inbox created it already
            pass
        await js.publish(subject_for_command(command.tenant_id, command.store_id, command.type),
                         encode_command(command))
    finally:
        await nc.close()


def test_an_erase_command_through_the_inbox_removes_the_customer_and_keeps_the_order_totals(
        store: EdgeServer, hub: NatsServer, hq: FakeHq, demo_dir: Path) -> None:
    p = unique_person()
    db, keys = demo_dir / "store.db", demo_dir / "keys.sqlite"
    with httpx.Client(base_url=store.url, timeout=30) as http:
        cashier = login(http, "cashier")
        made = sign_up(http, cashier, p).json()
        cid, card = made["customer_id"], made["card_code"]
        order = sell(http, cashier, cid)
        wait_until(lambda: cid in hq.escrowed, what="the data key escrowed to HQ")
        assert query(keys, "SELECT count(*) FROM data_keys WHERE customer_id = ?", cid)[0][0] == 1
        assert [i["customer_id"] for i in http.get("/api/v1/customers", params={"q": card},
                                                    headers=cashier).json()["items"]] == [cid]

        request_id, command_id = str(uuid.uuid4()), str(uuid.uuid4())
        asyncio.run(_publish(hub.url, Command(
            command_id=command_id, tenant_id="demo", store_id="demo-001", type="customer.erase", version=1,
            issued_at="2026-11-30T10:00:00Z", payload={"request_id": request_id, "customer_id": cid})))
        wait_until(lambda: query(db, "SELECT outcome FROM inbox WHERE command_id = ?", command_id),
                   timeout=30, what="the erase command applied")
        assert query(db, "SELECT outcome FROM inbox WHERE command_id = ?", command_id) == [("applied",)]

        assert http.get(f"/api/v1/customers/{cid}", headers=cashier).status_code == 404
        assert http.get("/api/v1/customers", params={"q": p["email"]}, headers=cashier).json()["items"] == []
        # The card code printed on their receipts now resolves to nobody.
        assert http.get("/api/v1/customers", params={"q": card}, headers=cashier).json()["items"] == []
        assert query(db, "SELECT count(*) FROM customers WHERE customer_id = ?", cid) == [(0,)]
        assert query(db, "SELECT count(*) FROM customer_index WHERE customer_id = ?", cid) == [(0,)]
        assert query(keys, "SELECT count(*) FROM data_keys WHERE customer_id = ?", cid) == [(0,)]
        assert query(db, "SELECT count(*) FROM orders WHERE customer_id = ?", cid) == [(0,)]
        after = http.get(f"/api/v1/orders/{order['id']}", headers=cashier).json()
        assert after["customer_id"] is None
        assert (after["total_cents"], after["paid_cents"], after["status"]) == (
            order["total_cents"], order["paid_cents"], order["status"])
        erased = [json.loads(e)["payload"] for (e,) in query(
            db, "SELECT envelope FROM outbox WHERE type = 'customer.erased'")]
        assert erased == [{"request_id": request_id, "customer_id": cid, "at": erased[0]["at"]}]
        audit = query(db, "SELECT entity_id, after FROM audit_log WHERE action = 'customer.erased'")
        assert [a[0] for a in audit] == [cid] and p["email"] not in audit[0][1]


def test_hq_saying_erased_makes_the_store_erase_before_it_serves_the_customer(
        store: EdgeServer, hq: FakeHq, demo_dir: Path) -> None:
    p = unique_person()
    with httpx.Client(base_url=store.url, timeout=30) as http:
        cashier = login(http, "cashier")
        cid = sign_up(http, cashier, p).json()["customer_id"]
        wait_until(lambda: cid in hq.escrowed, what="the data key escrowed to HQ")
        hq.erased.add(cid)  # erased at HQ; the command has not reached this store yet
        assert http.get("/api/v1/customers", params={"q": p["email"]}, headers=cashier).json()["items"] == []
        assert http.get(f"/api/v1/customers/{cid}", headers=cashier).status_code == 404
        assert query(demo_dir / "store.db", "SELECT count(*) FROM customers WHERE customer_id = ?", cid) == [(0,)]
        assert query(demo_dir / "keys.sqlite", "SELECT count(*) FROM data_keys WHERE customer_id = ?", cid) == [(0,)]


def test_a_store_that_never_reached_hq_refuses_sign_up_with_503(demo_dir: Path, hub: NatsServer) -> None:
    server = start_store(demo_dir, hub)  # no HQ responder: no tenant key
    try:
        with httpx.Client(base_url=server.url, timeout=30) as http:
            cashier = login(http, "cashier")
            response = sign_up(http, cashier, unique_person())
            assert response.status_code == 503, response.text
            assert response.headers["content-type"].startswith("application/problem+json")
            assert "HQ" in response.json()["detail"]
            assert query(demo_dir / "store.db", "SELECT count(*) FROM customers") == [(0,)]
    finally:
        server.stop()


def test_a_customer_signed_up_while_hq_is_down_is_sold_to_and_escrowed_when_hq_is_back(
        demo_dir: Path, hub: NatsServer) -> None:
    tenant_key = pii.new_key()
    first = FakeHq(hub.url, tenant_key).start()
    server = start_store(demo_dir, hub)
    try:
        with httpx.Client(base_url=server.url, timeout=30) as http:
            cashier = login(http, "cashier")
            wait_until(lambda: "keys.tenant" in first.requests, what="the store's tenant key from HQ")
            first.stop()  # HQ goes away; the store keeps its link to the broker
            p = unique_person()
            created = sign_up(http, cashier, p)
            assert created.status_code == 201, created.text
            view = created.json()
            assert view["offline"] is True and view["source"] == "cache"
            cid = view["customer_id"]
            order = sell(http, cashier, cid)
            assert order["customer_id"] == cid
            assert http.get("/api/v1/customers", params={"q": p["phone"]}, headers=cashier).json()["items"][0][
                "customer_id"] == cid

            back = FakeHq(hub.url, tenant_key).start()
            try:
                wait_until(lambda: cid in back.escrowed, timeout=20, what="the escrow once HQ is back")
                escrow = back.escrowed[cid]
                # HQ got the key that opens the profile the store's event carried, and the indexes.
                upserted = [json.loads(e)["payload"] for (e,) in query(
                    demo_dir / "store.db", "SELECT envelope FROM outbox WHERE type = 'customer.upserted'")]
                sealed = next(u["profile"] for u in upserted if u["customer_id"] == cid)
                profile = pii.open_profile(pii.decode_key(escrow.data_key), "demo", cid, sealed)
                assert (profile.email, profile.phone) == (p["email"], p["phone_e164"])
                keys = pii.TenantKeys(tenant_key)
                assert {(i.kind, i.digest) for i in escrow.index} >= {
                    ("email", pii.blind_index(keys, "email", p["email"])),
                    ("phone", pii.blind_index(keys, "phone", p["phone_e164"]))}
                wait_until(lambda: query(demo_dir / "store.db", "SELECT escrowed FROM customers WHERE customer_id = ?",
                                         cid) == [(1,)], what="the row marked escrowed")
            finally:
                back.stop()
    finally:
        server.stop()


def test_a_customer_of_another_store_is_found_through_hq_cached_and_still_found_offline(
        demo_dir: Path, hub: NatsServer) -> None:
    hq = FakeHq(hub.url).start()
    server = start_store(demo_dir, hub)
    try:
        p = unique_person()
        cid = "0190cccc-dddd-7eee-8fff-000000000001"
        hq.add_customer_of_another_store("demo", cid, pii.CustomerProfile(
            name=p["name"], email=p["email"], phone=p["phone_e164"], card_code=pii.new_card_code()),
            balance_points=420)
        with httpx.Client(base_url=server.url, timeout=30) as http:
            cashier = login(http, "cashier")
            found = http.get("/api/v1/customers", params={"q": p["email"].upper()}, headers=cashier).json()["items"]
            assert [(i["customer_id"], i["name"], i["balance_points"]) for i in found] == [(cid, p["name"], 420)]
            duplicate = sign_up(http, cashier, p)  # the same person signing up again here
            assert duplicate.status_code == 409 and duplicate.json()["errors"][0]["customer_id"] == cid
            order = sell(http, cashier, cid)
            assert order["customer_id"] == cid

            hq.stop()  # the WAN (or HQ) goes down: the lane still finds and serves them from the cache
            offline = http.get("/api/v1/customers", params={"q": p["phone"]}, headers=cashier).json()["items"]
            assert [i["customer_id"] for i in offline] == [cid]
            view = http.get(f"/api/v1/customers/{cid}", headers=cashier).json()
            assert view["offline"] is True and view["source"] == "cache"
            assert view["home_store_id"] == "store-elsewhere" and view["loyalty"]["balance_points"] == 420
            assert [x["order_id"] for x in view["recent_purchases"]] == [order["id"]]
    finally:
        server.stop()
        hq.stop()
