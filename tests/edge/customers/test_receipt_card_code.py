"""A member's receipt carries their card code in full: as text on the slip and the lane's preview,
and as a CODE128 barcode (with its text under it) on the printer, so the slip scans like the
card. No contact detail is printed, and once the customer is erased the code finds nobody."""

from __future__ import annotations

from litestar.testing import TestClient

from edge.service import customers as cases
from edge.service.ports import Actor
from tests.edge.customers.conftest import key, sell_to, sign_up, unique_person

GS_K_CODE128 = b"\x1dkI"  # GS k m=73 (CODE128), then the data length
HRI_BELOW = b"\x1dH\x02"  # the code's text printed under the bars


def test_the_receipt_prints_the_card_code_as_a_code128_barcode_and_in_text(client: TestClient, cashier) -> None:
    p = unique_person()
    view = sign_up(client, cashier, {"name": p["name"], "email": p["email"], "phone": p["phone"]}).json()
    cid, code = view["customer_id"], view["card_code"]
    order = sell_to(client, cashier, cid).json()
    receipt = f"/api/v1/orders/{order['id']}/receipt"

    text = client.get(f"{receipt}?format=text", headers=cashier).text
    html = client.get(f"{receipt}?format=html", headers=cashier).text
    for shown in (text, html):
        assert f"Member card {code}" in shown
        assert p["email"] not in shown and p["phone_e164"] not in shown and p["name"] not in shown

    raw = client.post(f"{receipt}/prints?format=escpos", headers={**cashier, "Idempotency-Key": key()})
    assert raw.status_code == 201, raw.text
    data = "{B" + code
    assert GS_K_CODE128 + bytes([len(data)]) + data.encode() in raw.content
    assert HRI_BELOW in raw.content
    for detail in (p["email"], p["phone_e164"], p["name"]):
        assert detail.encode() not in raw.content

    # The code on the slip scans back to the customer at the lane...
    found = client.get("/api/v1/customers", params={"q": code}, headers=cashier).json()["items"]
    assert [i["customer_id"] for i in found] == [cid]
    # ...until they are erased: then it resolves to nothing, and the reprint has no member line.
    system = Actor.system("demo", "demo-001", "test")
    services = client.app.state.services
    vault = services.extras["customers"].vault
    services.uow.run_sync(system, lambda u: cases.erase_customer(u, vault, cid, "erase-request-1"))
    assert client.get("/api/v1/customers", params={"q": code}, headers=cashier).json()["items"] == []
    again = client.post(f"{receipt}/prints?format=escpos", headers={**cashier, "Idempotency-Key": key()})
    assert again.status_code == 201 and GS_K_CODE128 not in again.content and code.encode() not in again.content


def test_an_anonymous_sale_prints_no_barcode(client: TestClient, cashier) -> None:
    order = sell_to(client, cashier, None).json()
    raw = client.post(f"/api/v1/orders/{order['id']}/receipt/prints?format=escpos", headers=cashier)
    assert raw.status_code == 201 and GS_K_CODE128 not in raw.content
    assert "Member card" not in client.get(f"/api/v1/orders/{order['id']}/receipt?format=text",
                                           headers=cashier).text
