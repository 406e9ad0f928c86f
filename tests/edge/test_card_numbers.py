"""A card number typed anywhere never reaches a table, the outbox or a log line (PCI)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
import structlog

from edge.contracts.pan import looks_like_card_number, mask_card_numbers

PAN = "4111111111111111"
SPACED = "4111 1111 1111 1111"
DASHED = "4111-1111-1111-1111"
AMEX_GROUPED = "3782 822463 10005"
FORMS = (PAN, SPACED, DASHED, "378282246310005", AMEX_GROUPED)


def store_bytes(data_dir: Path) -> bytes:
    """Every byte SQLite holds for the store: the database, its WAL (where fresh commits sit) and SHM."""
    return b"".join(p.read_bytes() for p in sorted(data_dir.glob("store.db*")) if p.is_file())


def assert_no_card_number_stored(data_dir: Path) -> None:
    blob = store_bytes(data_dir)
    assert blob, "the store database should exist"
    for form in FORMS:
        assert form.encode() not in blob, f"{form} reached the store database"


def assert_refused(response, field: str) -> None:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["type"].endswith("/card-number-rejected")
    assert field in [e["field"] for e in problem["errors"]]
    for form in FORMS:
        assert form not in response.text  # never echoed back


@pytest.fixture
def logs(capsys):
    """The production log pipeline (JSON lines on stderr), read back as text."""
    from edge.logs import configure_logging

    configure_logging("json")
    capsys.readouterr()
    yield lambda: capsys.readouterr().err
    configure_logging("console")


@pytest.fixture
def product(client, as_user):
    return client.get("/api/v1/products?limit=1", headers=as_user("manager")).json()["items"][0]


def _cases(product: dict) -> list[tuple[str, str, str, dict, str]]:
    tax = product["tax_category"]
    return [
        ("manager", "POST", "/api/v1/products",
         {"sku": "GIFT-1", "name": f"Gift card {PAN}", "price_cents": 500, "tax_category": tax}, "name"),
        ("manager", "POST", "/api/v1/products",
         {"sku": "GIFT-2", "name": "Gift card", "price_cents": 500, "tax_category": tax,
          "attributes": {"note": SPACED}}, "attributes.note"),
        ("manager", "POST", "/api/v1/products",
         {"sku": "GIFT-3", "name": "Gift card", "price_cents": 500, "tax_category": tax,
          "attributes": {"refs": ["x", int(PAN)]}}, "attributes.refs[1]"),
        ("manager", "PATCH", f"/api/v1/products/{product['id']}", {"name": f"pay with {DASHED}"}, "name"),
        ("manager", "POST", "/api/v1/inventory/adjustments",
         {"sku": product["sku"], "delta": -1, "reason": f"customer card {AMEX_GROUPED}"}, "reason"),
        ("manager", "POST", "/api/v1/inventory/adjustments",
         {"sku": product["sku"], "delta": -1, "reason": "damaged", "note": PAN}, "note"),
        ("manager", "POST", "/api/v1/inventory/receipts",
         {"ref": f"PO {PAN}", "items": [{"sku": product["sku"], "quantity": 1}]}, "ref"),
        ("cashier", "POST", "/api/v1/reservations",
         {"items": [{"sku": product["sku"], "quantity": 1}], "customer": f"Ann, card {SPACED}"}, "customer"),
        ("cashier", "POST", "/api/v1/reservations",
         {"items": [{"sku": product["sku"], "quantity": 1}], "ref": PAN}, "ref"),
        ("manager", "POST", "/api/v1/orders/0190b2c4-7e1a-7cc2-b7d2-000000000001/void", {"reason": PAN}, "reason"),
        ("manager", "POST", "/api/v1/tills/0190b2c4-7e1a-7cc2-b7d2-000000000001/cash",
         {"kind": "pay_out", "amount_cents": 100, "reason": f"refund to {DASHED}"}, "reason"),
    ]


def test_a_card_number_in_any_free_text_field_is_refused_and_stored_nowhere(client, as_user, demo_dir, product,
                                                                           logs):
    before = client.get("/api/v1/sync/status", headers=as_user("manager")).json()["outbox_pending"]
    for n, (user, method, path, body, field) in enumerate(_cases(product)):
        headers = {**as_user(user), "Idempotency-Key": f"card-number-case-{n:04d}"}
        response = client.request(method, path, json=body, headers=headers)
        assert_refused(response, field)
    assert client.get("/api/v1/sync/status", headers=as_user("manager")).json()["outbox_pending"] == before
    assert client.get("/api/v1/products?sku=GIFT-1", headers=as_user("manager")).json()["items"] == []
    assert_no_card_number_stored(demo_dir)
    assert not any(form in logs() for form in FORMS)


def test_a_card_number_in_a_catalog_csv_is_refused_by_row_and_column(client, as_user, demo_dir, product):
    csv_text = ("sku,name,price_cents,tax_category,barcodes\n"
                f"OK-1,Plain,100,{product['tax_category']},\n"
                f"BAD-1,\"Card {SPACED}\",100,{product['tax_category']},\n")
    response = client.post("/api/v1/products/import", content=csv_text.encode(),
                           headers={**as_user("manager"), "content-type": "text/csv"})
    assert_refused(response, "row 3 name")
    assert client.get("/api/v1/products?sku=OK-1", headers=as_user("manager")).json()["items"] == []
    assert_no_card_number_stored(demo_dir)


def test_a_barcode_that_also_passes_luhn_is_still_a_barcode(client, as_user, product):
    code = "2000000000008"  # a valid EAN-13 that happens to pass the Luhn check too
    assert looks_like_card_number(code)
    created = client.post("/api/v1/products", headers=as_user("manager"), json={
        "sku": "LUHN-EAN", "name": "Loose apples", "price_cents": 199, "tax_category": product["tax_category"],
        "barcodes": [code]})
    assert created.status_code == 201, created.text
    assert client.get(f"/api/v1/products?barcode={code}", headers=as_user("cashier")).json()["items"][0]["sku"] \
        == "LUHN-EAN"


def test_a_card_number_as_a_failed_login_username_is_neither_stored_nor_logged(client, demo_dir, logs):
    for username in (PAN, SPACED):
        response = client.post("/api/v1/auth/login", json={"username": username, "password": "wrong-password"})
        assert_refused(response, "username")
    assert_no_card_number_stored(demo_dir)
    assert not any(form in logs() for form in FORMS)


def test_a_card_number_as_a_request_id_is_replaced_and_never_logged(client, demo_dir, logs):
    response = client.get("/api/v1/nothing-here", headers={"X-Request-ID": PAN})
    assert response.status_code == 404
    assert response.headers["x-request-id"] != PAN and response.json()["request_id"] != PAN
    text = logs()
    assert response.headers["x-request-id"] in text  # the 404 was logged, under the new id
    assert PAN not in text


def test_a_card_number_as_an_idempotency_key_is_a_400_and_changes_nothing(client, as_user, demo_dir, product):
    for key in (DASHED, PAN):
        response = client.post("/api/v1/inventory/adjustments", json={"sku": product["sku"], "delta": 1,
                                                                      "reason": "found"},
                               headers={**as_user("manager"), "Idempotency-Key": key})
        assert response.status_code == 400, response.text
        assert response.json()["type"].endswith("/idempotency-key-malformed")
        assert key not in response.text
    assert_no_card_number_stored(demo_dir)


def test_a_card_number_in_a_path_is_masked_in_the_log_line(client, as_user, logs):
    response = client.get(f"/api/v1/products/{PAN}", headers=as_user("manager"))
    assert response.status_code == 404
    text = logs()
    assert "************1111" in text and PAN not in text


def test_every_log_event_is_masked_structlog_and_standard_library_alike(logs):
    structlog.get_logger().warning("lane.note", note=f"card {SPACED}", nested={"items": [PAN]})
    logging.getLogger("nats.aio.client").error("nats: bad message %s", DASHED)
    try:
        raise ValueError(f"cannot parse {PAN}")
    except ValueError:
        structlog.get_logger().exception("lane.failed")
    lines = logs().strip().splitlines()
    assert not any(form in line for line in lines for form in FORMS)
    events = {json.loads(line)["event"]: json.loads(line) for line in lines if line.startswith("{")}
    assert events["lane.note"]["note"] == "card **** **** **** 1111"
    assert events["lane.note"]["nested"] == {"items": ["************1111"]}
    assert "************1111" in events["lane.failed"]["exception"]
    assert any("nats: bad message ****-****-****-1111" in line for line in lines)


@pytest.mark.parametrize("text", ["0190b2c4-7e1a-7cc2-1712-345678901234", "2026-11-30T14:05:26.123456Z",
                                  "+49 170 1234567", "order S001-L2-000123", "12345678901234567890123",
                                  "sha256 9f41111111111111118e0c"])
def test_ids_dates_and_phone_numbers_are_not_card_numbers(text):
    assert not looks_like_card_number(text) and mask_card_numbers(text) == text
