"""The store's customer API: sign-up, lookup by phone, email and card, the 360 view, changes."""

from __future__ import annotations

from typing import Any

from litestar.testing import TestClient

from tests.edge.customers.conftest import key, sell_to, sign_up, unique_person


def count(client: TestClient, headers: dict[str, str], table: str) -> int:
    services = client.app.state.services
    return services.db.read_sync(lambda c: c.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar())


def test_sign_up_answers_the_360_view_with_a_card_code_and_consent_times(client: TestClient, cashier) -> None:
    p = unique_person()
    response = sign_up(client, cashier, {"name": p["name"], "email": p["email"].upper(), "phone": p["phone"],
                                         "consents": {"marketing": True, "e_receipts": False}})
    assert response.status_code == 201, response.text
    view = response.json()
    assert view["name"] == p["name"]
    assert view["email"] == p["email"]  # normalised: lower case
    assert view["phone"] == p["phone_e164"]  # E.164
    assert view["card_code"].startswith("NP") and len(view["card_code"]) == 14
    assert view["consents"]["marketing"] is True and view["consents"]["marketing_at"]
    assert view["consents"]["e_receipts"] is False and view["consents"]["e_receipts_at"]
    assert view["home_store_id"] == "demo-001"
    assert view["loyalty"]["balance_points"] == 0 and view["loyalty"]["tier"] == "Member"
    assert view["recent_purchases"] == [] and view["returns"] == [] and view["open_pickups"] == []
    assert view["source"] == "cache" and view["offline"] is False  # the demo store has no HQ


def test_lookup_finds_a_customer_by_phone_in_any_format_by_email_in_any_case_and_by_card(
        client: TestClient, cashier) -> None:
    p = unique_person()
    view = sign_up(client, cashier, {"name": p["name"], "email": p["email"], "phone": p["phone"]}).json()
    local = p["phone_e164"][2:]  # a US number keyed without the country code
    queries = [p["phone_e164"], p["phone"], f"({local[:3]}) {local[3:6]}-{local[6:]}", f"{local[:3]}.{local[3:6]}.{local[6:]}",
               p["email"].upper(), f"  {p['email']} ", view["card_code"], view["card_code"].lower(),
               f"{view['card_code'][:6]}-{view['card_code'][6:]}"]
    for q in queries:
        response = client.get("/api/v1/customers", params={"q": q}, headers=cashier)
        assert response.status_code == 200, (q, response.text)
        items = response.json()["items"]
        assert [i["customer_id"] for i in items] == [view["customer_id"]], q
        item = items[0]
        assert item["name"] == p["name"] and item["card_code"] == view["card_code"]
        assert item["email_masked"] == f"{p['email'][0]}***@e***" and item["phone_masked"].endswith(local[-4:])
        assert p["email"] not in str(item) and p["phone_e164"] not in str(item)
        assert item["tier"] == "Member" and item["balance_points"] == 0


def test_the_demo_store_has_ada(client: TestClient, cashier) -> None:
    items = client.get("/api/v1/customers", params={"q": "ada@example.org"}, headers=cashier).json()["items"]
    assert [i["name"] for i in items] == ["Ada Lovelace"]


def test_an_unknown_lookup_finds_nothing(client: TestClient, cashier) -> None:
    response = client.get("/api/v1/customers", params={"q": "nobody@example.org"}, headers=cashier)
    assert response.status_code == 200 and response.json() == {"items": []}


def test_a_second_sign_up_with_the_same_email_or_phone_is_409_with_the_existing_id(client: TestClient,
                                                                                   cashier) -> None:
    p = unique_person()
    first = sign_up(client, cashier, {"name": p["name"], "email": p["email"], "phone": p["phone"]}).json()
    before = count(client, cashier, "customers")
    by_email = sign_up(client, cashier, {"name": "Someone Else", "email": p["email"].upper()})
    assert by_email.status_code == 409, by_email.text
    assert by_email.headers["content-type"].startswith("application/problem+json")
    assert by_email.json()["errors"][0]["customer_id"] == first["customer_id"]
    assert by_email.json()["errors"][0]["field"] == "email"
    by_phone = sign_up(client, cashier, {"name": "Someone Else", "phone": p["phone_e164"]})
    assert by_phone.status_code == 409
    assert by_phone.json()["errors"][0]["customer_id"] == first["customer_id"]
    assert count(client, cashier, "customers") == before


def test_bad_input_is_422_naming_the_field_and_changes_nothing(client: TestClient, cashier) -> None:
    before = (count(client, cashier, "customers"), count(client, cashier, "customer_index"),
              count(client, cashier, "outbox"), count(client, cashier, "audit_log"))
    cases: list[tuple[dict[str, Any], str]] = [
        ({"name": "No Contact"}, "email"),
        ({"name": "Bad Email", "email": "not-an-email"}, "email"),
        ({"name": "Bad Phone", "phone": "12"}, "phone"),
        ({"name": "Bad Phone", "phone": "+1 000 000 0000"}, "phone"),
        ({"name": "   ", "email": "blank@example.org"}, "name"),
    ]
    for body, field in cases:
        response = sign_up(client, cashier, body)
        assert response.status_code in (400, 422), (body, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert field in response.text, (body, response.text)
    too_long = sign_up(client, cashier, {"name": "x" * 121, "email": "long@example.org"})
    assert too_long.status_code in (400, 422)
    unknown_field = sign_up(client, cashier, {"name": "Eve", "email": "eve@example.org", "ssn": "123"})
    assert unknown_field.status_code in (400, 422)
    after = (count(client, cashier, "customers"), count(client, cashier, "customer_index"),
             count(client, cashier, "outbox"), count(client, cashier, "audit_log"))
    assert after == before


def test_a_sign_up_needs_an_idempotency_key_and_a_retry_replays_it(client: TestClient, cashier) -> None:
    p = unique_person()
    body = {"name": p["name"], "email": p["email"]}
    assert client.post("/api/v1/customers", json=body, headers=cashier).status_code == 400
    idem = key()
    first = sign_up(client, cashier, body, idem)
    again = sign_up(client, cashier, body, idem)
    assert first.status_code == again.status_code == 201
    assert again.headers.get("idempotent-replayed") == "true"
    assert again.json()["customer_id"] == first.json()["customer_id"]
    # The stored answer keeps the id only, never the customer's details.
    stored = client.app.state.services.db.read_sync(
        lambda c: c.exec_driver_sql("SELECT response_body FROM idempotency_keys").fetchall())
    assert not any(p["email"] in row[0] for row in stored)


def test_unknown_customer_is_404_problem(client: TestClient, cashier) -> None:
    response = client.get("/api/v1/customers/0190aaaa-bbbb-7ccc-8ddd-eeeeeeeeeeee", headers=cashier)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    assert client.patch("/api/v1/customers/0190aaaa-bbbb-7ccc-8ddd-eeeeeeeeeeee", json={"name": "X"},
                        headers=cashier).status_code == 404


def test_patch_sets_consent_times_on_the_server_and_changes_what_is_found(client: TestClient, cashier) -> None:
    p = unique_person()
    view = sign_up(client, cashier, {"name": p["name"], "email": p["email"]}).json()
    cid = view["customer_id"]
    sent_at = "2001-01-01T00:00:00Z"
    refused = client.patch(f"/api/v1/customers/{cid}", json={"consents": {"marketing": True,
                                                                          "marketing_at": sent_at}}, headers=cashier)
    assert refused.status_code in (400, 422)  # the time is the server's, not the client's
    changed = client.patch(f"/api/v1/customers/{cid}", json={"consents": {"marketing": True},
                                                             "phone": p["phone"]}, headers=cashier)
    assert changed.status_code == 200, changed.text
    after = changed.json()
    assert after["consents"]["marketing"] is True
    assert after["consents"]["marketing_at"] > view["consents"]["marketing_at"] or \
        after["consents"]["marketing_at"] >= view["created_at"]
    assert after["consents"]["e_receipts_at"] == view["consents"]["e_receipts_at"]  # not given: unchanged
    assert after["phone"] == p["phone_e164"]
    found = client.get("/api/v1/customers", params={"q": p["phone"]}, headers=cashier).json()["items"]
    assert [i["customer_id"] for i in found] == [cid]
    new_email = "moved." + p["email"]
    client.patch(f"/api/v1/customers/{cid}", json={"email": new_email}, headers=cashier)
    assert client.get("/api/v1/customers", params={"q": p["email"]}, headers=cashier).json()["items"] == []
    assert client.get("/api/v1/customers", params={"q": new_email}, headers=cashier).json()["items"][0][
        "customer_id"] == cid
    emptied = client.patch(f"/api/v1/customers/{cid}", json={"email": None, "phone": None}, headers=cashier)
    assert emptied.status_code == 422


def test_roles_staff_serve_customers_technicians_and_anonymous_cannot(client: TestClient, as_user) -> None:
    p = unique_person()
    for user in ("cashier", "manager", "admin"):
        response = sign_up(client, as_user(user), {"name": p["name"], "email": f"{user}.{p['email']}"})
        assert response.status_code == 201, (user, response.text)
    tech = as_user("tech")
    assert sign_up(client, tech, {"name": "T", "email": "t@example.org"}).status_code == 403
    assert client.get("/api/v1/customers", params={"q": "ada@example.org"}, headers=tech).status_code == 403
    assert client.get("/api/v1/customers", params={"q": "ada@example.org"}).status_code == 401


def test_an_order_carries_its_customer_and_the_360_shows_it(client: TestClient, cashier) -> None:
    p = unique_person()
    cid = sign_up(client, cashier, {"name": p["name"], "email": p["email"]}).json()["customer_id"]
    order = sell_to(client, cashier, cid)
    assert order.status_code == 201, order.text
    assert order.json()["customer_id"] == cid
    assert client.get(f"/api/v1/orders/{order.json()['id']}", headers=cashier).json()["customer_id"] == cid
    view = client.get(f"/api/v1/customers/{cid}", headers=cashier).json()
    assert [(x["order_id"], x["total_cents"]) for x in view["recent_purchases"]] == [
        (order.json()["id"], order.json()["total_cents"])]
    receipt = client.get(f"/api/v1/orders/{order.json()['id']}/receipt?format=text", headers=cashier)
    assert receipt.status_code == 200, receipt.text
    code = view["card_code"]
    # In full (a barcode on paper): a random identifier, which finds nobody once they are erased.
    assert f"Member card {code}" in receipt.text and p["email"] not in receipt.text
    completed = client.app.state.services.db.read_sync(lambda c: c.exec_driver_sql(
        "SELECT envelope FROM outbox WHERE type = 'order.completed' ORDER BY seq DESC LIMIT 1").scalar())
    assert f'"customer_id":"{cid}"' in completed


def test_an_order_for_an_unknown_customer_is_422_and_nothing_is_sold(client: TestClient, cashier) -> None:
    before = count(client, cashier, "orders")
    response = sell_to(client, cashier, "0190aaaa-bbbb-7ccc-8ddd-eeeeeeeeeeee")
    assert response.status_code == 422
    assert "customer_id" in response.text
    assert count(client, cashier, "orders") == before
    plain = sell_to(client, cashier, None)
    assert plain.status_code == 201 and plain.json()["customer_id"] is None


def test_the_key_cache_and_the_key_file_are_owner_only_and_apart_from_the_database(client: TestClient) -> None:
    data_dir = client.app.state.services.settings.data_dir
    for name in ("keys.sqlite", "customer.kek"):
        assert (data_dir / name).stat().st_mode & 0o077 == 0, name
    tables = client.app.state.services.db.read_sync(lambda c: {r[0] for r in c.exec_driver_sql(
        "SELECT name FROM sqlite_master WHERE type = 'table'")})
    assert "data_keys" not in tables and "tenant_keys" not in tables
