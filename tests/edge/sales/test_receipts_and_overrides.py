"""Receipts (viewing changes nothing; every issued print after the first says COPY), supervisor
overrides by PIN at the lane, partial card approvals, card refunds and the payments settings."""

from __future__ import annotations

from collections.abc import Iterator

import msgspec
import pytest
from litestar.testing import TestClient

from tests.edge.sales.conftest import cash_order, post, stock
from tests.support import demo_settings, login

SUPERVISOR_PIN = "2468"


@pytest.fixture
def quiet_client(demo_dir) -> Iterator[TestClient]:
    """The demo store without its simulated lane devices: no printer issues receipts on its own."""
    from edge.bootstrap import create_app

    with TestClient(create_app(demo_settings(demo_dir, NOVAPOS_HARDWARE_MODE="off")),
                    raise_server_exceptions=False) as c:
        yield c


def sellable(client: TestClient, headers: dict[str, str]) -> list[dict]:
    items = client.get("/api/v1/products?limit=200", headers=headers).json()["items"]
    return [p for p in items if not p["sold_by_weight"]]


def runtime(client: TestClient):
    return client.app.state.services.extras["sales"]


# -- receipts ---------------------------------------------------------------------------------
def test_looking_at_a_receipt_changes_nothing_and_every_print_after_the_first_says_copy(quiet_client):
    client = quiet_client
    cashier, manager = login(client, "cashier"), login(client, "manager")
    order = cash_order(client, cashier, [{"sku": sellable(client, cashier)[19]["sku"]}]).json()
    receipt = f"/api/v1/orders/{order['id']}/receipt"
    for _ in range(2):  # the lane's screen shows it as often as it likes
        text = client.get(f"{receipt}?format=text", headers=cashier).text
        assert order["number"] in text and "COPY" not in text

    first = client.post(f"{receipt}/prints?format=text", headers=cashier)
    assert first.status_code == 201 and order["number"] in first.text and "COPY" not in first.text
    html = client.get(f"{receipt}?format=html", headers=cashier).text
    assert "COPY" in html and "<table>" in html
    raw = client.post(f"{receipt}/prints?format=escpos", headers=cashier)
    assert raw.status_code == 201 and raw.headers["content-type"] == "application/vnd.escpos"
    assert raw.content.startswith(b"\x1b@") and b"COPY" in raw.content and b"\x1d(k" in raw.content  # GS ( k: QR

    trail = client.get(f"/api/v1/audit?entity=order&entity_id={order['id']}&action=receipt.printed",
                       headers=manager).json()["items"]
    assert sorted((e["after"]["print_no"], e["after"]["copy"]) for e in trail) == [(1, False), (2, True)]
    assert client.post("/api/v1/orders/no-such-order/receipt/prints", headers=cashier).status_code == 404


# -- supervisor overrides by PIN ----------------------------------------------------------------
def big_discount_order(client, cashier, sku, **override):
    return post(client, "/api/v1/orders", {"lane_id": "1", "lines": [{"sku": sku, "quantity": 1}],
                                           "discount_cents": 50, "tenders": [{"method": "cash", "amount_cents": 10**6}],
                                           **override}, cashier)


def test_a_supervisor_pin_approves_a_large_discount_and_is_recorded(client, cashier, manager, products):
    cheap = min(products, key=lambda p: p["price_cents"])  # 50 cents off is a large share of it
    refused = big_discount_order(client, cashier, cheap["sku"])
    assert refused.status_code == 403 and refused.json()["type"].endswith("/discount-override-required")

    r = big_discount_order(client, cashier, cheap["sku"], override_pin=SUPERVISOR_PIN)
    assert r.status_code == 201, r.text
    order = r.json()
    trail = client.get(f"/api/v1/audit?entity=order&entity_id={order['id']}&action=order.created",
                       headers=manager).json()["items"]
    assert trail[0]["after"]["override_by"] == "manager" and trail[0]["actor"] == "cashier"


def test_a_wrong_or_non_supervisor_pin_is_refused_changes_nothing_and_locks_out_guessing(client, cashier, manager,
                                                                                          products):
    cheap = min(products, key=lambda p: p["price_cents"])
    before = stock(client, manager, cheap["sku"])["on_hand"]
    orders_before = client.get("/api/v1/orders?limit=200", headers=manager).json()["items"]
    cashiers_own = big_discount_order(client, cashier, cheap["sku"], override_pin="1234")  # a cashier's PIN
    assert cashiers_own.status_code == 403 and cashiers_own.json()["type"].endswith("/override-invalid")
    malformed = big_discount_order(client, cashier, cheap["sku"], override_pin="12ab")
    assert malformed.status_code == 422
    both = big_discount_order(client, cashier, cheap["sku"], override_pin=SUPERVISOR_PIN, override_token="x")
    assert both.status_code == 422 and both.json()["type"].endswith("/override-ambiguous")
    for _ in range(4):  # five wrong PINs in all: the cashier's override attempts lock
        assert big_discount_order(client, cashier, cheap["sku"], override_pin="0000").status_code == 403
    # The wrong PINs counted on the cashier's account: locked out, and this session signed out.
    assert big_discount_order(client, cashier, cheap["sku"], override_pin=SUPERVISOR_PIN).status_code == 401
    locked = client.post("/api/v1/auth/login", json={"username": "cashier", "password": "novapos-demo"})
    assert locked.status_code == 429 and int(locked.headers["retry-after"]) >= 1
    assert stock(client, manager, cheap["sku"])["on_hand"] == before
    assert client.get("/api/v1/orders?limit=200", headers=manager).json()["items"] == orders_before


def test_a_cashier_voids_with_the_supervisor_pin(client, cashier, manager, products):
    sku = products[30]["sku"]
    order = cash_order(client, cashier, [{"sku": sku}]).json()
    level = stock(client, manager, sku)["on_hand"]
    voided = post(client, f"/api/v1/orders/{order['id']}/void",
                  {"reason": "rang up twice", "override_pin": SUPERVISOR_PIN}, cashier)
    assert voided.status_code == 200, voided.text
    assert voided.json()["status"] == "VOIDED"
    assert stock(client, manager, sku)["on_hand"] == level + 1


# -- card: partial approvals and refunds -------------------------------------------------------
def test_a_partial_card_approval_leaves_the_balance_to_pay_and_then_completes(client, cashier, manager, products):
    sku = products[31]["sku"]
    total = cash_order(client, cashier, [{"sku": sku}]).json()["total_cents"]
    runtime(client).terminal.script = ["partial:100"]  # e.g. a gift card with 1.00 left on it
    order = post(client, "/api/v1/orders", {"lane_id": "1", "lines": [{"sku": sku}],
                                            "tenders": [{"method": "card", "amount_cents": total}]}, cashier).json()
    card = order["tenders"][0]
    assert order["status"] == "PENDING"
    assert card["status"] == "partially_approved" and card["approved_cents"] == 100
    assert card["guidance"] == ("Card approved for part of the amount: 1.00 USD taken, collect the remaining "
                                f"{(total - 100) // 100}.{(total - 100) % 100:02d} USD with another payment method")
    assert order["paid_cents"] == 100 and stock(client, manager, sku)["reserved"] == 1

    rest = post(client, f"/api/v1/orders/{order['id']}/tenders",
                {"tenders": [{"method": "cash", "amount_cents": total - 100}]}, cashier).json()
    assert rest["status"] == "COMPLETED" and rest["paid_cents"] == total
    assert stock(client, manager, sku)["reserved"] == 0


def test_a_card_return_is_refunded_to_the_card_through_the_terminal(client, cashier, manager, products):
    sku = products[32]["sku"]
    total = cash_order(client, cashier, [{"sku": sku, "quantity": 2}]).json()["total_cents"]
    order = post(client, "/api/v1/orders", {"lane_id": "1", "lines": [{"sku": sku, "quantity": 2}],
                                            "tenders": [{"method": "card", "amount_cents": total}]}, cashier).json()
    assert order["status"] == "COMPLETED"
    card = order["tenders"][0]
    line = order["lines"][0]
    ret = post(client, f"/api/v1/orders/{order['id']}/returns",
               {"lines": [{"line_id": line["id"], "quantity": 1}], "reason": "wrong size"}, manager)
    assert ret.status_code == 201, ret.text
    after = client.get(f"/api/v1/orders/{order['id']}", headers=cashier).json()
    [refund] = after["refunds"]
    assert refund["method"] == "card" and refund["status"] == "refunded"
    assert refund["amount_cents"] == ret.json()["refund_cents"] == line["total_cents"] // 2
    journal = runtime(client).terminal.journal[refund["id"]]  # the terminal saw a REFUND against the sale
    assert journal.status == "approved" and journal.approved_cents == refund["amount_cents"]
    assert refund["original_payment_id"] == card["id"]


# -- the payments settings --------------------------------------------------------------------
def test_the_simulated_terminal_answers_as_configured(demo_dir):
    from edge.bootstrap import create_app

    settings = demo_settings(demo_dir, NOVAPOS_PAYMENTS_SIMULATED_CARD_OUTCOME="declined",
                             NOVAPOS_HARDWARE_MODE="off")
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        cashier = login(client, "cashier")
        sku = sellable(client, cashier)[33]["sku"]
        total = cash_order(client, cashier, [{"sku": sku}]).json()["total_cents"]
        order = post(client, "/api/v1/orders", {"lane_id": "1", "lines": [{"sku": sku}],
                                                "tenders": [{"method": "card", "amount_cents": total}]},
                     cashier).json()
        assert order["status"] == "PENDING" and order["tenders"][0]["status"] == "declined"


@pytest.mark.parametrize(("name", "value", "expected"), [
    ("NOVAPOS_PAYMENTS_SIMULATED_CARD_OUTCOME", "maybe", "payments.simulated_card_outcome"),
    ("NOVAPOS_PAYMENTS_SWEEP_INTERVAL_S", "0", "payments.sweep_interval_s"),
    ("NOVAPOS_PAYMENTS_CRYPTO_CONFIRM_AFTER_S", "soon", "payments.crypto_confirm_after_s"),
])
def test_a_bad_payments_setting_names_the_key(tmp_path, name, value, expected):
    from edge.settings import ConfigError

    with pytest.raises(ConfigError, match=expected.replace(".", r"\.")):
        demo_settings(tmp_path, **{name: value})


def test_a_supervisor_pin_never_reaches_the_stored_request_hash():
    from edge.api.idempotency import canonical_body_hash

    sale = {"lane_id": "1", "lines": [{"sku": "A"}], "discount_cents": 50}
    plain = canonical_body_hash(msgspec.json.encode(sale))
    assert canonical_body_hash(msgspec.json.encode({**sale, "override_pin": "2468"})) == plain
    assert canonical_body_hash(msgspec.json.encode({**sale, "override_token": "eyJ..."})) == plain
    assert canonical_body_hash(msgspec.json.encode({**sale, "discount_cents": 51})) != plain
