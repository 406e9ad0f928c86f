"""Customers end to end, every part real: a nats-server, the cloud hub and two store servers as
processes. A customer signs up at store A and buys; HQ receives the sealed profile, the escrowed
key and the sale; store B finds them through HQ. No file anywhere (both stores' SQLite files and
key caches, their backups, the cloud DB, the JetStream store directory, every log) holds their
email, phone, name or card code in clear. HQ erases them: store A drops them, store B (stopped
during the erasure) drops them when it comes back before it serves them, the order totals stay,
and HQ's request log shows each store's confirmation."""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from edge.adapters.migrations import backup
from tests.cloud.conftest import PG_URL, pg_schema_or_skip
from tests.cloud.partner_support import PartnerHub, bearer, client_token, register_app
from tests.support import EdgeServer, free_port, login, wait_until

LONG = 90.0  # the first events cross a freshly started hub: stream creation and sourcing take a while
FAST = {"NOVAPOS_CUSTOMERS_ESCROW_INTERVAL_S": "0.3", "NOVAPOS_CUSTOMERS_HQ_TIMEOUT_S": "3"}


@pytest.fixture(params=["sqlite", "postgres"])
def hub(request: pytest.FixtureRequest, tmp_path: Path, nats_server) -> Iterator[PartnerHub]:
    directory = tmp_path / "hub"
    directory.mkdir()
    schema = None
    if request.param == "postgres":
        schema = asyncio.run(pg_schema_or_skip())
        server = PartnerHub(directory, {"NOVAPOS_CLOUD_DB_SCHEMA": schema}, db_url=PG_URL)
    else:
        server = PartnerHub(directory)
    server.schema = schema  # type: ignore[attr-defined]
    server.start(["--nats-url", nats_server.url])
    try:
        yield server
    finally:
        server.stop()
        if schema:
            asyncio.run(_drop(schema))


async def _drop(schema: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_URL)
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await conn.close()


def dump_cloud_db(hub: PartnerHub, target: Path) -> str:
    """Every row of every table of the cloud DB as text (Postgres; a SQLite hub's file is scanned as
    it is): what the plaintext scan reads. Scoped to tenant demo, so row-level security hides nothing."""
    import asyncpg

    async def dump() -> str:
        conn = await asyncpg.connect(PG_URL)
        try:
            await conn.execute("SELECT set_config('app.tenant_id', 'demo', false)")
            tables = [r[0] for r in await conn.fetch(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = $1", hub.schema)]
            lines = [f"{t}\t" + "\t".join(str(v) for v in row.values())
                     for t in tables for row in await conn.fetch(f'SELECT * FROM "{hub.schema}"."{t}"')]
        finally:
            await conn.close()
        return "\n".join(lines)

    text = asyncio.run(dump()) if hub.schema else ""
    target.write_text(text)
    return text


def hq_key_rows(hub: PartnerHub, customer_id: str) -> int:
    if hub.schema:
        text = dump_cloud_db(hub, hub.log.parent / "dump.txt")
        return sum(1 for line in text.splitlines() if line.startswith("hq_customer_keys\t") and customer_id in line)
    return query(Path(hub.db_url.removeprefix("sqlite:///")),
                 "SELECT count(*) FROM hq_customer_keys WHERE customer_id = ?", customer_id)[0][0]


def start_store(data_dir: Path, nats_url: str, store_id: str | None = None, port: int | None = None) -> EdgeServer:
    env = {"NOVAPOS_NATS_URL": nats_url, **FAST, **({"NOVAPOS_DEMO_STORE": store_id} if store_id else {})}
    server = EdgeServer(data_dir, port or free_port(), extra_env=env)
    server.start(timeout=120)
    return server


def unique_person() -> dict[str, str]:
    tag = uuid.uuid4().hex[:10]
    digits = f"{int(tag[:6], 16) % 10_000:04d}"
    return {"name": f"Yara Q{tag} Quill", "email": f"yq.{tag}@example.net", "phone": f"+1 212 555 {digits}",
            "phone_e164": f"+1212555{digits}"}


def query(db: Path, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


def hits(roots: list[Path], needles: dict[str, str]) -> list[tuple[str, str]]:
    found, scanned = [], 0
    for root in roots:
        for path in [root] if root.is_file() else root.rglob("*"):
            if path.is_file():
                scanned += 1
                data = path.read_bytes()
                found += [(str(path), label) for label, needle in needles.items() if needle.encode() in data]
    assert scanned > 10, "the scan found the files it was meant to read"
    return found


def sign_up(http: httpx.Client, headers: dict[str, str], p: dict[str, str]) -> httpx.Response | None:
    r = http.post("/api/v1/customers", json={"name": p["name"], "email": p["email"], "phone": p["phone"],
                                             "consents": {"marketing": True, "e_receipts": True}},
                  headers={**headers, "Idempotency-Key": uuid.uuid4().hex})
    return None if r.status_code == 503 else r  # 503: the store has not had its tenant key from HQ yet


def sell(http: httpx.Client, headers: dict[str, str], customer_id: str) -> dict[str, Any]:
    sku = next(p["sku"] for p in http.get("/api/v1/products?limit=50", headers=headers).json()["items"]
               if not p["sold_by_weight"])
    r = http.post("/api/v1/orders", json={"lane_id": "1", "customer_id": customer_id,
                                          "lines": [{"sku": sku, "quantity": 2}],
                                          "tenders": [{"method": "cash", "amount_cents": 100_000}]},
                  headers={**headers, "Idempotency-Key": uuid.uuid4().hex})
    assert r.status_code == 201, r.text
    return r.json()


def lookup(http: httpx.Client, headers: dict[str, str], q: str) -> list[str]:
    r = http.get("/api/v1/customers", params={"q": q}, headers=headers)
    assert r.status_code == 200, r.text
    return [i["customer_id"] for i in r.json()["items"]]


def test_a_customer_crosses_stores_through_hq_with_no_plaintext_at_rest_and_an_erasure_reaches_every_store(
        tmp_path: Path, hub: PartnerHub, nats_server, demo_dir: Path) -> None:
    dir_b = tmp_path / "store-b"
    dir_b.mkdir()
    store_a = start_store(demo_dir, nats_server.url)
    store_b = start_store(dir_b, nats_server.url, "demo-002")
    p = unique_person()
    try:
        with httpx.Client(base_url=store_a.url, timeout=30) as a, httpx.Client(base_url=hub.url, timeout=30) as hq:
            admin, cashier_a = login(hq, "hq"), login(a, "cashier")
            created = wait_until(lambda: sign_up(a, cashier_a, p), timeout=LONG, what="store A's tenant key from HQ")
            assert created.status_code == 201, created.text
            view = created.json()
            cid, card = view["customer_id"], view["card_code"]
            order = sell(a, cashier_a, cid)

            # HQ has the sealed profile, the key and the indexes, and the sale linked to them.
            found = wait_until(lambda: hq.get("/api/v1/hq/customers", params={"q": p["email"]},
                                              headers=admin).json()["items"], timeout=LONG, what="HQ to know them")
            assert [c["customer_id"] for c in found] == [cid]
            wait_until(lambda: [x["order_id"] for x in hq.get(f"/api/v1/hq/customers/{cid}", headers=admin)
                                .json()["recent_purchases"]] == [order["id"]], timeout=LONG,
                       what="HQ to link the sale")
            gross = hq.get("/api/v1/hq/sales/summary", headers=admin).json()["items"]

            with httpx.Client(base_url=store_b.url, timeout=30) as b:
                cashier_b = login(b, "cashier")
                assert wait_until(lambda: lookup(b, cashier_b, p["phone"]), timeout=LONG,
                                  what="store B to find them through HQ") == [cid]
                seen_at_b = b.get(f"/api/v1/customers/{cid}", headers=cashier_b).json()
                assert (seen_at_b["email"], seen_at_b["card_code"]) == (p["email"], card)
                assert [x["order_id"] for x in seen_at_b["recent_purchases"]] == [order["id"]]

            exported = hq.post(f"/api/v1/hq/customers/{cid}/export", headers=admin)
            assert exported.status_code == 200, exported.text
            doc = exported.json()
            assert (doc["profile"]["email"], doc["profile"]["phone"], doc["profile"]["card_code"]) == (
                p["email"], p["phone_e164"], card)
            assert [o["order_id"] for o in doc["orders"]] == [order["id"]]
            assert doc["stores"] == ["demo-001", "demo-002"] and doc["consents"]["marketing"] is True

            for directory in (demo_dir, dir_b):
                backup(directory / "store.db", "scan")  # what a store's upgrade backups copy
            assert hq_key_rows(hub, cid) == 1  # the dump (Postgres) reads the rows the scan must cover
            # The card code is left out: it is printed on receipts (a random identifier, no contact
            # data); what matters is that it finds nobody once the customer is erased (checked below).
            needles = {"email": p["email"], "phone": p["phone_e164"], "phone as keyed": p["phone"],
                       "name": p["name"]}
            roots = [demo_dir, dir_b, hub.log.parent, nats_server.store_dir, nats_server.log_path, store_a.log,
                     store_b.log]
            assert hits(roots, needles) == []
            assert lookup(a, cashier_a, card) == [cid]  # and the lane still finds them

            # A partner app with customers:read sees them masked, with their points; without it, nothing.
            shop = register_app(hub.url, admin, ["customers:read"])
            partner = bearer(client_token(hub.url, shop, "customers:read").json()["access_token"])
            seen = hq.get(f"/api/v1/partner/customers/{cid}", headers=partner)
            assert seen.status_code == 200, seen.text
            assert seen.json()["email_masked"] == f"{p['email'][0]}***@e***" and "loyalty" in seen.json()
            assert p["email"] not in seen.text and p["phone_e164"] not in seen.text
            other = register_app(hub.url, admin, ["orders:read"])
            refused = hq.get(f"/api/v1/partner/customers/{cid}",
                             headers=bearer(client_token(hub.url, other, "orders:read").json()["access_token"]))
            assert refused.status_code == 403

            # Store B goes offline; HQ erases the customer.
            store_b.stop()
            erased = hq.post(f"/api/v1/hq/customers/{cid}/erase", headers=admin)
            assert erased.status_code == 202, erased.text
            request_id = erased.json()["request_id"]
            assert set(erased.json()["stores"]) >= {"demo-001", "demo-002"}
            assert hq.get(f"/api/v1/hq/customers/{cid}", headers=admin).status_code == 404
            assert hq.get(f"/api/v1/partner/customers/{cid}", headers=partner).status_code == 404

            wait_until(lambda: a.get(f"/api/v1/customers/{cid}", headers=cashier_a).status_code == 404,
                       timeout=LONG, what="store A to erase them")
            assert lookup(a, cashier_a, p["email"]) == [] and lookup(a, cashier_a, card) == []
            after = a.get(f"/api/v1/orders/{order['id']}", headers=cashier_a).json()
            assert after["customer_id"] is None and after["total_cents"] == order["total_cents"]
            assert query(demo_dir / "keys.sqlite", "SELECT count(*) FROM data_keys WHERE customer_id = ?",
                         cid) == [(0,)]

            def confirmed() -> set[str]:
                [req] = [r for r in hq.get("/api/v1/hq/gdpr/requests", headers=admin).json()["items"]
                         if r["request_id"] == request_id]
                return {c["store_id"] for c in req["confirmations"]}

            wait_until(lambda: "demo-001" in confirmed(), timeout=LONG, what="store A's confirmation at HQ")
            assert "demo-002" not in confirmed()

            # Store B comes back: before it serves them, it has dropped them.
            store_b = start_store(dir_b, nats_server.url, "demo-002", port=store_b.port)
            with httpx.Client(base_url=store_b.url, timeout=30) as b:
                cashier_b = login(b, "cashier")
                assert lookup(b, cashier_b, p["email"]) == [] and lookup(b, cashier_b, card) == []
                assert b.get(f"/api/v1/customers/{cid}", headers=cashier_b).status_code == 404
            wait_until(lambda: confirmed() == {"demo-001", "demo-002"}, timeout=LONG,
                       what="store B's confirmation at HQ")
            assert query(dir_b / "keys.sqlite", "SELECT count(*) FROM data_keys WHERE customer_id = ?", cid) == [(0,)]
            [req] = [r for r in hq.get("/api/v1/hq/gdpr/requests", headers=admin).json()["items"]
                     if r["request_id"] == request_id]
            assert (req["kind"], req["customer_id"], req["requested_by"]) == ("erase", cid, "hq")
            assert hq.get("/api/v1/hq/sales/summary", headers=admin).json()["items"] == gross  # totals kept
            assert hq_key_rows(hub, cid) == 0
            assert hits(roots, needles) == []
    finally:
        store_a.stop()
        store_b.stop()
