"""The catalog as a store manager and a lane use it."""

from __future__ import annotations

from edge.domain.catalog import ean13


def new_product(**overrides):
    body = {"sku": "TEST-001", "name": "Test mug", "price_cents": 1299, "tax_category": "standard",
            "barcodes": [ean13("400000000001")], "attributes": {"colour": "blue"}}
    return body | overrides


def test_manager_creates_a_product_and_a_lane_finds_it_by_barcode(client, as_user):
    created = client.post("/api/v1/products", json=new_product(), headers=as_user("manager"))
    assert created.status_code == 201
    product = created.json()
    assert product["version"] > 0 and product["active"] is True
    found = client.get(f"/api/v1/products?barcode={product['barcodes'][0]}", headers=as_user("cashier")).json()
    assert [p["id"] for p in found["items"]] == [product["id"]]
    assert found["items"][0]["price_cents"] == 1299


def test_search_by_text_sku_and_cursor_pagination_walks_every_product_once(client, as_user):
    headers = as_user("cashier")
    seen, cursor = [], None
    while True:
        url = "/api/v1/products?limit=37" + (f"&cursor={cursor}" if cursor else "")
        page = client.get(url, headers=headers).json()
        seen += [p["sku"] for p in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 200 and len(set(seen)) == 200 and seen == sorted(seen)
    by_text = client.get("/api/v1/products?q=croissant", headers=headers).json()["items"]
    assert by_text and all("croissant" in p["name"].lower() for p in by_text)
    by_sku = client.get(f"/api/v1/products?sku={seen[5]}", headers=headers).json()["items"]
    assert [p["sku"] for p in by_sku] == [seen[5]]


def test_delta_sync_since_a_version_returns_only_changes_including_deactivations(client, as_user):
    headers = as_user("manager")
    version = client.get("/api/v1/products?since=0&limit=500", headers=headers).json()["catalog_version"]
    product = client.get("/api/v1/products?limit=1", headers=headers).json()["items"][0]
    client.patch(f"/api/v1/products/{product['id']}", json={"active": False}, headers=headers)
    client.patch(f"/api/v1/products/{product['id']}", json={"price_cents": 777}, headers=headers)
    delta = client.get(f"/api/v1/products?since={version}", headers=headers).json()
    assert [p["id"] for p in delta["items"]] == [product["id"]]
    assert delta["items"][0]["active"] is False and delta["items"][0]["price_cents"] == 777
    assert delta["catalog_version"] > version
    assert client.get(f"/api/v1/products?since={delta['catalog_version']}", headers=headers).json()["items"] == []


def test_invalid_products_are_refused_with_field_errors_and_nothing_is_written(client, as_user):
    headers = as_user("manager")
    before = client.get("/api/v1/products?since=0&limit=500", headers=headers).json()["catalog_version"]
    bad = client.post("/api/v1/products", json=new_product(price_cents=-5, barcodes=["4000000000019"],
                                                           tax_category="nope"), headers=headers)
    assert bad.status_code == 422
    assert bad.headers["content-type"].startswith("application/problem+json")
    fields = {e["field"] for e in bad.json()["errors"]}
    assert {"price_cents", "barcodes"} <= fields
    unknown_tax = client.post("/api/v1/products", json=new_product(tax_category="nope"), headers=headers)
    assert unknown_tax.status_code == 422 and unknown_tax.json()["errors"][0]["field"] == "tax_category"
    assert client.get("/api/v1/products?since=0&limit=500", headers=headers).json()["catalog_version"] == before


def test_duplicate_sku_and_stolen_barcode_are_refused(client, as_user):
    headers = as_user("manager")
    existing = client.get("/api/v1/products?limit=1", headers=headers).json()["items"][0]
    assert client.post("/api/v1/products", json=new_product(sku=existing["sku"]), headers=headers).status_code == 409
    steal = client.post("/api/v1/products", json=new_product(barcodes=existing["barcodes"]), headers=headers)
    assert steal.status_code == 422 and "another product" in steal.json()["errors"][0]["message"]


def test_a_stale_if_match_version_is_a_conflict(client, as_user):
    headers = as_user("manager")
    product = client.get("/api/v1/products?limit=1", headers=headers).json()["items"][0]
    ok = client.patch(f"/api/v1/products/{product['id']}", json={"name": "Renamed"},
                      headers=headers | {"If-Match": str(product["version"])})
    assert ok.status_code == 200
    stale = client.patch(f"/api/v1/products/{product['id']}", json={"name": "Again"},
                         headers=headers | {"If-Match": str(product["version"])})
    assert stale.status_code == 409


def test_product_history_shows_who_changed_what(client, as_user):
    headers = as_user("manager")
    product = client.post("/api/v1/products", json=new_product(), headers=headers).json()
    client.patch(f"/api/v1/products/{product['id']}", json={"price_cents": 1499}, headers=headers)
    history = client.get(f"/api/v1/products/{product['id']}/audit", headers=headers).json()["items"]
    assert [h["action"] for h in history] == ["product.updated", "product.created"]
    assert history[0]["actor"] == "manager"
    assert history[0]["before"]["price_cents"] == 1299 and history[0]["after"]["price_cents"] == 1499
    assert client.get(f"/api/v1/products/{product['id']}/audit", headers=as_user("cashier")).status_code == 403


def test_every_catalog_change_writes_an_outbox_event_in_the_same_transaction(client, as_user):
    db = client.app.state.services.db
    count = lambda: db.read_sync(lambda c: c.exec_driver_sql(  # noqa: E731
        "SELECT count(*) FROM outbox WHERE type='product.changed'").scalar())
    before = count()
    client.post("/api/v1/products", json=new_product(), headers=as_user("manager"))
    client.post("/api/v1/products", json=new_product(price_cents=-1), headers=as_user("manager"))  # refused
    assert count() == before + 1


def test_store_price_override_applies_inside_its_window_only(client, as_user):
    headers = as_user("manager")
    product = client.get("/api/v1/products?limit=1", headers=headers).json()["items"][0]
    url = f"/api/v1/products/{product['id']}/price-overrides"
    assert client.post(url, json={"price_cents": 50}, headers=headers).status_code == 400  # no key
    now = client.post(url, json={"price_cents": 50}, headers=headers | {"Idempotency-Key": "override-0001"})
    assert now.status_code == 201
    client.post(url, json={"price_cents": 10, "valid_from": "2099-01-01T00:00:00.000Z"},
                headers=headers | {"Idempotency-Key": "override-0002"})
    seen = client.get(f"/api/v1/products/{product['id']}", headers=as_user("cashier")).json()
    assert seen["price_cents"] == 50 and seen["list_price_cents"] == product["price_cents"]
    assert seen["price_overridden"] is True
    assert len(client.get(url, headers=headers).json()["items"]) == 2


def test_csv_import_with_a_bad_row_changes_nothing_and_reports_every_bad_row(client, as_user):
    headers = as_user("manager") | {"Content-Type": "text/csv"}
    csv_text = (
        "sku,name,price_cents,tax_category,barcodes,active\n"
        f"CSV-1,Good one,100,standard,{ean13('500000000001')},true\n"
        "CSV-2,Bad price,1.5,standard,,true\n"
        "CSV-3,Bad tax,100,martian,,true\n"
        f"CSV-4,Bad barcode,100,standard,5000000000019,true\n"
    )
    response = client.post("/api/v1/products/import", content=csv_text, headers=headers)
    assert response.status_code == 422
    rows = {e["row"]: e for e in response.json()["errors"]}
    assert set(rows) == {3, 4, 5}
    assert rows[3]["errors"][0]["field"] == "price_cents"
    assert client.get("/api/v1/products?sku=CSV-1", headers=as_user("manager")).json()["items"] == []


def test_csv_import_creates_and_updates_with_a_report_per_row(client, as_user):
    headers = as_user("manager")
    existing = client.get("/api/v1/products?limit=1", headers=headers).json()["items"][0]
    csv_text = ("sku,name,price_cents,tax_category,barcodes\n"
                f"NEW-1,Brand new,250,food,{ean13('500000000002')}\n"
                f"{existing['sku']},Renamed by import,999,standard,\n")
    response = client.post("/api/v1/products/import", content=csv_text, headers=headers | {"Content-Type": "text/csv"})
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["created"], report["updated"]) == (1, 1)
    assert [r["status"] for r in report["rows"]] == ["created", "updated"]
    assert client.get(f"/api/v1/products?sku={existing['sku']}", headers=headers).json()["items"][0]["price_cents"] == 999


def test_cashiers_cannot_change_the_catalog(client, as_user):
    assert client.post("/api/v1/products", json=new_product(), headers=as_user("cashier")).status_code == 403


def test_tax_categories_are_listed_and_admin_can_change_them(client, as_user):
    items = client.get("/api/v1/tax-categories", headers=as_user("cashier")).json()["items"]
    assert {t["code"] for t in items} >= {"standard", "food"}
    saved = client.put("/api/v1/tax-categories/luxury", json={"name": "Luxury", "rate_bp": 2000, "inclusive": True},
                       headers=as_user("admin"))
    assert saved.status_code == 200 and saved.json()["version"] == 1
    assert client.put("/api/v1/tax-categories/luxury", json={"name": "L", "rate_bp": 20000},
                      headers=as_user("admin")).status_code == 422
    assert client.put("/api/v1/tax-categories/x", json={"name": "x", "rate_bp": 1},
                      headers=as_user("manager")).status_code == 403
