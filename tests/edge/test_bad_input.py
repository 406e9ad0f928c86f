"""Hostile or broken input gets a clear 4xx problem and changes nothing, never a 500."""

from __future__ import annotations

import uuid

import pytest

from edge.contracts.bounds import json_depth_exceeds
from edge.domain.money import MAX_AMOUNT_CENTS
from edge.domain.pricing import MAX_LINE_QUANTITY

PROBLEM = "application/problem+json"
INT64_OVERFLOW = 9223372036854775808  # 2^63


def idem() -> dict[str, str]:
    return {"Idempotency-Key": uuid.uuid4().hex}


def catalog_version(client, headers) -> int:
    return client.get("/api/v1/products?since=0&limit=1", headers=headers).json()["catalog_version"]


def order_count(client, headers) -> int:
    return len(client.get("/api/v1/orders?limit=200", headers=headers).json()["items"])


def assert_problem(response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["status"] == status and body["detail"]
    return body


def product(**overrides):
    return {"sku": "NEW-0001", "name": "Test product", "price_cents": 199, "tax_category": "standard", **overrides}


def test_a_catalog_version_beyond_64_bits_is_a_400(client, as_user):
    response = client.get("/api/v1/products?since=99999999999999999999", headers=as_user("cashier"))
    assert_problem(response, 400)


@pytest.mark.parametrize("depth", [33, 1_000, 100_000])
def test_json_nested_too_deep_is_refused_before_decoding(client, as_user, depth):
    headers = as_user("manager")
    before = catalog_version(client, headers)
    deep = "[" * depth + "]" * depth
    body = '{"sku":"DEEP-1","name":"deep","price_cents":1,"tax_category":"standard","attributes":{"a":' + deep + "}}"
    response = client.post("/api/v1/products", content=body,
                           headers={**headers, "content-type": "application/json"})
    assert "32 levels" in assert_problem(response, 400)["detail"]
    assert catalog_version(client, headers) == before


@pytest.mark.parametrize(("raw", "too_deep"), [
    (b"[" * 32 + b"]" * 32, False),
    (b"[" * 33 + b"]" * 33, True),
    (b'{"a": "' + b"[" * 100 + b'"}', False),
    (rb'["\\", "\\\"[[[", ' + b"[]," * 100 + b"[]]", False),  # escaped quotes and backslashes
    (b'{"a": [' * 20 + b"1" + b"]}" * 20, True),
    (b"[]" * 10_000, False),
])
def test_depth_counts_only_brackets_outside_strings(raw, too_deep):
    assert json_depth_exceeds(raw) is too_deep


def test_brackets_inside_strings_do_not_count_as_nesting(client, as_user):
    headers = as_user("manager")
    response = client.post("/api/v1/products", json=product(name="[" * 150, attributes={"note": "{[" * 500}),
                           headers=headers)
    assert response.status_code == 201, response.text


def test_product_attributes_are_bounded_in_depth_and_size(client, as_user):
    headers = as_user("manager")
    before = catalog_version(client, headers)
    nested: dict = {"leaf": 1}
    for _ in range(10):
        nested = {"n": nested}
    deep = client.post("/api/v1/products", json=product(attributes=nested), headers=headers)
    assert assert_problem(deep, 422)["errors"][0]["field"] == "attributes"
    big = client.post("/api/v1/products", json=product(attributes={"x": "y" * 5000}), headers=headers)
    assert assert_problem(big, 422)["errors"][0]["field"] == "attributes"
    assert catalog_version(client, headers) == before


def csv_import(client, headers, text: str | bytes):
    return client.post("/api/v1/products/import", content=text,
                       headers={**headers, "content-type": "text/csv", **idem()})


def test_csv_attributes_nested_thousands_deep_are_a_row_error(client, as_user):
    headers = as_user("manager")
    before = catalog_version(client, headers)
    deep = '"' + "[" * 2_500 + "]" * 2_500 + '"'  # 5,000 characters: short, but deeper than json.loads goes
    response = csv_import(client, headers, f"sku,name,price_cents,tax_category,attributes\nDEEP-2,Deep,100,standard,{deep}\n")
    body = assert_problem(response, 422)
    assert body["errors"] == [{"row": 2, "sku": "DEEP-2", "errors": [
        {"field": "attributes", "message": "at most 4 levels of nesting"}]}]
    assert catalog_version(client, headers) == before


@pytest.mark.parametrize("size", [9_000, 200_000])
def test_a_csv_field_over_the_limit_names_its_row_and_column(client, as_user, size):
    headers = as_user("manager")
    before = catalog_version(client, headers)
    text = ("sku,name,price_cents,tax_category\nOK-1,Fine,100,standard\n"
            f'OK-2,"{"x" * size}",100,standard\n')
    body = assert_problem(csv_import(client, headers, text), 422)
    assert body["errors"] == [{"row": 3, "errors": [{"field": "name", "message": "longer than 8192 characters"}]}]
    assert catalog_version(client, headers) == before


def test_a_10_mb_csv_import_is_too_large(client, as_user):
    headers = as_user("manager")
    before = catalog_version(client, headers)
    text = "sku,name,price_cents,tax_category\nBIG-1," + "x" * 10_000_000 + ",1,standard\n"
    assert "split the file" in assert_problem(csv_import(client, headers, text), 413)["detail"]
    assert catalog_version(client, headers) == before


def test_the_stock_import_bounds_its_fields_too(client, as_user):
    headers = as_user("manager")
    response = client.post("/api/v1/inventory/import", content="sku,on_hand\n" + "A" * 200_000 + ",1\n",
                           headers={**headers, "content-type": "text/csv", **idem()})
    assert assert_problem(response, 422)["errors"][0]["errors"][0]["field"] == "sku"


@pytest.mark.parametrize("amount", [INT64_OVERFLOW, 2**62, MAX_AMOUNT_CENTS + 1])
def test_a_tender_beyond_the_cap_is_refused_and_sells_nothing(client, as_user, amount):
    headers = as_user("cashier")
    before = order_count(client, headers)
    sku = client.get("/api/v1/products?limit=1", headers=headers).json()["items"][0]["sku"]
    response = client.post("/api/v1/orders", headers={**headers, **idem()}, json={
        "lane_id": "1", "lines": [{"sku": sku, "quantity": 1}], "tenders": [{"method": "cash", "amount_cents": amount}]})
    assert_problem(response, 400)
    assert order_count(client, headers) == before


def test_tenders_adding_up_beyond_the_cap_are_refused(client, as_user):
    headers = as_user("cashier")
    before = order_count(client, headers)
    sku = client.get("/api/v1/products?limit=1", headers=headers).json()["items"][0]["sku"]
    response = client.post("/api/v1/orders", headers={**headers, **idem()}, json={
        "lane_id": "1", "lines": [{"sku": sku, "quantity": 1}],
        "tenders": [{"method": "cash", "amount_cents": MAX_AMOUNT_CENTS}] * 2})
    assert assert_problem(response, 422)["errors"] == [{"field": "tenders",
                                                        "message": f"at most {MAX_AMOUNT_CENTS} in total"}]
    assert order_count(client, headers) == before


def test_the_largest_allowed_cash_tender_still_sells(client, as_user):
    headers = as_user("cashier")
    sku = client.get("/api/v1/products?limit=1", headers=headers).json()["items"][0]["sku"]
    response = client.post("/api/v1/orders", headers={**headers, **idem()}, json={
        "lane_id": "1", "lines": [{"sku": sku, "quantity": 1}],
        "tenders": [{"method": "cash", "amount_cents": MAX_AMOUNT_CENTS}]})
    assert response.status_code == 201, response.text
    assert response.json()["change_due_cents"] < MAX_AMOUNT_CENTS


def test_a_quantity_beyond_the_cap_is_refused(client, as_user):
    headers = as_user("cashier")
    before = order_count(client, headers)
    sku = client.get("/api/v1/products?limit=1", headers=headers).json()["items"][0]["sku"]
    response = client.post("/api/v1/orders", headers={**headers, **idem()}, json={
        "lane_id": "1", "lines": [{"sku": sku, "quantity": MAX_LINE_QUANTITY + 1}]})
    assert assert_problem(response, 400)["errors"][0]["field"].endswith("quantity")
    assert order_count(client, headers) == before


@pytest.mark.parametrize("float_cents", [INT64_OVERFLOW, MAX_AMOUNT_CENTS + 1])
def test_a_till_float_beyond_the_cap_opens_no_till(client, as_user, float_cents):
    headers = as_user("manager")
    before = client.get("/api/v1/tills", headers=headers).json()["items"]
    response = client.post("/api/v1/tills", json={"lane_id": "2", "float_cents": float_cents},
                           headers={**headers, **idem()})
    assert_problem(response, 400)
    assert client.get("/api/v1/tills", headers=headers).json()["items"] == before


@pytest.mark.parametrize("path", ["/%00x", "/admin/%00x", "/common/a%00b.js", "/api/v1/products/%00", "/x%0Ay"])
def test_a_control_character_in_the_path_is_a_400(client, path):
    body = assert_problem(client.get(path), 400)
    assert body["type"].endswith("/unsafe-path")


@pytest.mark.parametrize("name", ["nul\u0000name", "two\nlines", "bell\u0007", "trailing newline\n"])
def test_control_characters_in_a_product_name_are_refused(client, as_user, name):
    headers = as_user("manager")
    before = catalog_version(client, headers)
    assert_problem(client.post("/api/v1/products", json=product(name=name), headers=headers), 400)
    assert catalog_version(client, headers) == before


def test_control_characters_in_csv_names_are_a_row_error(client, as_user):
    headers = as_user("manager")
    before = catalog_version(client, headers)
    body = assert_problem(csv_import(client, headers, "sku,name,price_cents,tax_category\nNUL-1,a\x00b,100,standard\n"),
                          422)
    assert body["errors"][0]["errors"][0]["field"] == "name"
    assert catalog_version(client, headers) == before


def test_control_characters_in_user_names_and_reasons_are_refused(client, as_user):
    admin = as_user("admin")
    users_before = client.get("/api/v1/users", headers=admin).json()
    response = client.post("/api/v1/users", json={"username": "evil\u0000", "password": "long-enough-password-1",
                                                  "roles": ["cashier"]}, headers=admin)
    assert_problem(response, 400)
    assert client.get("/api/v1/users", headers=admin).json() == users_before
    till = client.post("/api/v1/tills", json={"lane_id": "3", "float_cents": 1000}, headers={**admin, **idem()})
    assert till.status_code == 201, till.text
    response = client.post(f"/api/v1/tills/{till.json()['session_id']}/cash", headers={**admin, **idem()},
                           json={"kind": "pay_in", "amount_cents": 100, "reason": "float top-up\u0000"})
    assert_problem(response, 400)
