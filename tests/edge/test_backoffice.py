"""The store admin's server side: who may use it, orders found by business day, stock found by
part of a SKU or name, user administration that cannot lock a store out, and a till closed
blind whose Z report reads back unchanged."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from tests.support import login

TODAY = datetime.now(UTC).date().isoformat()  # the demo store's day starts at 00:00 UTC


def key() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid.uuid4())}


def cash_sale(client: Any, headers: dict[str, str], lane: str = "1", sku: str = "BAK-0007") -> dict[str, Any]:
    response = client.post("/api/v1/orders", headers=headers | key(), json={
        "lane_id": lane, "lines": [{"sku": sku, "quantity": 1}], "tenders": [{"method": "cash", "amount_cents": 10_000}]})
    assert response.status_code == 201, response.text
    return response.json()


def order_numbers(client: Any, headers: dict[str, str], **params: str) -> list[str]:
    response = client.get("/api/v1/orders", headers=headers, params={"limit": 500, **params})
    assert response.status_code == 200, response.text
    return [o["number"] for o in response.json()["items"]]


# -- orders: the From filter ---------------------------------------------------------------------
def test_orders_from_a_later_day_leave_out_todays_orders(client, as_user):
    order = cash_sale(client, as_user("cashier"))
    manager = as_user("manager")
    assert order["number"] not in order_numbers(client, manager, **{"from": "2099-01-01"})
    assert order["number"] in order_numbers(client, manager, **{"from": TODAY})
    assert order["number"] in order_numbers(client, manager, **{"from": TODAY, "to": TODAY})
    assert order["number"] not in order_numbers(client, manager, to="2000-01-01")


def test_the_orders_export_honours_from_as_the_search_does(client, as_user):
    order = cash_sale(client, as_user("cashier"))
    manager = as_user("manager")
    later = client.get("/api/v1/orders/export.csv", headers=manager, params={"from": "2099-01-01"})
    assert later.status_code == 200
    assert order["number"] not in later.text
    today = client.get("/api/v1/orders/export.csv", headers=manager, params={"from": TODAY})
    assert order["number"] in today.text


def test_a_from_that_is_not_a_day_is_refused_as_a_field_problem(client, as_user):
    response = client.get("/api/v1/orders", headers=as_user("manager"), params={"from": "30/11/2026"})
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "from" in response.text


# -- inventory: partial search --------------------------------------------------------------------
def stock_rows(client: Any, headers: dict[str, str], **params: str) -> list[dict[str, Any]]:
    response = client.get("/api/v1/inventory", headers=headers, params={"limit": 1000, **params})
    assert response.status_code == 200, response.text
    return response.json()["items"]


def test_inventory_finds_products_by_part_of_their_name_ignoring_case(client, as_user):
    rows = stock_rows(client, as_user("manager"), q="bagel")
    assert rows, "the demo catalog has bagels"
    assert all("bagel" in r["name"].lower() for r in rows)
    assert {r["sku"][:3] for r in rows} == {"BAK"}


def test_inventory_finds_skus_by_a_part_typed_in_lower_case(client, as_user):
    rows = stock_rows(client, as_user("manager"), sku="bak-000")
    assert [r["sku"] for r in rows] == [f"BAK-000{n}" for n in range(5, 10)]
    exact = stock_rows(client, as_user("manager"), sku="BAK-0007")
    assert [r["sku"] for r in exact] == ["BAK-0007"]


def test_inventory_search_treats_like_wildcards_as_plain_text(client, as_user):
    assert stock_rows(client, as_user("manager"), q="%") == []
    assert stock_rows(client, as_user("manager"), sku="_AK") == []


# -- who may use the store admin ------------------------------------------------------------------
def test_a_cashier_is_refused_the_store_admin(client, as_user):
    response = client.get("/api/v1/backoffice/session", headers=as_user("cashier"))
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("application/problem+json")


def test_the_admin_offers_each_role_what_the_servers_guards_allow(client, as_user):
    manager = client.get("/api/v1/backoffice/session", headers=as_user("manager")).json()
    assert manager["user"]["username"] == "manager"
    for operation in ("listUsers", "createUser", "closeTill", "adjustStock", "transferOut", "updateProduct",
                      "tillZReport"):
        assert operation in manager["operations"], operation
    assert "saveTaxCategory" not in manager["operations"]  # a tenant admin's job

    tech = client.get("/api/v1/backoffice/session", headers=as_user("tech")).json()["operations"]
    assert "listDevices" in tech
    assert not {"listUsers", "closeTill", "adjustStock", "voidOrder"} & set(tech)
    # what it lists is what the server does
    assert client.get("/api/v1/users", headers=as_user("tech")).status_code == 403


# -- users ------------------------------------------------------------------------------------------
def new_user(client: Any, headers: dict[str, str], roles: list[str], **extra: Any) -> dict[str, Any]:
    username = f"u{uuid.uuid4().hex[:8]}"
    response = client.post("/api/v1/users", headers=headers, json={
        "username": username, "password": "a-long-password", "roles": roles, **extra})
    assert response.status_code == 201, response.text
    return response.json()


def test_a_disabled_user_is_signed_out_at_once_and_cannot_sign_in(client, as_user):
    manager = as_user("manager")
    user = new_user(client, manager, ["supervisor"])
    theirs = login(client, user["username"], "a-long-password")
    assert client.get("/api/v1/inventory", headers=theirs, params={"limit": 1}).status_code == 200

    response = client.patch(f"/api/v1/users/{user['id']}", headers=manager, json={"disabled": True})
    assert response.status_code == 200, response.text
    assert response.json()["disabled"] is True
    assert client.get("/api/v1/inventory", headers=theirs, params={"limit": 1}).status_code == 401
    again = client.post("/api/v1/auth/login", json={"username": user["username"], "password": "a-long-password"})
    assert again.status_code == 401

    audit = client.get("/api/v1/audit", headers=manager, params={"action": "user.updated", "limit": 50}).json()
    entry = next(a for a in audit["items"] if a["entity_id"] == user["id"])
    assert entry["before"]["disabled"] is False and entry["after"]["disabled"] is True
    assert "password" not in str(entry) and "hash" not in str(entry)


def test_a_store_manager_cannot_grant_a_role_above_their_own(client, as_user):
    manager = as_user("manager")
    before = client.get("/api/v1/users", headers=manager).json()["items"]
    response = client.post("/api/v1/users", headers=manager, json={
        "username": "climber", "password": "a-long-password", "roles": ["tenant_admin"]})
    assert response.status_code == 403
    assert client.get("/api/v1/users", headers=manager).json()["items"] == before

    cashier = new_user(client, manager, ["cashier"])
    response = client.patch(f"/api/v1/users/{cashier['id']}", headers=manager, json={"roles": ["tenant_admin"]})
    assert response.status_code == 403
    listed = {u["id"]: u for u in client.get("/api/v1/users", headers=manager).json()["items"]}
    assert listed[cashier["id"]]["roles"] == ["cashier"]


def test_an_administrator_cannot_disable_themselves_or_change_their_own_roles(client, as_user):
    admin = as_user("admin")
    me = next(u for u in client.get("/api/v1/users", headers=admin).json()["items"] if u["username"] == "admin")
    response = client.patch(f"/api/v1/users/{me['id']}", headers=admin, json={"disabled": True})
    assert response.status_code == 403
    assert response.json()["type"].endswith("/self-disable")
    response = client.patch(f"/api/v1/users/{me['id']}", headers=admin, json={"roles": ["cashier"]})
    assert response.status_code == 403
    after = next(u for u in client.get("/api/v1/users", headers=admin).json()["items"] if u["username"] == "admin")
    assert (after["disabled"], after["roles"]) == (False, ["tenant_admin"])


def test_a_password_reset_replaces_the_old_password_and_a_pin_reset_the_pin(client, as_user):
    manager = as_user("manager")
    user = new_user(client, manager, ["cashier"])
    response = client.patch(f"/api/v1/users/{user['id']}", headers=manager,
                            json={"password": "another-long-one", "pin": "5813"})
    assert response.status_code == 200, response.text
    assert response.json()["has_pin"] is True
    old = client.post("/api/v1/auth/login", json={"username": user["username"], "password": "a-long-password"})
    assert old.status_code == 401
    login(client, user["username"], "another-long-one")
    pin = client.post("/api/v1/auth/pin", json={"lane_id": "2", "pin": "5813"})
    assert pin.status_code == 200, pin.text
    assert pin.json()["user"]["username"] == user["username"]


def test_a_weak_password_is_refused_with_the_field_and_changes_nothing(client, as_user):
    manager = as_user("manager")
    user = new_user(client, manager, ["cashier"])
    response = client.patch(f"/api/v1/users/{user['id']}", headers=manager, json={"password": "short"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "password"
    login(client, user["username"], "a-long-password")


# -- tills: blind close, Z report read back ------------------------------------------------------
def test_a_till_closed_with_a_count_reports_over_short_and_its_z_report_reads_back(client, as_user):
    manager = as_user("manager")
    opened = client.post("/api/v1/tills", headers=manager | key(), json={"lane_id": "3", "float_cents": 15_000})
    assert opened.status_code == 201, opened.text
    session_id = opened.json()["session_id"]
    assert client.get(f"/api/v1/tills/{session_id}/z-report", headers=manager).status_code == 409

    for kind, amount, reason in (("pay_in", 2_000, "change from the bank"), ("pay_out", 500, "window cleaner")):
        moved = client.post(f"/api/v1/tills/{session_id}/cash", headers=manager | key(),
                            json={"kind": kind, "amount_cents": amount, "reason": reason})
        assert moved.status_code == 201, moved.text
    sale = cash_sale(client, manager, lane="3")
    expected = 15_000 + 2_000 - 500 + sale["total_cents"]

    closed = client.post(f"/api/v1/tills/{session_id}/close", headers=manager | key(),
                         json={"counted_cents": expected - 150})
    assert closed.status_code == 200, closed.text
    z = closed.json()
    assert (z["kind"], z["expected_cents"], z["counted_cents"], z["variance_cents"]) == ("Z", expected, expected - 150,
                                                                                       -150)

    reprint = client.get(f"/api/v1/tills/{session_id}/z-report", headers=manager)
    assert reprint.status_code == 200
    assert reprint.json()["variance_cents"] == -150
    assert reprint.json()["closed_by"] == "manager"
    journal = client.get(f"/api/v1/tills/{session_id}/movements", headers=manager).json()["items"]
    assert [m["kind"] for m in journal] == ["float", "pay_in", "pay_out", "cash_sale"]
    assert journal[2]["reason"] == "window cleaner"


def test_a_cashier_cannot_read_z_reports_or_the_drawer_journal(client, as_user):
    response = client.get("/api/v1/tills/0190c1a0-0000-7000-8000-000000000000/z-report", headers=as_user("cashier"))
    assert response.status_code == 403
    response = client.get("/api/v1/tills/nope/z-report", headers=as_user("manager"))
    assert response.status_code == 404


# -- stock history, newest first -----------------------------------------------------------------
def test_a_products_history_can_be_read_newest_first_page_by_page(client, as_user):
    manager = as_user("manager")
    for delta in (1, 2, 3):
        response = client.post("/api/v1/inventory/adjustments", headers=manager | key(),
                               json={"sku": "HOU-0029", "delta": delta, "reason": "found"})
        assert response.status_code == 201, response.text
    newest = client.get("/api/v1/inventory/movements", headers=manager,
                        params={"sku": "HOU-0029", "order": "newest", "limit": 2}).json()
    assert [m["delta"] for m in newest["items"]] == [3, 2]
    rest = client.get("/api/v1/inventory/movements", headers=manager,
                      params={"sku": "HOU-0029", "order": "newest", "limit": 2, "cursor": newest["next_cursor"]}).json()
    assert [m["delta"] for m in rest["items"]][:1] == [1]
    oldest = client.get("/api/v1/inventory/movements", headers=manager, params={"sku": "HOU-0029"}).json()["items"]
    assert [m["delta"] for m in oldest][-3:] == [1, 2, 3]
    assert client.get("/api/v1/inventory/movements", headers=manager, params={"order": "sideways"}).status_code == 400
