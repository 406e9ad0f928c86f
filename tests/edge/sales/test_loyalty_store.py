"""Loyalty at the store through its API: a sale earns the right points, points pay as a tender,
voids, returns and refunds give back what they should, an overdraft is refused in the cashier's
words, adjustments are a supervisor's and audited, and while HQ is out of reach redemption is capped."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest

from edge.service import loyalty
from tests.edge.sales.conftest import post
from tests.edge.test_policy import hq_policy

CUSTOMER = ""  # each test's customer, signed up through the API by the `shop` fixture
PROGRAM = {"enabled": True, "points_per_unit": 10, "point_value_cents": 1, "min_redeem_points": 100,
           "offline_cap_points": 500, "excluded_skus": []}


def add_customer(client, headers) -> str:
    made = post(client, "/api/v1/customers", {"name": "Ada Points", "email": f"{uuid.uuid4().hex}@example.org"},
                headers)
    assert made.status_code == 201, made.text
    return made.json()["customer_id"]


@pytest.fixture
def shop(client, products, manager):
    global CUSTOMER
    excluded = products[5]["sku"]
    assert hq_policy(client, 1, loyalty={**PROGRAM, "excluded_skus": [excluded]}) == "applied"
    CUSTOMER = add_customer(client, manager)
    return {"excluded": excluded}


def net_of(order: dict, skip: str | None = None) -> int:
    return sum(ln["total_cents"] - ln["tax_cents"] for ln in order["lines"] if ln["sku"] != skip)


def balance(client, headers) -> int:
    return client.get(f"/api/v1/customers/{CUSTOMER}/loyalty/ledger", headers=headers).json()["balance_points"]


def kinds(client, headers) -> list[tuple[str, int]]:
    """The ledger oldest first (entries of one transaction share a time: their order is not meaningful)."""
    items = client.get(f"/api/v1/customers/{CUSTOMER}/loyalty/ledger", headers=headers).json()["items"]
    return [(i["kind"], i["points"]) for i in reversed(items)]


def sale(client, headers, lines, tenders, *, anonymous: bool = False):
    body = {"lane_id": "1", "lines": lines, "tenders": tenders}
    if not anonymous:
        body["customer_id"] = CUSTOMER
    return post(client, "/api/v1/orders", body, headers)


def cash(cents: int = 10_000_000) -> dict:
    return {"method": "cash", "amount_cents": cents}


def give(client, manager, points: int) -> None:
    made = post(client, f"/api/v1/customers/{CUSTOMER}/loyalty/adjustments",
                {"points": points, "reason": "welcome bonus"}, manager)
    assert made.status_code == 201, made.text


def test_a_sale_earns_points_on_its_eligible_net_and_the_entry_goes_to_hq(client, cashier, products, shop):
    order = sale(client, cashier, [{"sku": products[0]["sku"], "quantity": 2}, {"sku": shop["excluded"]}], [cash()])
    assert order.status_code == 201, order.text
    body = order.json()
    expected = net_of(body, skip=shop["excluded"]) * 10 // 100
    assert expected > 0 and body["customer_id"] == CUSTOMER
    assert balance(client, cashier) == expected
    assert kinds(client, cashier) == [("earn", expected)]
    view = client.get(f"/api/v1/customers/{CUSTOMER}", headers=cashier).json()["loyalty"]
    assert (view["balance_points"], view["tier"], view["offline"]) == (expected, "Member", False)
    outbox = client.app.state.services.db.read_sync(lambda c: c.exec_driver_sql(
        "SELECT envelope FROM outbox WHERE type = 'loyalty.entry'").all())
    [entry] = [json.loads(r[0])["payload"] for r in outbox]
    assert entry == {"entry_id": f"{body['id']}:earn", "customer_id": CUSTOMER, "store_id": entry["store_id"],
                     "kind": "earn", "points": expected, "order_id": body["id"], "reason": f"sale {body['number']}",
                     "at": entry["at"], "offline": False}
    anonymous = sale(client, cashier, [{"sku": products[0]["sku"]}], [cash()], anonymous=True)
    assert anonymous.status_code == 201 and balance(client, cashier) == expected


def test_points_pay_part_of_a_sale_and_the_points_paid_part_earns_nothing(client, cashier, manager, products, shop):
    give(client, manager, 1_000)
    order = sale(client, cashier, [{"sku": products[1]["sku"]}], [{"method": "points", "points": 300}, cash()])
    assert order.status_code == 201, order.text
    body = order.json()
    assert body["status"] == "COMPLETED"
    [points] = [t for t in body["tenders"] if t["method"] == "points"]
    assert points["approved_cents"] == 300 and points["status"] == "approved"
    earned = net_of(body) * (body["total_cents"] - 300) // body["total_cents"] * 10 // 100
    assert sorted(kinds(client, cashier)) == sorted([("adjust", 1_000), ("redeem", -300), ("earn", earned)])
    assert balance(client, cashier) == 700 + earned
    receipt = client.get(f"/api/v1/orders/{body['id']}/receipt", headers=cashier).text
    assert any(line.startswith("POINTS") and "3.00" in line for line in receipt.splitlines())  # a tender line

    # A void gives the points back and takes back what the sale earned.
    voided = post(client, f"/api/v1/orders/{body['id']}/void", {"reason": "customer changed mind"}, manager)
    assert voided.status_code == 200, voided.text
    assert balance(client, cashier) == 1_000
    assert sorted(kinds(client, cashier)[-2:]) == [("restore", 300), ("void", -earned)]


def test_a_return_claws_back_pro_rata_and_refunding_a_points_paid_sale_restores_them(
        client, cashier, manager, products, shop):
    give(client, manager, 500)
    order = sale(client, cashier, [{"sku": products[2]["sku"], "quantity": 2}],
                 [{"method": "points", "points": 200}, cash()]).json()
    [earned] = [points for kind, points in kinds(client, cashier) if kind == "earn"]
    assert earned > 0
    line = order["lines"][0]
    first = post(client, f"/api/v1/orders/{order['id']}/returns",
                 {"lines": [{"line_id": line["id"], "quantity": 1}], "reason": "too big"}, manager)
    assert first.status_code == 201, first.text
    # Money goes back first: half the sale's value is more than its cash, so no points come back yet.
    half = (2 * earned * 1 + 2) // 4
    assert kinds(client, cashier)[-1] == ("clawback", -half)
    second = post(client, f"/api/v1/orders/{order['id']}/returns",
                  {"lines": [{"line_id": line["id"], "quantity": 1}], "reason": "too big"}, manager)
    assert second.status_code == 201, second.text
    tail = kinds(client, cashier)
    assert ("clawback", -(earned - half)) in tail and ("restore", 200) in tail
    assert balance(client, cashier) == 500  # every point the sale earned or spent is back where it was


def test_an_overdraft_is_refused_in_the_cashiers_words_and_changes_nothing(client, cashier, manager, products, shop):
    give(client, manager, 150)
    refused = sale(client, cashier, [{"sku": products[1]["sku"]}], [{"method": "points", "points": 400}, cash()])
    assert refused.status_code == 422
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["detail"] == "the customer has only 150 points; 400 were asked for"
    small = sale(client, cashier, [{"sku": products[1]["sku"]}], [{"method": "points", "points": 50}, cash()])
    assert small.status_code == 422 and "at least 100 points" in small.json()["detail"]
    nobody = sale(client, cashier, [{"sku": products[1]["sku"]}], [{"method": "points", "points": 100}, cash()],
                  anonymous=True)
    assert nobody.status_code == 422 and "needs a customer" in nobody.json()["detail"]
    bad = sale(client, cashier, [{"sku": products[1]["sku"]}], [{"method": "points", "amount_cents": 100}])
    assert bad.status_code in (400, 422)
    assert kinds(client, cashier) == [("adjust", 150)]
    assert client.get("/api/v1/orders?limit=5", headers=cashier).json()["items"] == []


def test_adjustments_are_a_supervisors_and_audited_with_the_customer_id(client, cashier, manager, shop):
    forbidden = post(client, f"/api/v1/customers/{CUSTOMER}/loyalty/adjustments",
                     {"points": 100, "reason": "friend"}, cashier)
    assert forbidden.status_code == 403
    give(client, manager, 120)
    below = post(client, f"/api/v1/customers/{CUSTOMER}/loyalty/adjustments",
                 {"points": -500, "reason": "mistake"}, manager)
    assert below.status_code == 422
    no_reason = post(client, f"/api/v1/customers/{CUSTOMER}/loyalty/adjustments", {"points": 5, "reason": " "},
                     manager)
    assert no_reason.status_code == 422
    assert balance(client, manager) == 120
    stranger = post(client, "/api/v1/customers/cust-nobody-0000/loyalty/adjustments",
                    {"points": 5, "reason": "typo"}, manager)
    assert stranger.status_code == 404
    trail = client.get("/api/v1/audit?action=loyalty.adjusted", headers=manager).json()["items"]
    assert [(a["entity"], a["entity_id"], a["after"]["points"]) for a in trail] == [("customer", CUSTOMER, 120)]


def test_while_hq_is_out_of_reach_redemption_is_capped_and_marked_offline(client, cashier, manager, products, shop):
    give(client, manager, 2_000)
    client.app.state.services.extras["loyalty_reach"] = loyalty.Unreachable()
    over = sale(client, cashier, [{"sku": products[1]["sku"]}], [{"method": "points", "points": 600}, cash()])
    assert over.status_code == 422 and "cannot reach head office" in over.json()["detail"]
    first = sale(client, cashier, [{"sku": products[1]["sku"]}], [{"method": "points", "points": 400}, cash()])
    assert first.status_code == 201, first.text
    items = client.get(f"/api/v1/customers/{CUSTOMER}/loyalty/ledger", headers=cashier).json()["items"]
    assert [i["offline"] for i in items if i["kind"] == "redeem"] == [True]
    again = sale(client, cashier, [{"sku": products[1]["sku"]}], [{"method": "points", "points": 200}, cash()])
    assert again.status_code == 422 and "at most 100 points" in again.json()["detail"]
    client.app.state.services.extras["loyalty_reach"] = loyalty.Standalone()  # HQ back: the full balance
    lines = [{"sku": products[1]["sku"], "quantity": 3}]
    back = sale(client, cashier, lines, [{"method": "points", "points": 1_000}, cash()])
    assert back.status_code == 201, back.text
    assert [i["offline"] for i in client.get(f"/api/v1/customers/{CUSTOMER}/loyalty/ledger", headers=cashier)
            .json()["items"] if i["kind"] == "redeem"] == [False, True]


def test_expiry_lapses_the_oldest_points_first_once(client, cashier, manager, shop):
    from edge.domain.ids import iso, utc_now
    from edge.service.loyalty_ports import LedgerRow
    from edge.service.ports import Actor

    assert hq_policy(client, 2, loyalty={**PROGRAM, "expiry_days": 365}) == "applied"
    s = client.app.state.services
    actor = Actor.system(s.settings.store.tenant_id, s.settings.store.store_id, "test")

    def ago(days: int) -> str:
        return iso(utc_now() - timedelta(days=days))

    old = [LedgerRow(entry_id=f"old-{n}:earn", customer_id=CUSTOMER, store_id="demo-001", order_id=f"old-{n}",
                     kind=kind, points=points, at=ago(days))
           for n, (kind, points, days) in enumerate([("earn", 300, 400), ("earn", 200, 10), ("redeem", -100, 5)])]
    s.uow.run_sync(actor, lambda u: u.loyalty.add(old))
    assert balance(client, cashier) == 400
    assert s.uow.run_sync(actor, loyalty.expire_due) == 200  # the old lot less what the redemption took
    assert balance(client, cashier) == 200
    assert s.uow.run_sync(actor, loyalty.expire_due) == 0  # a second pass finds nothing left to lapse
    assert kinds(client, cashier)[-1] == ("expire", -200)


def test_an_erasure_keeps_the_points_history_under_a_pseudonym(client, cashier, manager, products, shop):
    from edge.adapters.inbox import Inbox, InboxConfig
    from edge.adapters.replication import hq_handlers
    from edge.contracts.events import Command
    from edge.domain.ids import now_iso, uuid7

    give(client, manager, 300)
    assert sale(client, cashier, [{"sku": products[0]["sku"]}], [cash()]).status_code == 201
    s = client.app.state.services

    def ledger_rows() -> list[tuple[str, int]]:
        return s.db.read_sync(lambda c: c.exec_driver_sql("SELECT customer_id, points FROM loyalty_ledger").all())

    before = ledger_rows()
    assert {c for c, _ in before} == {CUSTOMER}
    cfg = s.settings.store
    inbox = Inbox(s.db, InboxConfig(nats_url="nats://unused", tenant_id=cfg.tenant_id, store_id=cfg.store_id),
                  hq_handlers(s.settings))
    command = Command(command_id=uuid7(), tenant_id=cfg.tenant_id, store_id=cfg.store_id, type="customer.erase",
                      version=1, issued_at=now_iso(), payload={"request_id": "gdpr-1", "customer_id": CUSTOMER})
    assert s.db.write_sync(lambda conn: inbox.apply(conn, command)) == "applied"
    after = ledger_rows()
    assert CUSTOMER not in {c for c, _ in after} and len({c for c, _ in after}) == 1
    assert sorted(p for _, p in after) == sorted(p for _, p in before)  # the store's figures still add up
    assert client.get(f"/api/v1/customers/{CUSTOMER}/loyalty/ledger", headers=manager).json()["items"] == []


def test_a_sale_a_lane_made_offline_with_points_is_recorded_not_refused_and_earns_when_accepted(
        client, manager, products, shop):
    from datetime import UTC, datetime

    give(client, manager, 150)
    pin = client.post("/api/v1/auth/pin", json={"lane_id": "1", "pin": "1234"})
    assert pin.status_code == 200, pin.text
    lane = {"Authorization": f"Bearer {pin.json()['access_token']}"}
    product = products[0]
    at = (datetime.now(UTC) - timedelta(hours=1)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    body = {"lane_id": "1", "offline_created_at": at, "customer_id": CUSTOMER,
            "lines": [{"sku": product["sku"], "quantity": 2, "unit_price_cents": product["price_cents"]}],
            "tenders": [{"method": "points", "points": 400}, cash()]}
    replayed = post(client, "/api/v1/orders", body, lane)
    assert replayed.status_code == 201, replayed.text  # more than the balance: already handed over, so kept
    entries = client.get(f"/api/v1/customers/{CUSTOMER}/loyalty/ledger", headers=manager).json()["items"]
    assert [(e["kind"], e["offline"]) for e in entries if e["kind"] != "adjust"] in (
        [("redeem", True), ("earn", False)], [("earn", False), ("redeem", True)])
    assert balance(client, manager) < 0  # the overdraft HQ will open a case for


def test_a_redemption_still_on_its_way_to_hq_counts_against_hqs_newer_balance(
        client, cashier, manager, products, shop):
    from edge.domain.ids import now_iso
    from edge.service.ports import Actor

    give(client, manager, 1_000)
    s = client.app.state.services
    # The relay published the adjustment and HQ ingested it...
    s.db.write_sync(lambda c: c.exec_driver_sql(
        "UPDATE outbox SET sent_at = '2026-01-01T00:00:00Z' WHERE type = 'loyalty.entry'"))
    paid = sale(client, cashier, [{"sku": products[1]["sku"], "quantity": 3}],
                [{"method": "points", "points": 800}, cash()])
    assert paid.status_code == 201, paid.text
    # ...but the redemption's event has not left the store when HQ answers with its balance.
    actor = Actor.system(s.settings.store.tenant_id, s.settings.store.store_id, "test")
    s.uow.run_sync(actor, lambda u: loyalty.record_hq_balance(u, CUSTOMER, 1_000, now_iso()))
    earned = sum(points for kind, points in kinds(client, cashier) if kind == "earn")
    assert balance(client, cashier) == 1_000 - 800 + earned
    again = sale(client, cashier, [{"sku": products[1]["sku"], "quantity": 3}],
                 [{"method": "points", "points": 800}, cash()])
    assert again.status_code == 422  # the same points are not spent twice at this store
